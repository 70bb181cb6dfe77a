// The PostgreSQL catalog against a real server on loopback (started here, stopped after): the shared contract, plus
// what only a shared catalog must get right (several indexers and readers at once, schema creation, rebuild).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { archiveBundle, initRepository } from '../../lib/archive/index.ts';
import { manifestKey } from '../../lib/archive/repository.ts';
import { catalogTextOptions, openCatalog } from '../../lib/catalog/open.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { Catalog, CatalogWorkflow, LabelRequirement, WorkflowPageQuery } from '../../lib/catalog/catalog.ts';
import { openPostgresCatalog } from '../../lib/catalog/postgres.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { pgSkipReason, startPostgres, type PgPeer } from '../support/pg-peer.ts';
import { contractCorpus, describeCatalogContract } from './contract.ts';
import { describeRebuildOnOpen } from './rebuild-on-open.ts';
import { FakeSource } from './fake-source.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const skip = pgSkipReason();
if (skip) process.stderr.write(`PostgreSQL catalog suites skip: ${skip}\n`);

let peer: PgPeer | undefined;
beforeAll(async () => {
  if (!skip) peer = await startPostgres();
}, 120_000);
afterAll(async () => {
  await peer?.stop();
});

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

let schemas = 0;
const nextSchema = () => `contract_${process.pid}_${++schemas}`;

describeRebuildOnOpen('PostgreSQL', {
  ...(skip !== undefined && { skip }),
  location: () => {
    const url = new URL(peer!.url);
    url.searchParams.set('schema', nextSchema());
    return url.toString();
  },
  concurrentWriters: true,
  async makeOlder(location) {
    // As version 3 left it: no rebuild mark in its meta table.
    const url = new URL(location);
    const schema = url.searchParams.get('schema')!;
    url.searchParams.delete('schema');
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(`ALTER TABLE ${schema}.meta DROP COLUMN rebuilding`);
      await client.query(`UPDATE ${schema}.meta SET version = 3`);
    } finally {
      await client.end();
    }
  },
});

describeCatalogContract(
  'PostgreSQL',
  async () => (await openPostgresCatalog(peer!.url, { schema: nextSchema() })).catalog,
  {
    ...(skip !== undefined && { skip }),
  },
);

describe.skipIf(skip !== undefined)('PostgreSQL catalog: shared by several processes', () => {
  test('several indexers at once on one schema converge on one copy of each manifest', async () => {
    const schema = nextSchema();
    const writers: Catalog[] = [];
    for (let i = 0; i < 3; i++) writers.push((await openPostgresCatalog(peer!.url, { schema, poolSize: 2 })).catalog);
    try {
      const source = contractCorpus();
      const reports = await Promise.all(writers.map((c, i) => indexCatalog(c, source, { full: i > 0 })));
      for (const r of reports) expect(r.problems).toEqual([]);
      const clean = (await openPostgresCatalog(peer!.url, { schema: nextSchema() })).catalog;
      await indexCatalog(clean, contractCorpus());
      for (const c of writers) {
        expect(await c.stats()).toEqual(await clean.stats());
        expect(await c.searchText('kraken OR refused', { limit: 100 })).toEqual(
          await clean.searchText('kraken OR refused', { limit: 100 }),
        );
      }
      await clean.close();
    } finally {
      for (const c of writers) await c.close();
    }
  });

  test('indexers writing batches at once never deadlock on the shared per-day counters', async () => {
    // Ten manifests on ten days; one indexer takes the first five (days ascending), the other the last five, whose ids
    // ascend as their days descend: each batch's counter rows are locked in the opposite order of the other's.
    const source = new FakeSource();
    const ids = Array.from({ length: 10 }, (_, i) => i.toString(16).padStart(64, '0'));
    ids.forEach((id, i) => {
      const day = i < 5 ? i + 1 : 10 - i;
      source.add({
        id,
        uid: `u${i}`,
        name: `wf${i}`,
        finishedAt: `2026-11-${String(day).padStart(2, '0')}T10:00:00Z`,
        logs: { [`wf${i}-n`]: Array.from({ length: 2000 }, (_, l) => `line ${l} of wf ${i}`).join('\n') },
      });
    });
    const schema = nextSchema();
    const writers: Catalog[] = [];
    for (let i = 0; i < 2; i++) writers.push((await openPostgresCatalog(peer!.url, { schema, poolSize: 1 })).catalog);
    try {
      for (let round = 0; round < 3; round++) {
        const reports = await Promise.all([
          indexCatalog(writers[0]!, source, { only: ids.slice(0, 5), full: true }),
          indexCatalog(writers[1]!, source, { only: ids.slice(5), full: true }),
        ]);
        for (const r of reports) expect(r.problems).toEqual([]);
      }
      expect((await writers[0]!.stats()).manifests).toBe(10);
      expect((await writers[0]!.countByDay({})).reduce((n, d) => n + d.count, 0)).toBe(10);
    } finally {
      for (const c of writers) await c.close();
    }
  });

  test('opening an existing schema keeps it; reset and a version change wipe it', async () => {
    const schema = nextSchema();
    const first = await openPostgresCatalog(peer!.url, { schema });
    expect(first.fresh).toBe(true);
    await indexCatalog(first.catalog, contractCorpus());
    await first.catalog.close();
    const again = await openPostgresCatalog(peer!.url, { schema });
    expect(again.fresh).toBe(false);
    expect((await again.catalog.stats()).manifests).toBe(3);
    await again.catalog.close();
    const reset = await openPostgresCatalog(peer!.url, { schema, reset: true });
    expect(reset.fresh).toBe(true);
    expect((await reset.catalog.stats()).manifests).toBe(0);
    expect((await indexCatalog(reset.catalog, contractCorpus())).indexed).toBe(3);
    await reset.catalog.close();
  });

  test('concurrent opens of a new schema create it once', async () => {
    const schema = nextSchema();
    const opened = await Promise.all([1, 2, 3].map(() => openPostgresCatalog(peer!.url, { schema, poolSize: 1 })));
    expect(opened.filter((o) => o.fresh)).toHaveLength(1);
    for (const o of opened) await o.catalog.close();
  });

  test('an unreachable server is a clear error naming the URL without its password', async () => {
    const err = await openPostgresCatalog('postgres://u:secret@127.0.0.1:1/x').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const described = (err as { describe?: () => string }).describe?.() ?? String(err);
    expect(described).toMatch(/postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x.*cannot open PostgreSQL catalog: /);
    expect(described).not.toContain('secret');
  });
});

describe.skipIf(skip !== undefined)('PostgreSQL catalog: label selectors walked in time order', () => {
  // 600 rows, the oldest 150 three per minute (ties), every 50th undated. `a` alternates x/y; `b` is p, q or absent;
  // among the newest 450 rows `c=on` sits only on rows with a=y, so `a in (x), c in (on)` keeps passing without
  // meeting for longer than the walk's step budget of a small page, and the page is finished by the other plan.
  const base = Date.UTC(2026, 0, 1);
  const row = (i: number, variant = 0): CatalogWorkflow => {
    const labels: Record<string, string> = { a: (i + variant) % 2 ? 'y' : 'x' };
    if (i % 3 < 2) labels.b = i % 3 ? 'q' : 'p';
    if (i < 150 || (i + variant) % 2) labels.c = 'on';
    const minute = i < 150 ? Math.floor(i / 3) : i;
    const at = new Date(base + minute * 60_000 + variant * 3_600_000).toISOString();
    return {
      manifestId: i.toString(16).padStart(64, '0'),
      uid: `uid-${i}`,
      namespace: 'ns',
      name: `wf-${i}`,
      phase: i % 7 ? 'Succeeded' : 'Failed',
      ...(i % 50 !== 7 && { finishedAt: at }),
      labels,
      incomplete: false,
      entries: 0,
      bytes: 0,
    };
  };
  const matches = (w: CatalogWorkflow, r: LabelRequirement) => {
    const v = w.labels[r.key];
    if (!('values' in r)) return r.op === 'exists' ? v !== undefined : v === undefined;
    return r.op === 'in' ? v !== undefined && r.values.includes(v) : v === undefined || !r.values.includes(v);
  };
  const atOf = (w: CatalogWorkflow) => (w.finishedAt ? Date.parse(w.finishedAt) : -1);
  const expected = (rows: CatalogWorkflow[], q: Omit<WorkflowPageQuery, 'limit'>) =>
    rows
      .filter((w) => (q.labels ?? []).every((r) => matches(w, r)))
      .filter((w) => !q.phases || q.phases.some((p) => p.toLowerCase() === w.phase!.toLowerCase()))
      .sort(
        (x, y) =>
          (q.sort === 'newest' ? atOf(y) - atOf(x) : atOf(x) - atOf(y)) || (x.manifestId < y.manifestId ? -1 : 1),
      )
      .map((w) => w.manifestId);
  const paged = async (c: Catalog, q: Omit<WorkflowPageQuery, 'limit'>, limit: number) => {
    const seen: string[] = [];
    let after: WorkflowPageQuery['after'];
    for (let pages = 0; pages < 700; pages++) {
      const page = await c.page({ ...q, limit, ...(after && { after }) });
      seen.push(...page.items.map((w) => w.manifestId));
      if (!page.last) return seen;
      after = page.last;
    }
    throw new Error('no last page');
  };

  test('a newest-first labelled page reads a few manifest rows, not every row its labels match', async () => {
    const { catalog } = await openPostgresCatalog(peer!.url, { schema: nextSchema() });
    const client = new pg.Client({ connectionString: peer!.url });
    await client.connect();
    const query = vi.spyOn(pg.Pool.prototype, 'query');
    try {
      const none = async function* () {};
      for (let i = 0; i < 1000; i++)
        await catalog.upsertManifest({ ...row(i), labels: { team: 'a', env: 'prod' } }, [], none());
      query.mockClear();
      const page = await catalog.page({
        sort: 'newest',
        limit: 5,
        labels: [
          { key: 'team', op: 'in', values: ['a'] },
          { key: 'env', op: 'in', values: ['prod'] },
        ],
      });
      expect(page.items.map((w) => w.name)).toEqual(['wf-999', 'wf-998', 'wf-997', 'wf-996', 'wf-995']);
      // The statements the page ran, explained as they ran: the manifest rows each plan node produced.
      let manifestRows = 0;
      for (const [text, values] of query.mock.calls as unknown as [string, unknown[]][]) {
        const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
        const visit = (n: PlanNode): void => {
          if (n['Relation Name'] === 'manifests') manifestRows += n['Actual Rows'] * n['Actual Loops'];
          for (const c of n.Plans ?? []) visit(c);
        };
        visit((rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan);
      }
      expect(manifestRows).toBeGreaterThan(0);
      expect(manifestRows).toBeLessThan(100);
    } finally {
      query.mockRestore();
      await client.end();
      await catalog.close();
    }
  }, 120_000);

  test('every page agrees with a plain filter and sort, after replacements and removals too', async () => {
    const { catalog } = await openPostgresCatalog(peer!.url, { schema: nextSchema() });
    try {
      const none = async function* () {};
      const rows = Array.from({ length: 600 }, (_, i) => row(i));
      for (const w of rows) await catalog.upsertManifest(w, [], none());
      // Replaced with other labels and another time, and removed: the walk sees only the current rows.
      for (let i = 0; i < 600; i += 29) {
        rows[i] = row(i, 1);
        await catalog.upsertManifest(rows[i]!, [], none());
      }
      const removed = new Set<number>();
      for (let i = 5; i < 600; i += 41) {
        await catalog.remove(rows[i]!.manifestId);
        removed.add(i);
      }
      const live = rows.filter((_, i) => !removed.has(i));
      const selectors: { labels: LabelRequirement[]; phases?: string[] }[] = [
        { labels: [{ key: 'a', op: 'in', values: ['x'] }] },
        {
          labels: [
            { key: 'a', op: 'in', values: ['x'] },
            { key: 'b', op: 'in', values: ['p'] },
          ],
        },
        {
          labels: [
            { key: 'a', op: 'in', values: ['x', 'y'] },
            { key: 'b', op: 'in', values: ['q', 'nope'] },
          ],
        },
        {
          labels: [
            { key: 'a', op: 'in', values: ['x'] },
            { key: 'c', op: 'in', values: ['on'] },
          ],
        },
        {
          labels: [
            { key: 'a', op: 'in', values: ['x'] },
            { key: 'a', op: 'in', values: ['y'] },
          ],
        },
        {
          labels: [
            { key: 'a', op: 'in', values: ['y'] },
            { key: 'b', op: 'notin', values: ['p'] },
          ],
        },
        {
          labels: [
            { key: 'b', op: 'exists' },
            { key: 'c', op: 'in', values: ['on'] },
            { key: 'a', op: 'in', values: ['y'] },
          ],
        },
        {
          labels: [
            { key: 'a', op: 'in', values: ['x'] },
            { key: 'b', op: 'in', values: ['nope'] },
          ],
        },
        { labels: [{ key: 'c', op: 'in', values: ['on'] }], phases: ['failed'] },
      ];
      // The simple query's label equality walks too (newest first).
      const equalities: Record<string, string>[] = [
        { a: 'x' },
        { a: 'x', b: 'p' },
        { a: 'x', c: 'on' },
        { a: 'y', b: 'nope' },
      ];
      for (const labels of equalities)
        for (const limit of [1, 7, 1000]) {
          const want = expected(live, {
            sort: 'newest',
            labels: Object.entries(labels).map(([key, v]) => ({ key, op: 'in', values: [v] })),
          }).slice(0, limit);
          const got = (await catalog.search({ labels, limit })).map((w) => w.manifestId);
          expect(got, `${JSON.stringify(labels)} by ${limit}`).toEqual(want);
        }
      for (const s of selectors)
        for (const sort of ['newest', 'oldest'] as const) {
          const q = { ...s, sort };
          const want = expected(live, q);
          for (const limit of [1, 7, 100])
            expect(await paged(catalog, q, limit), `${JSON.stringify(q)} by ${limit}`).toEqual(want);
        }
    } finally {
      await catalog.close();
    }
  }, 120_000);
});

describe.skipIf(skip !== undefined)('strata index with PostgreSQL as the catalog and SQLite beside it', () => {
  test('index writes both; query and search read PostgreSQL; a vanished manifest leaves both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-pg-cli-'));
    try {
      const store = new FileSystemStore(join(dir, 'repo'));
      const repo = await initRepository(store);
      const ids: string[] = [];
      for (const [i, log] of ['all green\n', 'step\nsegfault in worker 3\n'].entries()) {
        const uid = `00000000-0000-0000-0000-00000000000${i}`;
        const workflow = {
          metadata: { name: `wf-${i}`, namespace: 'agents', uid, labels: { team: `t${i}` } },
          status: { phase: i ? 'Failed' : 'Succeeded', finishedAt: `2026-11-0${i + 1}T10:00:00Z` },
        };
        const text = Buffer.from(log);
        const bundle = {
          uid,
          namespace: 'agents',
          name: `wf-${i}`,
          workflow,
          missing: [],
          entries: [
            {
              path: `logs/wf-${i}-a/main.log`,
              kind: 'log' as const,
              nodeId: `wf-${i}-a`,
              container: 'main',
              size: text.length,
              open: async () => Readable.from([text]),
            },
          ],
        };
        ids.push((await archiveBundle(repo, bundle)).manifestId);
      }
      const pgLocation = `${peer!.url.replace('strata@', 'strata:pw@')}?schema=cli_${process.pid}`;
      const sqliteFile = join(dir, 'also.db');
      const env = {
        ...process.env,
        STRATA_STORE: `file:${join(dir, 'repo')}`,
        STRATA_CATALOG: pgLocation,
        STRATA_CATALOG_ALSO: sqliteFile,
        STRATA_OUTPUT: 'json',
      };
      const run = promisify(execFile);
      const strata = async (...args: string[]) =>
        JSON.parse((await run(process.execPath, ['bin/strata.js', ...args], { cwd: repoRoot, env })).stdout);

      const indexed = await strata('index');
      expect(indexed).toMatchObject({ indexed: 2, manifests: 2, also: [{ catalog: sqliteFile, indexed: 2 }] });
      // The password never reaches the output.
      expect(indexed.catalog).toContain('strata:***@');
      expect(existsSync(sqliteFile)).toBe(true);
      const found = await strata('query', '--label', 'team=t1');
      expect(found.map((w: { manifestId: string }) => w.manifestId)).toEqual([ids[1]]);
      expect(await strata('search', 'segfault')).toMatchObject([{ nodeId: 'wf-1-a', line: 2 }]);

      await store.delete([manifestKey(ids[0]!)]);
      const after = await strata('index');
      expect(after).toMatchObject({ removed: 1, manifests: 1, also: [{ removed: 1, manifests: 1 }] });
      // Opened as the CLI opens them (the SQLite file in its default, compact layout).
      const { textFrom } = catalogTextOptions({}, () => store);
      for (const location of [pgLocation, sqliteFile]) {
        const { catalog, fresh } = await openCatalog(location, { ...(textFrom && { textFrom }) });
        expect(fresh, location).toBe(false);
        expect([...(await catalog.manifestIds())], location).toEqual([ids[1]]);
        await catalog.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
