// The artifact repository source against a file: store laid out like Argo's artifact bucket.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { InputError } from '../../lib/errors.ts';
import { fnv32a } from '../../lib/sources/argo-nodes.ts';
import { parseWorkflowText } from '../../lib/sources/argo-workflow.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';
import {
  artifactRepositoryEntries,
  loadArtifactRepositoryBundle,
  withArtifactRepository,
} from '../../lib/sources/s3-artifacts.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';

let root: string;
let bucket: FileSystemStore;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-bucket-'));
  bucket = new FileSystemStore(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const put = (key: string, body: string) => bucket.put(key, Buffer.from(body));

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const argoDir = path.join(path.resolve(repoRoot, '../shared'), 'argo/workflows');
const haveShared = existsSync(argoDir);

function workflow(yaml: string) {
  const r = parseWorkflowText(yaml, 'wf.yaml');
  expect(r.problems).toEqual([]);
  return r.workflows[0]!.workflow;
}

describe.skipIf(!haveShared)('artifact repository source on a real Argo workflow', () => {
  if (!haveShared) console.warn(`skipping: ${argoDir} is absent (needs the shared fixtures next to the repo)`);
  const load = () =>
    workflow(readFileSync(path.join(argoDir, 'operator_test__marksWFSucceeded.yaml'), 'utf8').toString());

  test('reads recorded artifacts and main logs from the bucket; absent keys are missing with the reason', async () => {
    const wf = load();
    const prefix = 'archive-strategies-4br4g/archive-strategies-4br4g';
    await put(`${prefix}-generate-default-281020786/file-default.tgz`, 'TGZ-default');
    await put(`${prefix}-generate-default-281020786/main.log`, 'hello\n');
    await put(`${prefix}-generate-none-867259351/file-none`, 'raw-none');
    await put(`${prefix}-generate-none-867259351/main.log`, 'none log\n');
    await put(`${prefix}-consume-default-375797365/main.log`, 'consumed\n');

    const { entries, missing } = await artifactRepositoryEntries(wf, bucket, { bucket: 'my-bucket' });
    const byPath = Object.fromEntries(entries.map((e) => [e.path, e]));
    expect(Object.keys(byPath).sort()).toEqual([
      'artifacts/archive-strategies-4br4g-281020786/file-default.tgz',
      'artifacts/archive-strategies-4br4g-867259351/file-none',
      'logs/archive-strategies-4br4g-281020786/main.log',
      'logs/archive-strategies-4br4g-375797365/main.log',
      'logs/archive-strategies-4br4g-867259351/main.log',
    ]);
    const log = byPath['logs/archive-strategies-4br4g-281020786/main.log']!;
    expect(log).toMatchObject({ kind: 'log', container: 'main', size: 6 });
    expect(log.meta?.podName).toBe('archive-strategies-4br4g-generate-default-281020786');
    expect(await text(await log.open())).toBe('hello\n');
    const art = byPath['artifacts/archive-strategies-4br4g-281020786/file-default.tgz']!;
    expect(art).toMatchObject({ kind: 'artifact', artifactName: 'file-default' });
    expect(await text(await art.open())).toBe('TGZ-default');

    expect(missing.map((m) => [m.kind, m.path]).sort()).toEqual([
      ['artifact', 'artifacts/archive-strategies-4br4g-2183706504/file-tar.tgz'],
      ['log', 'logs/archive-strategies-4br4g-1330961402/main.log'],
      ['log', 'logs/archive-strategies-4br4g-2183706504/main.log'],
      ['log', 'logs/archive-strategies-4br4g-491290487/main.log'],
    ]);
    const tar = missing.find((m) => m.kind === 'artifact')!;
    expect(tar.reason).toBe(`s3 key ${prefix}-generate-tar-2183706504/file-tar.tgz not found in ${bucket.url}`);
  });
});

describe('artifactRepositoryEntries', () => {
  const wf = (extra: string) =>
    workflow(`apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: play-9, namespace: agents, uid: u9, creationTimestamp: "2026-03-04T05:06:07Z"}
status:
  phase: Succeeded
  artifactRepositoryRef:
    artifactRepository:
      archiveLogs: true
      s3: {bucket: argo-artifacts, keyFormat: "{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/{{workflow.name}}/{{pod.name}}"}
  nodes:
    play-9-1:
      id: play-9-1
      name: play-9.implement
      type: Pod
      phase: Succeeded
      templateName: agent
${extra}`);

  test('derives the archived log key from keyFormat when status does not record it', async () => {
    const w = wf('');
    const pod = `play-9-agent-${fnv32a('play-9.implement')}`;
    await put(`2026/03/play-9/${pod}/main.log`, 'log\n');
    const { entries, missing } = await artifactRepositoryEntries(w, bucket);
    expect(missing).toEqual([]);
    expect(entries.map((e) => [e.path, e.meta?.s3Key])).toEqual([
      ['logs/play-9-1/main.log', `2026/03/play-9/${pod}/main.log`],
    ]);
  });

  test('artifacts recorded in another bucket or without an s3 key are missing, not silently skipped', async () => {
    const w = wf(`      outputs:
        artifacts:
        - {name: report, s3: {bucket: other-bucket, key: play-9/report.json}}
        - {name: gcs-thing, gcs: {key: x}}
        - {name: main-logs, s3: {key: play-9/p/main.log}}`);
    await put('play-9/report.json', '{}');
    await put('play-9/p/main.log', 'log');
    const { entries, missing } = await artifactRepositoryEntries(w, bucket, { bucket: 'argo-artifacts' });
    expect(entries.map((e) => e.path)).toEqual(['logs/play-9-1/main.log']);
    expect(missing.map((m) => m.reason)).toEqual([
      `s3 key play-9/report.json is in bucket other-bucket, not in argo-artifacts (${bucket.url})`,
      'output artifact "gcs-thing" has no s3 key in status',
    ]);
  });

  test('loadArtifactRepositoryBundle validates the object and adds it as workflow.json', async () => {
    const w = wf('');
    const bundle = await loadArtifactRepositoryBundle(w, bucket);
    expect(bundle).toMatchObject({ uid: 'u9', namespace: 'agents', name: 'play-9' });
    expect(bundle.entries[0]!.path).toBe('workflow.json');
    expect(JSON.parse(await text(await bundle.entries[0]!.open()))).toEqual(w);
    expect(bundle.missing).toHaveLength(1);
    const running = await loadArtifactRepositoryBundle({ ...w, status: { phase: 'Running' } }, bucket);
    expect(running.missing.map((m) => m.path)).toEqual(['status']);
    await expect(loadArtifactRepositoryBundle({ kind: 'Pod' }, bucket)).rejects.toBeInstanceOf(InputError);
  });
});

describe('withArtifactRepository', () => {
  test('fills what the directory export lacks from the bucket; what neither has stays missing with both reasons', async () => {
    const exportDir = mkdtempSync(path.join(tmpdir(), 'strata-export-'));
    try {
      const wfDir = path.join(exportDir, 'agents', 'play-5');
      mkdirSync(path.join(wfDir, 'logs', 'play-5-1'), { recursive: true });
      writeFileSync(
        path.join(wfDir, 'workflow.yaml'),
        `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: play-5, namespace: agents, uid: u5, annotations: {workflows.argoproj.io/pod-name-format: v2}}
status:
  phase: Succeeded
  nodes:
    play-5-1:
      id: play-5-1
      name: play-5.implement
      type: Pod
      phase: Succeeded
      templateName: agent
      outputs:
        artifacts:
        - {name: diff, s3: {key: play-5/p1/diff.tgz}}
        - {name: report, s3: {key: play-5/p1/report.json}}
        - {name: main-logs, s3: {key: play-5/p1/main.log}}
    play-5-2:
      id: play-5-2
      name: play-5.test
      type: Pod
      phase: Succeeded
      templateName: test
      outputs:
        artifacts:
        - {name: main-logs, s3: {key: play-5/p2/main.log}}
`,
      );
      writeFileSync(path.join(wfDir, 'logs', 'play-5-1', 'main.log'), 'from the export\n');
      await put('play-5/p1/main.log', 'from the bucket (not used: the export has it)\n');
      await put('play-5/p1/diff.tgz', 'DIFF');
      await put('play-5/p2/main.log', 'test log from the bucket\n');

      const source = withArtifactRepository(openDirectorySource(exportDir), bucket);
      const bundle = await source.load({ uid: 'u5', namespace: 'agents', name: 'play-5' });
      const byPath = Object.fromEntries(bundle.entries.map((e) => [e.path, e]));
      expect(Object.keys(byPath).sort()).toEqual([
        'artifacts/play-5-1/diff.tgz',
        'logs/play-5-1/main.log',
        'logs/play-5-2/main.log',
        'workflow.yaml',
      ]);
      expect(await text(await byPath['logs/play-5-1/main.log']!.open())).toBe('from the export\n');
      expect(await text(await byPath['logs/play-5-2/main.log']!.open())).toBe('test log from the bucket\n');
      expect(bundle.missing.map((m) => [m.path, m.reason])).toEqual([
        [
          'artifacts/play-5-1/report',
          `output artifact "report" (s3 key play-5/p1/report.json) is not in the export; bucket: s3 key play-5/p1/report.json not found in ${bucket.url}`,
        ],
      ]);
    } finally {
      rmSync(exportDir, { recursive: true, force: true });
    }
  });
});
