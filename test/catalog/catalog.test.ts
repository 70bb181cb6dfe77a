// The SQLite catalog: the shared contract, plus what only its file can get wrong (FTS5 consistency, schema, WAL).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { CATALOG_SCHEMA_VERSION, openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { StrataError } from '../../lib/errors.ts';
import { archiveSegmentReader } from '../../lib/catalog/segment-reader.ts';
import { contractCorpus, contractCorpus as corpus, describeCatalogContract } from './contract.ts';

let dir: string;
let catalog: Catalog;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-catalog-'));
  catalog = openSqliteCatalog(join(dir, 'catalog.db')).catalog;
});
afterEach(async () => {
  await catalog.close();
  rmSync(dir, { recursive: true, force: true });
});

/** FTS5's own consistency check of the index, and its vocabulary (term, documents, occurrences). */
function ftsState(file: string): { integrity: string; vocabulary: unknown[] } {
  const raw = new Database(file);
  try {
    let integrity = 'ok';
    try {
      raw.prepare(`INSERT INTO log_fts (log_fts) VALUES ('integrity-check')`).run();
    } catch (err) {
      integrity = (err as Error).message;
    }
    raw.exec(`CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, 'log_fts', 'row')`);
    return { integrity, vocabulary: raw.prepare('SELECT term, doc, cnt FROM temp.vocab ORDER BY term').all() };
  } finally {
    raw.close();
  }
}

const names = async (c: Catalog, q: Parameters<Catalog['search']>[0]) => (await c.search(q)).map((w) => w.name).sort();

const contractDirs: string[] = [];
describeCatalogContract('SQLite file', async () => {
  const d = mkdtempSync(join(tmpdir(), 'strata-catalog-contract-'));
  contractDirs.push(d);
  return openSqliteCatalog(join(d, 'catalog.db')).catalog;
});
afterAll(() => {
  for (const d of contractDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('indexing', () => {
  test('drops manifests that vanished from the store', async () => {
    const source = corpus();
    await indexCatalog(catalog, source);
    source.manifests.delete('b'.repeat(64));
    const report = await indexCatalog(catalog, source);
    expect(report.removed).toBe(1);
    expect(await names(catalog, {})).toEqual(['docs-1', 'play-1']);
    expect(await catalog.searchText('panicked')).toEqual([]);
    // Re-index everything (replacing rows): the FTS index must hold exactly what a fresh index of the same
    // manifests holds, i.e. every replaced or removed segment was really taken out of it.
    await indexCatalog(catalog, source, { full: true });
    const fresh = openSqliteCatalog(join(dir, 'fresh.db')).catalog;
    await indexCatalog(fresh, source);
    await fresh.close();
    await catalog.close();
    const state = ftsState(join(dir, 'catalog.db'));
    expect(state.integrity).toBe('ok');
    expect(state.vocabulary).toEqual(ftsState(join(dir, 'fresh.db')).vocabulary);
    catalog = openSqliteCatalog(join(dir, 'catalog.db')).catalog;
  });

  test('rebuild after deleting the database gives the same results', async () => {
    const source = corpus();
    await indexCatalog(catalog, source);
    const snapshot = async () => ({
      all: await catalog.search({}),
      hits: await catalog.searchText('kraken OR refused'),
      stats: await catalog.stats(),
    });
    const before = await snapshot();
    await catalog.close();
    rmSync(dir, { recursive: true, force: true });
    const reopened = openSqliteCatalog(join(dir, 'catalog.db'));
    catalog = reopened.catalog;
    expect(reopened.fresh).toBe(true);
    await indexCatalog(catalog, source);
    expect(await snapshot()).toEqual(before);
  });

  test('reset (index --rebuild) wipes the catalog; re-indexing restores the same content', async () => {
    const source = corpus();
    await indexCatalog(catalog, source);
    const before = { all: await catalog.search({}), stats: await catalog.stats() };
    await catalog.close();
    const reopened = openSqliteCatalog(join(dir, 'catalog.db'), { reset: true });
    catalog = reopened.catalog;
    expect(reopened.fresh).toBe(true);
    expect((await catalog.stats()).manifests).toBe(0);
    expect(await catalog.searchText('kraken')).toEqual([]);
    expect((await indexCatalog(catalog, source)).indexed).toBe(3);
    expect({ all: await catalog.search({}), stats: await catalog.stats() }).toEqual(before);
  });

  test('a catalog written with another schema version is wiped and rebuilt', async () => {
    await indexCatalog(catalog, corpus());
    await catalog.close();
    const raw = new Database(join(dir, 'catalog.db'));
    raw.pragma(`user_version = ${CATALOG_SCHEMA_VERSION + 1}`);
    raw.close();
    const reopened = openSqliteCatalog(join(dir, 'catalog.db'));
    catalog = reopened.catalog;
    expect(reopened.fresh).toBe(true);
    expect((await catalog.stats()).manifests).toBe(0);
    expect((await indexCatalog(catalog, corpus())).indexed).toBe(3);
  });

  test('a file that is not a catalog is a clear error naming it, not a crash', () => {
    const bogus = join(dir, 'bogus.db');
    writeFileSync(bogus, 'not a database, just text\n'.repeat(100));
    expect(() => openSqliteCatalog(bogus)).toThrow(StrataError);
    expect(() => openSqliteCatalog(bogus)).toThrow(/cannot open catalog: file is not a database .*delete it/);
  });

  test('the catalog file is in WAL mode', () => {
    const raw = new Database(join(dir, 'catalog.db'), { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });
});

// The compact catalog: no copy of the text, an index without positions, phrases and snippets read from the archive.
const compactDirs: string[] = [];
describeCatalogContract('SQLite compact (text from the archive)', async () => {
  const d = mkdtempSync(join(tmpdir(), 'strata-catalog-compact-'));
  compactDirs.push(d);
  // The contract indexes contractCorpus() (and variants with the same logs): read the text back from it.
  return openSqliteCatalog(join(d, 'catalog.db'), { textFrom: archiveSegmentReader(contractCorpus()) }).catalog;
});
afterAll(() => {
  for (const d of compactDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
