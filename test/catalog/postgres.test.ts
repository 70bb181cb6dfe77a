// The PostgreSQL catalog against a real server on loopback (started here, stopped after): the shared contract, plus
// what only a shared catalog must get right (several indexers and readers at once, schema creation, rebuild).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { archiveBundle, initRepository } from '../../lib/archive/index.ts';
import { manifestKey } from '../../lib/archive/repository.ts';
import { catalogTextOptions, openCatalog } from '../../lib/catalog/open.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { openPostgresCatalog } from '../../lib/catalog/postgres.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { pgSkipReason, startPostgres, type PgPeer } from '../support/pg-peer.ts';
import { contractCorpus, describeCatalogContract } from './contract.ts';

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
