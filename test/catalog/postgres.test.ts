// The PostgreSQL catalog against a real server on loopback (started here, stopped after): the shared contract, plus
// what only a shared catalog must get right (several indexers and readers at once, schema creation, rebuild).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { openPostgresCatalog } from '../../lib/catalog/postgres.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { pgSkipReason, startPostgres, type PgPeer } from '../support/pg-peer.ts';
import { contractCorpus, describeCatalogContract } from './contract.ts';

const skip = pgSkipReason();
if (skip) process.stderr.write(`PostgreSQL catalog suites skip: ${skip}\n`);

let peer: PgPeer | undefined;
beforeAll(async () => {
  if (!skip) peer = await startPostgres();
}, 120_000);
afterAll(async () => {
  await peer?.stop();
});

let schemas = 0;
const nextSchema = () => `contract_${process.pid}_${++schemas}`;

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
