// The catalog over a real archive: archive bundles into a file: store, index them, query through the CLI.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { archiveBundle, initRepository } from '../../lib/archive/index.ts';
import type { BundleEntry, WorkflowBundle } from '../../lib/bundle/bundle.ts';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
// Each test starts the CLI five or six times; on a machine busy with other suites one start can take ~10 s.
const CLI_TIMEOUT_MS = 180_000;
const run = promisify(execFile);

function bundle(i: number, phase: string, logs: Record<string, string>): WorkflowBundle {
  const uid = `00000000-0000-0000-0000-00000000000${i}`;
  const name = `play-${i}`;
  const workflow = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name, namespace: 'agents', uid, labels: { 'workflow-type': 'play', 'task-id': String(i) } },
    status: { phase, startedAt: `2026-11-0${i}T09:00:00Z`, finishedAt: `2026-11-0${i}T10:00:00Z` },
  };
  const entries: BundleEntry[] = Object.entries(logs).map(([node, text]) => ({
    path: `logs/${node}/main.log`,
    kind: 'log',
    nodeId: node,
    container: 'main',
    size: Buffer.byteLength(text),
    open: async () => Readable.from([Buffer.from(text)]),
  }));
  return { uid, namespace: 'agents', name, workflow, entries, missing: [] };
}

let dir: string;
let ids: string[];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-catalog-archive-'));
  const repo = await initRepository(new FileSystemStore(join(dir, 'repo')));
  ids = [];
  ids.push((await archiveBundle(repo, bundle(1, 'Succeeded', { 'play-1-a': 'installing\nall green\n' }))).manifestId);
  ids.push(
    (
      await archiveBundle(
        repo,
        bundle(2, 'Failed', { 'play-2-a': 'setup\n', 'play-2-b': 'step\nsegfault in worker 3\n' }),
      )
    ).manifestId,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('catalog over the archive engine', () => {
  test('indexes manifests with their summary, entries and logs', async () => {
    const { catalog } = openSqliteCatalog(':memory:');
    const report = await indexCatalog(catalog, await archiveManifestSource(new FileSystemStore(join(dir, 'repo'))));
    expect(report).toMatchObject({ listed: 2, indexed: 2, problems: [] });
    expect((await catalog.search({ phase: 'Failed' })).map((w) => w.manifestId)).toEqual([ids[1]]);
    expect((await catalog.search({ labels: { 'task-id': '1' } }))[0]).toMatchObject({
      name: 'play-1',
      finishedAt: '2026-11-01T10:00:00Z',
      labels: { 'workflow-type': 'play', 'task-id': '1' },
    });
    const [hit] = await catalog.searchText('segfault');
    expect(hit).toMatchObject({ manifestId: ids[1], nodeId: 'play-2-b', path: 'logs/play-2-b/main.log', line: 2 });
    await catalog.close();
  });

  test('a manifest whose data cannot be read is reported and left out, the others are indexed', async () => {
    const store = new FileSystemStore(join(dir, 'broken-repo'));
    const repo = await initRepository(store);
    const good = (await archiveBundle(repo, bundle(1, 'Succeeded', { 'play-1-a': 'fine\n' }), { group: 'keep' }))
      .manifestId;
    const lost = (await archiveBundle(repo, bundle(2, 'Failed', { 'play-2-a': 'doomed\n' }), { group: 'lose' }))
      .manifestId;
    const packs: string[] = [];
    for await (const o of store.list('archive/packs/lose/')) packs.push(o.key);
    expect(packs.length).toBeGreaterThan(0);
    await store.delete(packs);
    for await (const o of store.list('archive/index/lose/')) await store.delete([o.key]);

    const { catalog } = openSqliteCatalog(':memory:');
    const report = await indexCatalog(catalog, await archiveManifestSource(store));
    expect(report.indexed).toBe(1);
    expect(report.problems.map((p) => p.manifestId)).toEqual([lost]);
    expect(report.problems[0]!.message).toMatch(/pack/i);
    expect([...(await catalog.manifestIds())]).toEqual([good]);
    await catalog.close();
  });

  test(
    'strata index, query and search on the command line',
    async () => {
      const env = {
        ...process.env,
        STRATA_STORE: `file:${join(dir, 'repo')}`,
        STRATA_CATALOG: join(dir, 'catalog.db'),
        STRATA_OUTPUT: 'json',
      };
      const strata = (...args: string[]) => run(process.execPath, ['bin/strata.js', ...args], { cwd: repoRoot, env });

      const indexed = JSON.parse((await strata('index')).stdout);
      expect(indexed).toMatchObject({ listed: 2, indexed: 2, problems: 0, manifests: 2 });
      const again = JSON.parse((await strata('index')).stdout);
      expect(again).toMatchObject({ indexed: 0, unchanged: 2, manifests: 2 });

      const found = JSON.parse(
        (await strata('query', '--label', 'workflow-type=play', '--since', '2026-11-02')).stdout,
      );
      expect(found.map((w: { manifestId: string }) => w.manifestId)).toEqual([ids[1]]);
      const hits = JSON.parse((await strata('search', 'segfault OR green')).stdout);
      expect(hits.map((h: { nodeId: string }) => h.nodeId).sort()).toEqual(['play-1-a', 'play-2-b']);

      const bad = await strata('search', 'segfault AND').catch((e: { code: number; stderr: string }) => e);
      expect(bad).toMatchObject({ code: 2 });
      expect((bad as { stderr: string }).stderr).toMatch(
        /^strata: key text: full-text query "segfault AND" is not valid: it ends where a word or phrase was expected/,
      );
    },
    CLI_TIMEOUT_MS,
  );

  test(
    'by default (catalogText: archive) the catalog keeps no log text and reads phrases back from the archive',
    async () => {
      const file = join(dir, 'compact.db');
      const env = {
        ...withoutStrataEnv(),
        STRATA_STORE: `file:${join(dir, 'repo')}`,
        STRATA_CATALOG: file,
        STRATA_OUTPUT: 'json',
      };
      const strata = (...args: string[]) => run(process.execPath, ['bin/strata.js', ...args], { cwd: repoRoot, env });

      expect(JSON.parse((await strata('index')).stdout)).toMatchObject({ indexed: 2, manifests: 2 });
      // Opened again in the same layout: nothing wiped, nothing indexed twice.
      expect(JSON.parse((await strata('index')).stdout)).toMatchObject({ indexed: 0, unchanged: 2 });
      const hits = JSON.parse((await strata('search', '"segfault in worker"')).stdout) as Array<{
        nodeId: string;
        line: number;
        snippetText: string;
      }>;
      expect(hits).toEqual([expect.objectContaining({ nodeId: 'play-2-b', line: 2 })]);
      expect(hits[0]!.snippetText).toContain('segfault in worker 3');

      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma('application_id', { simple: true })).toBe(1); // the compact layout
        const segments = db.prepare('SELECT count(*) AS n, count(body) AS kept FROM segments').get() as {
          n: number;
          kept: number;
        };
        expect(segments.n).toBeGreaterThan(0);
        expect(segments.kept).toBe(0);
      } finally {
        db.close();
      }
    },
    CLI_TIMEOUT_MS,
  );

  test(
    'a catalog built in the other layout is rebuilt from the archive by whichever command opens it',
    async () => {
      const file = join(dir, 'switched.db');
      const strata = (text: 'stored' | undefined, ...args: string[]) =>
        run(process.execPath, ['bin/strata.js', ...args], {
          cwd: repoRoot,
          env: {
            ...withoutStrataEnv(),
            STRATA_STORE: `file:${join(dir, 'repo')}`,
            STRATA_CATALOG: file,
            STRATA_OUTPUT: 'json',
            ...(text && { STRATA_CATALOG_TEXT: text }),
          },
        });
      const layout = () => {
        const db = new Database(file, { readonly: true });
        try {
          const kind = db.pragma('application_id', { simple: true }) === 1 ? 'compact' : 'stored';
          const { n, kept } = db.prepare('SELECT count(*) AS n, count(body) AS kept FROM segments').get() as {
            n: number;
            kept: number;
          };
          return { kind, segments: n, withText: kept };
        } finally {
          db.close();
        }
      };
      expect(JSON.parse((await strata('stored', 'index')).stdout)).toMatchObject({ indexed: 2, manifests: 2 });
      const stored = layout();
      expect(stored).toMatchObject({ kind: 'stored', withText: stored.segments });

      // The new default opens it compact: `strata search` rebuilds it from the archive, then answers as before.
      const search = await strata(undefined, 'search', '"segfault in worker"');
      expect(search.stderr).toMatch(
        /held another text layout or an older schema, or its rebuild did not finish: rebuilding it from the archive/,
      );
      expect(JSON.parse(search.stdout)).toEqual([
        expect.objectContaining({ manifestId: ids[1], nodeId: 'play-2-b', line: 2 }),
      ]);
      expect(layout()).toEqual({ kind: 'compact', segments: stored.segments, withText: 0 });
      expect(JSON.parse((await strata(undefined, 'index')).stdout)).toMatchObject({ indexed: 0, unchanged: 2 });

      // And back: `strata query` opening it stored rebuilds it with the text kept.
      const query = await strata('stored', 'query', '--label', 'workflow-type=play');
      expect(
        JSON.parse(query.stdout)
          .map((w: { manifestId: string }) => w.manifestId)
          .sort(),
      ).toEqual([...ids].sort());
      expect(layout()).toEqual(stored);
    },
    CLI_TIMEOUT_MS,
  );
});

/** The test process's environment without STRATA_* settings, so that the defaults are what is tested. */
function withoutStrataEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
}
