// A SIGKILL in the middle of indexing leaves a catalog that a re-run brings to exactly the clean result.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, test } from 'vitest';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { crashCorpus } from './index-child.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'strata-catalog-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the child indexer in lock-step and kills it with SIGKILL when it asks to read chunk number `chunks`. */
function indexUntilKilled(db: string, batch: number, chunks: number): Promise<'killed' | 'finished'> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/catalog/index-child.ts', db, String(batch)], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let seen = 0;
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      for (const line of text.split('\n')) {
        if (line !== 'chunk' || killed) continue;
        if (++seen >= chunks) {
          killed = true;
          child.kill('SIGKILL');
        } else child.stdin.write('g');
      }
    });
    child.on('error', fail);
    child.stdin.on('error', () => {}); // a write racing the child's exit is not the test's concern
    child.on('exit', () => done(killed ? 'killed' : 'finished'));
  });
}

// Each chunk is 4 KiB; the corpus has 6 manifests × 2 logs × 25 chunks; a re-run skips what was committed. The child
// is killed when it asks for chunk number `kills[i]`. Lock-step makes the cut points exact: one manifest per commit
// gives nothing, then one, then two whole manifests; batches of four give nothing until the first four commit together.
test.each([
  { batch: 1, kills: [5, 100, 100], committed: [0, 1, 2] },
  { batch: 4, kills: [5, 100, 250], committed: [0, 0, 4] },
])(
  'killed at several points ($batch per commit), a re-run converges on the clean catalog',
  async ({ batch, kills, committed }) => {
    const needles = async (c: Catalog) => {
      const perManifest = new Map<string, number>();
      for (const h of await c.searchText('needle', { limit: 1000 }))
        perManifest.set(h.manifestId, (perManifest.get(h.manifestId) ?? 0) + 1);
      return perManifest;
    };
    const clean = openSqliteCatalog(':memory:').catalog;
    await indexCatalog(clean, crashCorpus());
    const expected = {
      stats: await clean.stats(),
      all: await clean.search({}),
      hits: await clean.searchText('needle', { limit: 1000 }),
    };
    const cleanNeedles = await needles(clean);
    await clean.close();

    const db = join(dir, `catalog-${batch}.db`);
    const partial: number[] = [];
    for (const chunks of kills) {
      expect(await indexUntilKilled(db, batch, chunks)).toBe('killed');
      const { catalog } = openSqliteCatalog(db);
      partial.push((await catalog.stats()).manifests);
      // Whatever was committed is whole: every indexed manifest has all of its hits.
      const found = await needles(catalog);
      const ids = await catalog.manifestIds();
      for (const id of ids) expect(found.get(id), id).toBe(cleanNeedles.get(id));
      expect([...found.keys()].every((id) => ids.has(id))).toBe(true);
      await catalog.close();
    }
    expect(partial).toEqual(committed);

    const raw = new Database(db);
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    raw.close();

    const { catalog } = openSqliteCatalog(db);
    await indexCatalog(catalog, crashCorpus());
    expect({
      stats: await catalog.stats(),
      all: await catalog.search({}),
      hits: await catalog.searchText('needle', { limit: 1000 }),
    }).toEqual(expected);
    await catalog.close();
  },
);
