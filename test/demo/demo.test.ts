// The one-command demo end to end on a handful of generated workflows: queries and restores must be right.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDemo, type DemoResult } from '../../hack/demo.ts';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import { archiveSegmentReader } from '../../lib/catalog/segment-reader.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';

let root: string;
let result: DemoResult;
const lines: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'strata-demo-'));
  result = await runDemo({ root, workflows: 4, seed: 7, log: (l) => lines.push(l) });
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('npm run demo', () => {
  test('every stage passes its own checks', () => {
    expect(result.verify.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.workflows).toBe(4);
    expect(result.archive.reArchiveNoOps).toBe(4);
    expect(lines.some((l) => l.includes('== demo OK'))).toBe(true);
  });

  test('queries return exactly the workflows the corpus says they should', () => {
    const { label, timeRange, fullText } = result.queries;
    for (const q of [label, timeRange, fullText]) expect(q.found, q.query).toEqual(q.expected);
    expect(label.found.length).toBeGreaterThan(0);
    expect(fullText.found.length).toBeGreaterThan(0);
    expect(timeRange.found.length).toBeGreaterThan(0);
    expect(timeRange.found.length).toBeLessThanOrEqual(4);
  });

  test('full-text hits point at a node log line that really contains the word', async () => {
    const word = result.queries.fullText.query.replace('--text ', '').toLowerCase();
    const source = await archiveManifestSource(new FileSystemStore(join(root, 'repo')));
    const { catalog, fresh } = openSqliteCatalog(join(root, 'catalog.db'), { textFrom: archiveSegmentReader(source) });
    expect(fresh).toBe(false);
    try {
      const hits = await catalog.searchText(word, { limit: 50 });
      expect(hits.length).toBeGreaterThan(0);
      for (const h of hits) {
        const original = readFileSync(join(root, 'export', h.namespace, h.name, h.path), 'utf8');
        expect(original.split('\n')[h.line - 1]!.toLowerCase(), `${h.name} ${h.path}:${h.line}`).toContain(word);
        // An Argo node's log sits under logs/<node id>/; an agent Job's log belongs to its related resource.
        if (h.nodeId) expect(h.path.startsWith(`logs/${h.nodeId}/`), h.path).toBe(true);
        else expect(h.path).toMatch(/^resources\//);
      }
    } finally {
      await catalog.close();
    }
  });

  test('the whole-workflow restore is byte-identical and resubmittable', () => {
    const r = result.restore;
    expect(r.checksumMismatches).toEqual([]);
    expect(r.files).toBeGreaterThan(1);
    expect(r.resubmitPath && existsSync(r.resubmitPath)).toBeTruthy();
    const wf = parse(readFileSync(r.resubmitPath!, 'utf8')) as {
      kind: string;
      status?: unknown;
      metadata: { uid?: string };
    };
    expect(wf.kind).toBe('Workflow');
    expect(wf.status).toBeUndefined();
    expect(wf.metadata.uid).toBeUndefined();
  });

  test('the single node log equals the original file in the export', () => {
    const n = result.nodeLog;
    expect(n.ok).toBe(true);
    const [ns, name] = n.workflow.split('/');
    expect(readFileSync(n.file)).toEqual(readFileSync(join(root, 'export', ns!, name!, n.path)));
  });
});
