// The corpus generator: same seed → same bytes, and the corpus looks like the user's play workflows.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { isSourceProblem, type WorkflowBundle } from '../../lib/bundle/bundle.ts';
import { extractNodes } from '../../lib/sources/argo-nodes.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';
import { withArtifactRepository } from '../../lib/sources/s3-artifacts.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { generateCorpus, parseSize, type CorpusSummary } from '../../hack/corpus/generate.ts';

const TARGET = 1_500_000;
let base: string;
let summary: CorpusSummary;
const bundles: WorkflowBundle[] = [];

function fileHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), 'strata-corpus-'));
  summary = await generateCorpus({ dir: path.join(base, 'a'), workflows: 6, seed: 42, targetBytes: TARGET });
  const source = openDirectorySource(path.join(base, 'a'));
  for await (const id of source.list()) {
    if (isSourceProblem(id)) throw new Error(`${id.where}: ${id.message}`);
    bundles.push(await source.load(id));
  }
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('generateCorpus', () => {
  test('the same seed gives the same bytes; another seed gives other bytes', async () => {
    await generateCorpus({ dir: path.join(base, 'b'), workflows: 6, seed: 42, targetBytes: TARGET });
    await generateCorpus({ dir: path.join(base, 'c'), workflows: 6, seed: 43, targetBytes: TARGET });
    const a = fileHashes(path.join(base, 'a'));
    expect(Object.keys(a).length).toBe(summary.files);
    expect(fileHashes(path.join(base, 'b'))).toEqual(a);
    const c = fileHashes(path.join(base, 'c'));
    expect(Object.values(c).filter((h) => Object.values(a).includes(h)).length).toBeLessThan(Object.keys(c).length / 2);
  });

  test('its size is close to the target and the summary adds up', () => {
    expect(summary.bytes).toBeGreaterThan(TARGET * 0.8);
    expect(summary.bytes).toBeLessThan(TARGET * 1.2);
    expect(summary.workflows.reduce((s, w) => s + w.bytes, 0)).toBe(summary.bytes);
  });

  test('it is a complete directory export: every workflow loads with nothing missing', () => {
    expect(bundles).toHaveLength(6);
    for (const b of bundles) expect(b.missing).toEqual([]);
  });

  test('workflows are play orchestrations with the platform labels and agents', () => {
    for (const b of bundles) {
      const labels = (b.workflow.metadata as { labels: Record<string, string> }).labels;
      expect(labels['workflow-type']).toBe('play-orchestration');
      expect(labels['task-id']).toMatch(/^\d+$/);
      expect(labels.repository).toMatch(/^5dlabs-/);
      expect(labels['current-stage']).toMatch(/\S/);
      const pods = extractNodes(b.workflow).filter((n) => n.type === 'Pod');
      expect(pods.length).toBeGreaterThan(3);
      const apps = b.entries
        .filter((e) => e.kind === 'resource')
        .map((e) => e.meta as { apiVersion: string; kind: string });
      expect(apps.every((m) => m.apiVersion === 'agents.platform/v1' && m.kind === 'CodeRun')).toBe(true);
    }
    const agents = new Set(
      bundles.flatMap((b) =>
        b.entries
          .filter((e) => e.kind === 'resource')
          .map((e) => {
            const file = path.join(base, 'a', b.namespace, b.name, e.path);
            return (parse(readFileSync(file, 'utf8')) as { spec: { githubApp: string } }).spec.githubApp;
          }),
      ),
    );
    expect([...agents].sort()).toEqual(['5DLabs-Cleo', '5DLabs-Rex', '5DLabs-Tess']);
  });

  test('every log line carries a timestamp; install blocks, test runs and stack traces appear', () => {
    let text = '';
    for (const b of bundles) {
      for (const e of b.entries.filter((x) => x.kind === 'log')) {
        const content = readFileSync(path.join(base, 'a', b.namespace, b.name, e.path), 'utf8');
        for (const line of content.split('\n').slice(0, -1)) {
          expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /);
        }
        text += content;
      }
    }
    expect(text).toMatch(/npm http fetch GET 200|Compiling serde v/);
    expect(text).toMatch(/test result: |Tests {2}\d+/);
    expect(text).toMatch(/stack backtrace:|\n\S+ {5}at \w+ \(/);
  });

  test('retried stages repeat the earlier attempt’s log (with new timestamps) before diverging', () => {
    let retried = 0;
    for (const b of bundles) {
      const logs = b.entries.filter((e) => e.kind === 'log' && e.path.endsWith('/claude.log'));
      const byStage = new Map<string, string[]>();
      for (const e of logs) {
        const cr = readFileSync(
          path.join(base, 'a', b.namespace, b.name, e.path.replace(/\/logs\/.*$/, '.yaml')),
          'utf8',
        );
        const stage = (parse(cr) as { spec: { githubApp: string } }).spec.githubApp;
        const body = readFileSync(path.join(base, 'a', b.namespace, b.name, e.path), 'utf8')
          .split('\n')
          .map((l) => l.slice(31));
        byStage.set(stage, [...(byStage.get(stage) ?? []), body.slice(0, 60).join('\n')]);
      }
      for (const heads of byStage.values()) {
        if (heads.length < 2) continue;
        retried++;
        expect(new Set(heads).size).toBe(1); // same first 60 lines once timestamps are stripped
      }
    }
    expect(retried).toBeGreaterThan(0);
  });

  test('parseSize understands the CLI sizes', () => {
    expect(parseSize('200MB')).toBe(200_000_000);
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(parseSize('4096')).toBe(4096);
    expect(() => parseSize('lots')).toThrow(/not a size/);
  });
});

describe('the corpus as an Argo artifact bucket', () => {
  test('pod logs and artifacts copied to their recorded s3 keys complete a workflow-objects-only export', async () => {
    const bucket = new FileSystemStore(path.join(base, 'bucket'));
    const objectsOnly = path.join(base, 'objects-only');
    for (const b of bundles) {
      const wfDir = path.join(base, 'a', b.namespace, b.name);
      mkdirSync(path.join(objectsOnly, b.namespace, b.name), { recursive: true });
      copyFileSync(path.join(wfDir, 'workflow.yaml'), path.join(objectsOnly, b.namespace, b.name, 'workflow.yaml'));
      for (const node of extractNodes(b.workflow)) {
        if (node.mainLogs?.s3Key) {
          await bucket.put(node.mainLogs.s3Key, readFileSync(path.join(wfDir, 'logs', node.id, 'main.log')));
        }
        for (const a of node.outputArtifacts) {
          await bucket.put(a.s3Key!, readFileSync(path.join(wfDir, 'artifacts', node.id, a.s3Key!.split('/').pop()!)));
        }
      }
    }
    const plain = openDirectorySource(objectsOnly);
    const completed = withArtifactRepository(plain, bucket, { bucket: 'argo-artifacts' });
    for (const b of bundles) {
      const id = { uid: b.uid, namespace: b.namespace, name: b.name };
      expect((await plain.load(id)).missing.length).toBeGreaterThan(0);
      const full = await completed.load(id);
      expect(full.missing).toEqual([]);
      const log = full.entries.find((e) => e.kind === 'log')!;
      const original = readFileSync(path.join(base, 'a', b.namespace, b.name, log.path), 'utf8');
      expect(await text(await log.open())).toBe(original);
    }
  });
});
