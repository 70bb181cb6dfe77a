// The SQLite catalog: the shared contract, plus what only its file can get wrong (FTS5 consistency, schema, WAL).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Catalog, ManifestUpsert } from '../../lib/catalog/catalog.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { CATALOG_SCHEMA_VERSION, openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { StrataError } from '../../lib/errors.ts';
import { archiveSegmentReader } from '../../lib/catalog/segment-reader.ts';
import { contractCorpus, contractCorpus as corpus, describeCatalogContract } from './contract.ts';
import { describeRebuildOnOpen } from './rebuild-on-open.ts';

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

/** How many index segments FTS5 has written into the file (the write counter of its structure record). */
function ftsWrites(file: string): number {
  const raw = new Database(file, { readonly: true });
  try {
    const record = raw.prepare('SELECT block FROM log_fts_data WHERE id = 10').pluck().get() as Buffer;
    // A 4-byte cookie, the version-2 marker, then varints: levels, segments, segments ever written.
    let at = record.subarray(4, 8).equals(Buffer.from([0xff, 0, 0, 1])) ? 8 : 4;
    const varint = () => {
      let n = 0;
      for (let shift = 0; ; shift += 7) {
        const b = record[at++]!;
        n += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return n;
      }
    };
    varint();
    varint();
    return varint();
  } finally {
    raw.close();
  }
}

function workflowUpsert(n: number, texts: string[]): ManifestUpsert {
  const manifestId = n.toString(16).padStart(64, '0');
  return {
    workflow: {
      manifestId,
      uid: `uid-${n}`,
      namespace: 'ns',
      name: `wf-${n}`,
      finishedAt: new Date(Date.UTC(2026, 0, 1 + n)).toISOString(),
      labels: {},
      incomplete: false,
      entries: 1,
      bytes: 1,
    },
    entries: [{ path: 'logs/main.log', kind: 'log', size: 1 }],
    segments: (async function* () {
      let firstLine = 1;
      for (const text of texts) {
        yield { path: 'logs/main.log', firstLine, text };
        firstLine += text.split('\n').length - 1;
      }
    })(),
  };
}

async function* batchOf(items: ManifestUpsert[]): AsyncGenerator<ManifestUpsert> {
  yield* items;
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

const rebuildDirs: string[] = [];
describeRebuildOnOpen('SQLite file', {
  location: () => {
    const d = mkdtempSync(join(tmpdir(), 'strata-catalog-rebuild-'));
    rebuildDirs.push(d);
    return join(d, 'catalog.db');
  },
  concurrentWriters: false,
  async makeOlder(location) {
    const raw = new Database(location);
    raw.pragma(`user_version = ${CATALOG_SCHEMA_VERSION - 1}`);
    raw.close();
  },
});
afterAll(() => {
  for (const d of rebuildDirs.splice(0)) rmSync(d, { recursive: true, force: true });
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

  test('a batch goes into the full-text index in one write, not one per manifest', async () => {
    // FTS5 counts every index segment it writes (its structure record's write counter): one per flush of its
    // pending terms. Each write is a segment to merge later; a write per manifest was most of a batch's index work.
    const batch = Array.from({ length: 20 }, (_, n) => workflowUpsert(n, [`alpha beta ${n}\n`, `gamma delta ${n}\n`]));
    const outcomes = await catalog.upsertManifests(batchOf(batch));
    expect(outcomes.every((o) => o.error === undefined)).toBe(true);
    await catalog.close();
    expect(ftsWrites(join(dir, 'catalog.db'))).toBe(1);
    catalog = openSqliteCatalog(join(dir, 'catalog.db')).catalog;
    expect((await catalog.searchText('gamma', { limit: 100 })).length).toBe(20);
  });

  for (const layout of ['stored', 'compact'] as const) {
    test(`${layout}: a manifest indexed again in the same batch, and one indexed before, leave the index exact`, async () => {
      const file = join(dir, `${layout}.db`);
      const open = () =>
        openSqliteCatalog(file, layout === 'compact' ? { textFrom: async () => 'unused' } : {}).catalog;
      const c = open();
      await c.upsertManifests(batchOf([workflowUpsert(1, ['old words one\n']), workflowUpsert(2, ['kept two\n'])]));
      await c.upsertManifests(
        batchOf([
          workflowUpsert(3, ['first try three\n']),
          workflowUpsert(1, ['new words one\n', 'more one\n']),
          workflowUpsert(3, ['second try three\n']),
          workflowUpsert(4, ['four\n']),
        ]),
      );
      await c.close();
      const fresh = openSqliteCatalog(
        join(dir, `${layout}-fresh.db`),
        layout === 'compact' ? { textFrom: async () => '' } : {},
      );
      await fresh.catalog.upsertManifests(
        batchOf([
          workflowUpsert(1, ['new words one\n', 'more one\n']),
          workflowUpsert(2, ['kept two\n']),
          workflowUpsert(3, ['second try three\n']),
          workflowUpsert(4, ['four\n']),
        ]),
      );
      await fresh.catalog.close();
      const state = ftsState(file);
      expect(state.integrity).toBe('ok');
      expect(state.vocabulary).toEqual(ftsState(join(dir, `${layout}-fresh.db`)).vocabulary);
      expect(state.vocabulary).not.toContainEqual(expect.objectContaining({ term: 'first' }));
    });
  }

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
