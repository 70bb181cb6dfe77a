// The SQLite catalog: index/rebuild idempotence, label/time/phase queries, full-text hits, errors, crash convergence.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { CATALOG_SCHEMA_VERSION, openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { ConfigError, StrataError } from '../../lib/errors.ts';
import { FakeSource } from './fake-source.ts';

const longLog = (() => {
  // ~200 KiB: several segments; the needle sits on line 3001.
  const lines: string[] = [];
  for (let i = 1; i <= 4000; i++)
    lines.push(
      i === 3001 ? 'FATAL kraken unleashed in shard 7' : `2026-11-01T10:00:00Z step ${i} ok padding-padding-padding`,
    );
  return lines.join('\n') + '\n';
})();

function corpus(): FakeSource {
  return new FakeSource()
    .add({
      id: 'a'.repeat(64),
      uid: 'uid-1',
      name: 'play-1',
      phase: 'Succeeded',
      finishedAt: '2026-11-01T10:00:00Z',
      labels: { 'workflow-type': 'play', repository: 'acme/api' },
      logs: { 'play-1-111': 'npm install\nadded 312 packages\nall tests passed\n', 'play-1-222': longLog },
    })
    .add({
      id: 'b'.repeat(64),
      uid: 'uid-2',
      name: 'play-2',
      phase: 'Failed',
      finishedAt: '2026-11-05T10:00:00Z',
      labels: { 'workflow-type': 'play', repository: 'acme/web' },
      logs: {
        'play-2-333': [
          '2026-11-05T09:59:58.123456789Z cargo build',
          '2026-11-05T09:59:59.223456789Z error: connection refused by registry',
          '2026-11-05T10:00:00.323456789Z thread main panicked',
        ].join('\n'),
      },
    })
    .add({
      id: 'c'.repeat(64),
      uid: 'uid-3',
      name: 'docs-1',
      namespace: 'docs',
      phase: 'Succeeded',
      finishedAt: '2026-11-10T10:00:00Z',
      labels: { 'workflow-type': 'docs' },
      logs: { 'docs-1-444': 'generating docs\nconnection refused, retrying\n' },
    });
}

let dir: string;
let catalog: Catalog;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-catalog-'));
  catalog = openSqliteCatalog(join(dir, 'catalog.db')).catalog;
});
afterEach(() => {
  catalog.close();
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

const names = (c: Catalog, q: Parameters<Catalog['search']>[0]) =>
  c
    .search(q)
    .map((w) => w.name)
    .sort();

describe('indexing', () => {
  test('indexes every manifest once; a re-run changes nothing', async () => {
    const source = corpus();
    const first = await indexCatalog(catalog, source);
    expect(first).toMatchObject({ listed: 3, indexed: 3, removed: 0, problems: [] });
    expect(first.logSegments).toBeGreaterThan(3);
    const before = { all: catalog.search({}), stats: catalog.stats(), hits: catalog.searchText('refused') };

    const second = await indexCatalog(catalog, source);
    expect(second).toMatchObject({ listed: 3, indexed: 0, unchanged: 3, removed: 0 });
    const full = await indexCatalog(catalog, source, { full: true });
    expect(full).toMatchObject({ indexed: 3, unchanged: 0 });
    expect({ all: catalog.search({}), stats: catalog.stats(), hits: catalog.searchText('refused') }).toEqual(before);
  });

  test('drops manifests that vanished from the store', async () => {
    const source = corpus();
    await indexCatalog(catalog, source);
    source.manifests.delete('b'.repeat(64));
    const report = await indexCatalog(catalog, source);
    expect(report.removed).toBe(1);
    expect(names(catalog, {})).toEqual(['docs-1', 'play-1']);
    expect(catalog.searchText('panicked')).toEqual([]);
    // Re-index everything (replacing rows): the FTS index must hold exactly what a fresh index of the same
    // manifests holds, i.e. every replaced or removed segment was really taken out of it.
    await indexCatalog(catalog, source, { full: true });
    const fresh = openSqliteCatalog(join(dir, 'fresh.db')).catalog;
    await indexCatalog(fresh, source);
    fresh.close();
    catalog.close();
    const state = ftsState(join(dir, 'catalog.db'));
    expect(state.integrity).toBe('ok');
    expect(state.vocabulary).toEqual(ftsState(join(dir, 'fresh.db')).vocabulary);
    catalog = openSqliteCatalog(join(dir, 'catalog.db')).catalog;
  });

  test('incomplete archives are marked and can be selected', async () => {
    const source = corpus();
    source.manifests.get('b'.repeat(64))!.incomplete = true;
    await indexCatalog(catalog, source);
    expect(names(catalog, { incomplete: true })).toEqual(['play-2']);
    expect(names(catalog, { incomplete: false })).toEqual(['docs-1', 'play-1']);
    expect(catalog.stats().incomplete).toBe(1);
  });

  test('indexing only named manifests lists and removes nothing else', async () => {
    const source = corpus();
    await indexCatalog(catalog, source, { only: ['a'.repeat(64)] });
    expect(names(catalog, {})).toEqual(['play-1']);
    source.manifests.delete('b'.repeat(64));
    const report = await indexCatalog(catalog, source, { only: ['c'.repeat(64), 'd'.repeat(64)] });
    expect(report).toMatchObject({ listed: 2, indexed: 1, removed: 0 });
    expect(report.problems).toEqual([{ manifestId: 'd'.repeat(64), message: `no manifest ${'d'.repeat(64)}` }]);
    expect(names(catalog, {})).toEqual(['docs-1', 'play-1']);
  });

  test('rebuild after deleting the database gives the same results', async () => {
    const source = corpus();
    await indexCatalog(catalog, source);
    const before = { all: catalog.search({}), hits: catalog.searchText('kraken OR refused'), stats: catalog.stats() };
    catalog.close();
    rmSync(dir, { recursive: true, force: true });
    const reopened = openSqliteCatalog(join(dir, 'catalog.db'));
    catalog = reopened.catalog;
    expect(reopened.fresh).toBe(true);
    await indexCatalog(catalog, source);
    expect({ all: catalog.search({}), hits: catalog.searchText('kraken OR refused'), stats: catalog.stats() }).toEqual(
      before,
    );
  });

  test('a crash in the middle of a manifest leaves no trace of it, and a re-run converges', async () => {
    const source = corpus();
    source.failAfter = { path: 'logs/play-1-222/main.log', bytes: 100_000 };
    const broken = await indexCatalog(catalog, source);
    expect(broken.problems).toEqual([{ manifestId: 'a'.repeat(64), message: 'simulated crash while reading' }]);
    expect(names(catalog, {})).toEqual(['docs-1', 'play-2']);
    expect(catalog.searchText('padding')).toEqual([]);
    expect(catalog.entries('a'.repeat(64))).toEqual([]);
    expect(broken.logSegments).toBe(catalog.stats().logSegments);

    source.failAfter = undefined;
    const fixed = await indexCatalog(catalog, source);
    expect(fixed).toMatchObject({ indexed: 1, problems: [] });
    const clean = openSqliteCatalog(':memory:').catalog;
    await indexCatalog(clean, source);
    expect(catalog.stats()).toEqual(clean.stats());
    expect(catalog.searchText('kraken')).toEqual(clean.searchText('kraken'));
    clean.close();
  });

  test('reset (index --rebuild) wipes the catalog; re-indexing restores the same content', async () => {
    const source = corpus();
    await indexCatalog(catalog, source);
    const before = { all: catalog.search({}), stats: catalog.stats() };
    catalog.close();
    const reopened = openSqliteCatalog(join(dir, 'catalog.db'), { reset: true });
    catalog = reopened.catalog;
    expect(reopened.fresh).toBe(true);
    expect(catalog.stats().manifests).toBe(0);
    expect(catalog.searchText('kraken')).toEqual([]);
    expect((await indexCatalog(catalog, source)).indexed).toBe(3);
    expect({ all: catalog.search({}), stats: catalog.stats() }).toEqual(before);
  });

  test('a catalog written with another schema version is wiped and rebuilt', async () => {
    await indexCatalog(catalog, corpus());
    catalog.close();
    const raw = new Database(join(dir, 'catalog.db'));
    raw.pragma(`user_version = ${CATALOG_SCHEMA_VERSION + 1}`);
    raw.close();
    const reopened = openSqliteCatalog(join(dir, 'catalog.db'));
    catalog = reopened.catalog;
    expect(reopened.fresh).toBe(true);
    expect(catalog.stats().manifests).toBe(0);
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

describe('queries', () => {
  beforeEach(async () => {
    await indexCatalog(catalog, corpus());
  });

  test('by exact label, several labels, namespace, phase and name', () => {
    expect(names(catalog, { labels: { 'workflow-type': 'play' } })).toEqual(['play-1', 'play-2']);
    expect(names(catalog, { labels: { 'workflow-type': 'play', repository: 'acme/web' } })).toEqual(['play-2']);
    expect(names(catalog, { labels: { 'workflow-type': 'pla' } })).toEqual([]);
    expect(names(catalog, { namespace: 'docs' })).toEqual(['docs-1']);
    expect(names(catalog, { phase: 'failed' })).toEqual(['play-2']);
    expect(names(catalog, { name: 'play-1' })).toEqual(['play-1']);
  });

  test('by time range on finishedAt: since inclusive, until exclusive', () => {
    expect(names(catalog, { since: new Date('2026-11-05T10:00:00Z') })).toEqual(['docs-1', 'play-2']);
    expect(names(catalog, { until: new Date('2026-11-05T10:00:00Z') })).toEqual(['play-1']);
    expect(
      names(catalog, { since: new Date('2026-11-02T00:00:00Z'), until: new Date('2026-11-06T00:00:00Z') }),
    ).toEqual(['play-2']);
  });

  test('newest first, limited, with labels and manifest ids', () => {
    const [newest, ...rest] = catalog.search({ limit: 2 });
    expect(rest).toHaveLength(1);
    expect(newest).toMatchObject({
      name: 'docs-1',
      manifestId: 'c'.repeat(64),
      uid: 'uid-3',
      labels: { 'workflow-type': 'docs' },
    });
  });

  test('full-text filter combined with the other filters', () => {
    expect(names(catalog, { text: 'connection refused' })).toEqual(['docs-1', 'play-2']);
    expect(names(catalog, { text: '"connection refused"', namespace: 'agents' })).toEqual(['play-2']);
    expect(names(catalog, { text: 'kraken' })).toEqual(['play-1']);
  });

  test('full-text hits name the node, the log and the line of the match', () => {
    const [hit, ...more] = catalog.searchText('kraken');
    expect(more).toEqual([]);
    expect(hit).toMatchObject({
      name: 'play-1',
      nodeId: 'play-1-222',
      container: 'main',
      path: 'logs/play-1-222/main.log',
      line: 3001,
    });
    expect(hit!.snippet).toContain('«kraken»');
    const [panic] = catalog.searchText('panicked', { phase: 'Failed' });
    expect(panic).toMatchObject({ nodeId: 'play-2-333', line: 3 });
    // Sub-second timestamp digits are not indexed, but the snippet shows the real line with the right word marked.
    expect(panic!.snippet).toBe('2026-11-05T10:00:00.323456789Z thread main «panicked»');
    expect(catalog.searchText('323456789z')).toEqual([]);
    expect(catalog.searchText('05t10')).toMatchObject([{ nodeId: 'play-2-333', line: 3 }]);
  });

  test('user text is data, never SQL', () => {
    expect(names(catalog, { labels: { "workflow-type' OR 1=1 --": 'x' } })).toEqual([]);
    expect(names(catalog, { name: "x' OR '1'='1" })).toEqual([]);
    expect(catalog.searchText('"\'); DROP TABLE manifests; --"')).toEqual([]);
    expect(catalog.stats().manifests).toBe(3);
  });

  test('an FTS syntax error is a clear usage error, not a crash', () => {
    for (const bad of ['refused AND', 'nosuchcolumn: x', '"unterminated', '(']) {
      let err: unknown;
      try {
        catalog.searchText(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).describe()).toMatch(/key text: full-text query .* is not valid FTS5 syntax/);
    }
    expect(() => catalog.search({ text: '  ' })).toThrow(ConfigError);
  });

  test('get by manifest id, short id, uid, name and namespace/name', () => {
    const a = 'a'.repeat(64);
    for (const ref of [a, a.slice(0, 12), 'uid-1', 'play-1', 'agents/play-1']) {
      expect(
        catalog.get(ref).map((w) => w.manifestId),
        ref,
      ).toEqual([a]);
    }
    expect(catalog.get('nope')).toEqual([]);
    expect(catalog.entries(a).find((e) => e.nodeId === 'play-1-222')).toMatchObject({
      path: 'logs/play-1-222/main.log',
      kind: 'log',
    });
  });

  test('stats', () => {
    expect(catalog.stats()).toMatchObject({
      manifests: 3,
      workflows: 3,
      entries: 7,
      byPhase: { Succeeded: 2, Failed: 1 },
      labels: 2,
    });
  });
});
