// Catalog benchmark (part of `npm run bench`): archives a generated corpus, indexes it into each catalog backend and
// reports the index size against the raw log text and the archive's stored size, indexing speed, and query
// latencies (p50/p95). `tsx hack/bench/catalog-bench.ts [--size 40MB] [--profile play]` runs it alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { initRepository, archiveBundle } from '../../lib/archive/index.ts';
import { isSourceProblem } from '../../lib/bundle/bundle.ts';
import { repositoryManifestSource } from '../../lib/catalog/archive-source.ts';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { openPostgresCatalog } from '../../lib/catalog/postgres.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { archiveSegmentReader } from '../../lib/catalog/segment-reader.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { generateCorpus, parseSize, type CorpusProfile } from '../corpus/generate.ts';

export interface CatalogBackendResult {
  backend: string;
  indexBytes: number;
  /** Index bytes / raw log text bytes (target ≤ 0.10 for the embedded index). */
  ratioToLogText: number;
  /** Index bytes / the archive's stored bytes (target < 1). */
  ratioToArchive: number;
  indexSeconds: number;
  indexMBps: number;
  /** Milliseconds per query shape. */
  queries: Record<string, { p50: number; p95: number; results: number }>;
  note?: string;
}

export interface CatalogBenchResult {
  profile: CorpusProfile;
  workflows: number;
  rawLogBytes: number;
  archiveStoredBytes: number;
  backends: CatalogBackendResult[];
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const d of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (d.isFile()) total += (await stat(join(d.parentPath, d.name))).size;
  return total;
}

const QUERIES: Record<string, (c: Catalog) => Promise<unknown>> = {
  'word (hits)': (c) => c.searchText('error', { limit: 20 }),
  'phrase (hits)': (c) => c.searchText('"cache miss"', { limit: 20 }),
  'prefix OR word (hits)': (c) => c.searchText('executo* OR panicked', { limit: 20 }),
  // The generated corpus finishes in January 2026.
  'phrase + time range (workflows)': (c) =>
    c.search({
      text: '"cache miss"',
      since: new Date('2026-01-01T00:00:00Z'),
      until: new Date('2026-02-01T00:00:00Z'),
      limit: 50,
    }),
  'phase + time range (page)': (c) =>
    c.page({
      sort: 'newest',
      limit: 50,
      phases: ['Failed', 'Succeeded'],
      finished: { from: new Date('2026-01-03T00:00:00Z') },
    }),
};

async function latencies(c: Catalog, runs = 15): Promise<CatalogBackendResult['queries']> {
  const out: CatalogBackendResult['queries'] = {};
  for (const [name, q] of Object.entries(QUERIES)) {
    const times: number[] = [];
    let results = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = await q(c);
      times.push(performance.now() - t0);
      results = Array.isArray(r) ? r.length : ((r as { items?: unknown[] }).items?.length ?? 0);
    }
    times.sort((a, b) => a - b);
    const at = (p: number) => Number(times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(2));
    out[name] = { p50: at(0.5), p95: at(0.95), results };
  }
  return out;
}

export async function runCatalogBench(
  opts: { size?: string; profile?: CorpusProfile; work?: string } = {},
): Promise<CatalogBenchResult> {
  const profile = opts.profile ?? 'play';
  const targetBytes = parseSize(opts.size ?? process.env.BENCH_CATALOG_SIZE ?? '40MB');
  const work = opts.work ?? mkdtempSync(join(tmpdir(), 'strata-catalog-bench-'));
  try {
    const exportDir = join(work, 'export');
    const workflows = Math.max(4, Math.round(targetBytes / (512 * 1024)));
    await generateCorpus({ dir: exportDir, workflows, seed: 11, profile, targetBytes });
    const source = openDirectorySource(exportDir);
    const repo = await initRepository(new FileSystemStore(join(work, 'repo')));
    for await (const id of source.list()) {
      if (isSourceProblem(id)) throw new Error(`corpus problem at ${id.where}: ${id.message}`);
      await archiveBundle(repo, await source.load(id));
    }
    const archiveStoredBytes = await dirSize(join(work, 'repo'));
    const manifests = repositoryManifestSource(repo);
    let rawLogBytes = 0;
    const backends: CatalogBackendResult[] = [];

    const measure = async (
      backend: string,
      open: () => Promise<Catalog>,
      size: () => Promise<number>,
      note?: string,
    ): Promise<void> => {
      const catalog = await open();
      const t0 = performance.now();
      const report = await indexCatalog(catalog, manifests);
      const indexSeconds = (performance.now() - t0) / 1000;
      if (report.problems.length) throw new Error(`${backend}: ${JSON.stringify(report.problems[0])}`);
      rawLogBytes = report.logBytes;
      const queries = await latencies(catalog);
      await catalog.close();
      const indexBytes = await size();
      backends.push({
        backend,
        indexBytes,
        ratioToLogText: Number((indexBytes / rawLogBytes).toFixed(4)),
        ratioToArchive: Number((indexBytes / archiveStoredBytes).toFixed(4)),
        indexSeconds: Number(indexSeconds.toFixed(2)),
        indexMBps: Number((rawLogBytes / 1e6 / indexSeconds).toFixed(2)),
        queries,
        ...(note !== undefined && { note }),
      });
    };

    const sqliteSize = (file: string) => async () => (await stat(file)).size;
    const stored = join(work, 'stored.db');
    await measure(
      'sqlite (FTS5 with positions, zstd text in the catalog)',
      async () => openSqliteCatalog(stored).catalog,
      sqliteSize(stored),
    );
    const compact = join(work, 'compact.db');
    await measure(
      'sqlite compact (FTS5 detail=none contentless, text read from the archive)',
      async () => openSqliteCatalog(compact, { textFrom: archiveSegmentReader(manifests) }).catalog,
      sqliteSize(compact),
    );

    const pgUrl = process.env.BENCH_PG_URL
      ? { url: process.env.BENCH_PG_URL, stop: async () => {} }
      : await startBenchPostgres();
    if (pgUrl) {
      const schema = `bench_${process.pid}`;
      await measure(
        'postgresql (jsonb GIN labels, position-free tsvector GIN, text in the table)',
        async () => (await openPostgresCatalog(pgUrl.url, { schema, reset: true })).catalog,
        async () => {
          const pg = (await import('pg')).default;
          const client = new pg.Client({ connectionString: pgUrl.url });
          await client.connect();
          const { rows } = await client.query<{ n: string }>(
            `SELECT sum(pg_total_relation_size(c.oid))::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
            [schema],
          );
          await client.end();
          return Number(rows[0]?.n ?? 0);
        },
      );
      await pgUrl.stop();
    }
    return { profile, workflows, rawLogBytes, archiveStoredBytes, backends };
  } finally {
    if (!opts.work) rmSync(work, { recursive: true, force: true });
  }
}

/** A throwaway PostgreSQL for the bench (the test peer), or undefined when PostgreSQL is not installed. */
async function startBenchPostgres(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  const peer = await import('../../test/support/pg-peer.ts');
  if (peer.pgSkipReason()) return undefined;
  return peer.startPostgres();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { size: { type: 'string' }, profile: { type: 'string' } },
  });
  const result = await runCatalogBench({
    ...(values.size !== undefined && { size: values.size }),
    ...(values.profile !== undefined && { profile: values.profile as CorpusProfile }),
  });
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
