// The scale benchmark (issues 16 and 17), a section of `npm run bench` that also runs alone
// (`npm run bench -- --only scale`, or `tsx hack/bench/scale-bench.ts`): generated catalog rows (default 1M) and log
// text (default 2 GB) indexed into each catalog backend through its own upsert, then p50/p95 of the issue's query
// shapes, indexing speed, index size, and the query service over the SQLite catalog (scale-service.ts).
// Sizes come from the environment (BENCH_SCALE_*, see scaleOptionsFromEnv); everything is generated from a seed.
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type { Catalog, CatalogWorkflow, ManifestUpsert } from '../../lib/catalog/catalog.ts';
import { openElasticsearchCatalog, type ElasticsearchCatalog } from '../../lib/catalog/elasticsearch.ts';
import { layout } from '../../lib/catalog/es-indices.ts';
import { openPostgresCatalog } from '../../lib/catalog/postgres.ts';
import {
  catalogWorkflow,
  logSegments,
  type IndexableManifest,
  type ManifestSource,
} from '../../lib/catalog/rebuild.ts';
import { archiveSegmentReader } from '../../lib/catalog/segment-reader.ts';
import { openSqliteCatalog, type SegmentReader } from '../../lib/catalog/sqlite.ts';
import { parseSize } from '../corpus/generate.ts';
import { DAY_MS, namespaceName, RETENTION, ScaleCorpus, teamName, TIERS, type ScaleShape } from './scale-corpus.ts';
import { bulkElasticsearch, bulkPostgres, bulkSqlite, createPeriodIndices } from './scale-bulk.ts';
import { benchService, serviceTable, type ServiceResult } from './scale-service.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ScaleOptions extends ScaleShape {
  backends: string[];
  /** Rows for Elasticsearch, whose per-manifest upsert (several requests each) is far slower to load. */
  esRows: number;
  /** Log text for Elasticsearch, whose upsert indexes ~0.5 MB/s here: every n-th logged row keeps its logs. */
  esLogBytes: number;
  runs: number;
  concurrency: number;
  /** Manifests per upsertManifests call (one commit), as `strata index` batches them; 1 = one per commit. */
  batch: number;
  service: boolean;
  serviceLogBytes: number;
  clients: number;
  loadSeconds: number;
  work: string;
  /** Where to write the results so far after each backend (a long run keeps what it measured). */
  partial?: string;
}

/** The defaults are the issues': 1M rows over a year, 2 GB of log text. */
export function scaleOptionsFromEnv(env = process.env): ScaleOptions {
  const rows = Number(env.BENCH_SCALE_ROWS ?? 1_000_000);
  return {
    seed: Number(env.BENCH_SCALE_SEED ?? 17),
    rows,
    esRows: Number(env.BENCH_SCALE_ES_ROWS ?? rows),
    logBytes: parseSize(env.BENCH_SCALE_LOG ?? '2GB'),
    esLogBytes: parseSize(env.BENCH_SCALE_ES_LOG ?? env.BENCH_SCALE_LOG ?? '2GB'),
    logBytesPerWorkflow: parseSize(env.BENCH_SCALE_LOG_PER_WORKFLOW ?? '256KB'),
    days: Number(env.BENCH_SCALE_DAYS ?? 365),
    end: new Date(env.BENCH_SCALE_END ?? '2026-11-01T00:00:00Z'),
    backends: (env.BENCH_SCALE_BACKENDS ?? 'sqlite,sqlite-compact,postgres,elasticsearch')
      .split(',')
      .map((b) => b.trim()),
    runs: Number(env.BENCH_SCALE_RUNS ?? 40),
    concurrency: Number(env.BENCH_SCALE_CONCURRENCY ?? 8),
    batch: Number(env.BENCH_SCALE_BATCH ?? 100),
    service: env.BENCH_SCALE_SERVICE !== '0',
    serviceLogBytes: parseSize(env.BENCH_SCALE_SERVICE_WORKFLOW ?? '100MB'),
    clients: Number(env.BENCH_SCALE_CLIENTS ?? 50),
    loadSeconds: Number(env.BENCH_SCALE_LOAD_SECONDS ?? 15),
    ...(env.BENCH_SCALE_PARTIAL !== undefined && { partial: env.BENCH_SCALE_PARTIAL }),
    work: env.BENCH_SCALE_DIR ?? join(env.BENCH_TMP ?? join(repoRoot, '.cache'), 'scale'),
  };
}

export interface Latency {
  p50: number;
  p95: number;
  /** Rows, hits or groups per run, on average (a query that finds nothing measures little). */
  results: number;
}

export interface BackendScaleResult {
  backend: string;
  rows: number;
  loadSeconds: { metadata: number; logs: number };
  /** Metadata-only rows per second through the adapter's own upsert (one manifest per transaction). */
  upsertRowsPerSecond: number;
  /** The same through upsertManifests, `batch` manifests per commit. */
  batchedRowsPerSecond: number;
  batch: number;
  /** Rows per second of the whole load (most metadata rows in bulk, see scale-bulk.ts). */
  rowsPerSecond: number;
  logBytes: number;
  /** Log text indexed per second while loading the rows that carry logs (their rows included). */
  indexMBps: number;
  /**
   * SQLite only (it indexes in this process): log text indexed per CPU second of this process, which the machine's
   * other load does not change as it does wall time.
   */
  indexMBpsPerCpuSecond?: number;
  /** The machine's 1-minute load average when the queries started (this box has 2 cores and is shared). */
  loadAverage: number;
  /** Everything the catalog stores: metadata rows, labels, entries and the full-text part. */
  indexBytes: number;
  /** The full-text part alone (segments and their index; Elasticsearch: the log indices). */
  textIndexBytes: number;
  /** Full-text part / raw log text (issue 17's target for the embedded index: ≤ 0.10). */
  indexRatio: number;
  queries: Record<string, Latency>;
  note?: string;
  error?: string;
}

export interface TargetCheck {
  target: string;
  value: number | null;
  met: boolean | null;
}

export interface ScaleReport {
  shape: Omit<ScaleOptions, 'work' | 'end' | 'partial'> & { end: string; loggedRows: number };
  generatorMBps: number;
  backends: BackendScaleResult[];
  service?: ServiceResult;
  targets: TargetCheck[];
}

const log = (m: string) => process.stderr.write(`bench [scale]: ${m}\n`);

/** Row number of a generated manifest id (its last 56 hex digits). */
const rowOf = (id: string) => parseInt(id.slice(8), 16);

function manifestSource(corpus: ScaleCorpus, logDir: string): ManifestSource {
  return {
    async *listManifestIds() {
      for (let i = 0; i < corpus.shape.rows; i++) yield corpus.row(i).id;
    },
    async readManifest(id) {
      return corpus.manifest(rowOf(id));
    },
    async openEntry(id, path) {
      return createReadStream(logFile(logDir, rowOf(id), path), { highWaterMark: 256 * 1024 });
    },
  };
}

const logFile = (dir: string, row: number, path: string) => join(dir, `${row}-${path.replaceAll('/', '_')}`);

/**
 * Writes every generated log to disk once, so that each backend's indexing time is its own and not the generator's
 * (the page cache serves them back). Returns the bytes written.
 */
async function writeLogs(corpus: ScaleCorpus, dir: string): Promise<{ bytes: number; seconds: number }> {
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  let bytes = 0;
  for (let i = 0; i < corpus.shape.rows; i++) {
    if (!corpus.isLogged(i)) continue;
    for (const e of corpus.manifest(i).entries) {
      if (e.kind !== 'log') continue;
      const out = createWriteStream(logFile(dir, i, e.path));
      const counted = async function* () {
        for await (const chunk of corpus.openLog(i, e.path)) {
          bytes += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      };
      await pipeline(counted(), out);
    }
  }
  return { bytes, seconds: (performance.now() - t0) / 1000 };
}

/** Runs `fn` over the given row numbers with `concurrency` in flight. */
async function each(
  rows: Iterable<number>,
  concurrency: number,
  fn: (i: number) => Promise<void>,
  progress: (done: number) => void,
): Promise<void> {
  const it = rows[Symbol.iterator]();
  let done = 0;
  const worker = async () => {
    for (let n = it.next(); !n.done; n = it.next()) {
      await fn(n.value);
      if (++done % 20_000 === 0) progress(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Runs `fn` over the batches with `concurrency` in flight (as `each` does for single rows). */
async function inLanes(
  batches: AsyncIterable<number[]>,
  concurrency: number,
  fn: (batch: number[]) => Promise<void>,
): Promise<void> {
  const it = batches[Symbol.asyncIterator]();
  const lane = async () => {
    for (let n = await it.next(); !n.done; n = await it.next()) await fn(n.value);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

function* range(n: number, keep: (i: number) => boolean): Generator<number> {
  for (let i = 0; i < n; i++) if (keep(i)) yield i;
}

/** Indexes rows [0, rows) through the catalog's upsert: first those without logs, then those with (timed apart). */
async function load(
  catalog: Catalog,
  corpus: ScaleCorpus,
  logDir: string,
  b: Backend,
  concurrency: number,
  batchSize: number,
): Promise<{
  metadata: number;
  logs: number;
  logBytes: number;
  logCpu: number;
  upsertRowsPerSecond: number;
  batchedRowsPerSecond: number;
}> {
  const { rows, name: backend } = b;
  const source = manifestSource(corpus, logDir);
  let logBytes = 0;
  const item = (i: number): ManifestUpsert => {
    const m = corpus.manifest(i);
    const counted = async function* () {
      for await (const s of logSegments(source, m)) {
        logBytes += Buffer.byteLength(s.text);
        yield s;
      }
    };
    return { workflow: catalogWorkflow(m, m.summary!), entries: m.entries, segments: counted() };
  };
  const upsert = async (i: number) => {
    const { workflow, entries, segments } = item(i);
    await catalog.upsertManifest(workflow, entries, segments);
  };
  // As `strata index` writes: `batchSize` manifests per upsertManifests call, read one after another.
  const upsertBatch = async (batch: number[]) => {
    const outcomes = await catalog.upsertManifests(
      (async function* () {
        for (const i of batch) yield item(i);
      })(),
    );
    const failed = outcomes.find((o) => o.error !== undefined);
    if (failed) throw failed.error;
  };
  const batched = async function* (it: Iterable<number>) {
    let batch: number[] = [];
    for (const i of it) {
      batch.push(i);
      if (batch.length < batchSize) continue;
      yield batch;
      batch = [];
    }
    if (batch.length) yield batch;
  };
  const t0 = performance.now();
  // Fewer rows than generated (Elasticsearch): every stride-th row, so they still span the whole time range.
  const stride = rowStride(corpus, rows);
  const kept = (i: number) => i % stride === 0;
  const withLogs = (i: number) => kept(i) && corpus.isLogged(i) && (i / corpus.logEvery) % b.logStride === 0;
  const metadataRows = range(corpus.shape.rows, (i) => kept(i) && !withLogs(i));
  const upsertSample = b.upsertSample ?? 2000;
  let single = { rows: 0, seconds: 0 };
  let inBatches = { rows: 0, seconds: 0 };
  if (b.bulk) {
    // The adapter's own upsert on a sample first, one manifest per commit then in batches (its rows/s), then the
    // rest many rows at a time.
    const take = (n: number) => {
      const sample: number[] = [];
      // next() by hand: a for-of that breaks would close the generator.
      for (let r = metadataRows.next(); !r.done && sample.push(r.value) < n; r = metadataRows.next());
      return sample;
    };
    const timed = async (sample: number[], run: () => Promise<void>) => {
      const s0 = performance.now();
      await run();
      return { rows: sample.length, seconds: (performance.now() - s0) / 1000 };
    };
    const ones = take(upsertSample / 2);
    single = await timed(ones, () => each(ones, concurrency, upsert, () => {}));
    const many = take(upsertSample / 2);
    inBatches = await timed(many, () => inLanes(batched(many), concurrency, upsertBatch));
    let batch: number[] = [];
    let done = 0;
    const flush = async () => {
      await b.bulk!(batch.map((i) => corpus.manifest(i)));
      if (Math.floor((done + batch.length) / 100_000) > Math.floor(done / 100_000))
        log(`${backend}: ${done + batch.length} metadata rows`);
      done += batch.length;
      batch = [];
    };
    for (const i of metadataRows) if (batch.push(i) >= 2000) await flush();
    if (batch.length) await flush();
  } else await each(metadataRows, concurrency, upsert, (n) => log(`${backend}: ${n} metadata rows`));
  const t1 = performance.now();
  const cpu0 = process.cpuUsage();
  let logged = 0;
  await inLanes(batched(range(corpus.shape.rows, withLogs)), concurrency, async (batch) => {
    await upsertBatch(batch);
    if (Math.floor((logged + batch.length) / 2000) > Math.floor(logged / 2000))
      log(`${backend}: ${logged + batch.length} logged rows`);
    logged += batch.length;
  });
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const metadata = (t1 - t0) / 1000;
  const perSecond = (x: { rows: number; seconds: number }) =>
    x.rows ? x.rows / x.seconds : (rows - corpus.loggedRows) / metadata;
  return {
    metadata,
    logs: (t2 - t1) / 1000,
    logBytes,
    logCpu: (cpu.user + cpu.system) / 1e6,
    upsertRowsPerSecond: perSecond(single),
    batchedRowsPerSecond: perSecond(inBatches),
  };
}

/** The issue's query shapes, each with a few variants cycled through so that no single answer stays cached. */
function queries(c: Catalog, corpus: ScaleCorpus): Record<string, (v: number) => Promise<number>> {
  const end = corpus.shape.end.getTime();
  const days = corpus.shape.days;
  const window = (v: number, len: number) => {
    const to = end - ((v * 37) % Math.max(1, days - len)) * DAY_MS;
    return { from: new Date(to - len * DAY_MS), to: new Date(to) };
  };
  // Whole UTC days, as countByDay takes them.
  const wholeDays = (w: { from: Date; to: Date }) => ({
    from: new Date(Math.floor(w.from.getTime() / DAY_MS) * DAY_MS),
    to: new Date(Math.floor(w.to.getTime() / DAY_MS) * DAY_MS),
  });
  const TEXT = ['kraken', '"connection refused"', 'OOMKilled AND handshake', 'compaction OR snapshot', 'registr*'];
  return {
    'time range + namespace + phase': async (v) =>
      (
        await c.page({
          sort: 'newest',
          limit: 50,
          namespaces: [namespaceName(v % 12)],
          phases: ['Failed'],
          finished: window(v, 7),
        })
      ).items.length,
    'label containment': async (v) =>
      (
        await c.page({
          sort: 'newest',
          limit: 50,
          labels: [
            { key: 'team', op: 'in', values: [teamName(v % 25)] },
            { key: 'env', op: 'in', values: ['prod'] },
          ],
        })
      ).items.length,
    'retention policy + tier': async (v) =>
      (
        await c.page({
          sort: 'newest',
          limit: 50,
          labels: [
            { key: 'strata.dev/retention', op: 'in', values: [RETENTION[v % RETENTION.length]![0]] },
            { key: 'strata.dev/tier', op: 'in', values: [TIERS[(v >> 2) % TIERS.length]!] },
          ],
        })
      ).items.length,
    'full text + time range (30 days)': async (v) => {
      const w = window(v, 30);
      return (await c.searchText(TEXT[v % TEXT.length]!, { since: w.from, until: w.to, limit: 20 })).length;
    },
    'count by phase per day (30 days)': async (v) => (await c.countByDay(wholeDays(window(v, 30)))).length,
    'count by phase per day (all rows)': async () => (await c.countByDay({})).length,
  };
}

/** Rows written in bulk read back through the adapter as the upserted ones do (else the bulk writer drifted). */
const rowStride = (corpus: ScaleCorpus, rows: number) => Math.max(1, Math.floor(corpus.shape.rows / rows));

async function sameAsUpserted(catalog: Catalog, corpus: ScaleCorpus, rows: number): Promise<void> {
  const stride = rowStride(corpus, rows);
  for (const i of [1, Math.floor(rows / 2) + 1, rows - 1].map((k) => k * stride)) {
    if (corpus.isLogged(i)) continue;
    const m = corpus.manifest(i);
    // Label order is not part of a row.
    const canonical = (w: CatalogWorkflow | undefined) =>
      w && JSON.stringify({ ...w, labels: Object.fromEntries(Object.entries(w.labels).sort()) });
    const want = canonical(catalogWorkflow(m, m.summary!));
    const [got] = await catalog.get(m.id);
    if (canonical(got) !== want)
      throw new Error(`bulk-loaded row ${i} reads back as ${JSON.stringify(got)}, want ${want}`);
    const entries = (es: object[]) => JSON.stringify(es.map((e) => Object.fromEntries(Object.entries(e).sort())));
    if (entries(await catalog.entries(m.id)) !== entries(m.entries))
      throw new Error(`bulk-loaded row ${i} has other entries than ${entries(m.entries)}`);
  }
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latencies(
  qs: Record<string, (v: number) => Promise<number>>,
  runs: number,
): Promise<Record<string, Latency>> {
  const out: Record<string, Latency> = {};
  for (const [name, q] of Object.entries(qs)) {
    await q(0);
    await q(1); // warm
    const times: number[] = [];
    let results = 0;
    for (let v = 0; v < runs; v++) {
      const t0 = performance.now();
      results += await q(v);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    out[name] = {
      p50: Number(percentile(times, 50).toFixed(2)),
      p95: Number(percentile(times, 95).toFixed(2)),
      results: Number((results / runs).toFixed(1)),
    };
    log(`  ${name}: p50 ${out[name].p50} ms, p95 ${out[name].p95} ms`);
  }
  return out;
}

interface Backend {
  name: string;
  rows: number;
  /** Metadata rows loaded through the upsert before the bulk loader takes over (default 2000). */
  upsertSample?: number;
  /** Only every n-th row with logs is indexed with its logs (the others as metadata rows): 1 = all of them. */
  logStride: number;
  open(): Promise<Catalog>;
  /** Index size (all, and the full-text part), measured once the catalog is closed (SQLite) or flushed (servers). */
  size(): Promise<{ total: number; text: number }>;
  stop(): Promise<void>;
  /** Writes metadata-only rows many at a time (scale-bulk.ts); without it they go through the upsert too. */
  bulk?(manifests: IndexableManifest[]): Promise<void>;
  /** Makes what was loaded searchable (Elasticsearch loads without refreshing). */
  afterLoad?(): Promise<void>;
  note?: string;
}

async function measureBackend(
  b: Backend,
  corpus: ScaleCorpus,
  logDir: string,
  opts: ScaleOptions,
): Promise<BackendScaleResult> {
  const catalog = await b.open();
  log(`${b.name}: loading ${b.rows} rows …`);
  const embedded = b.name.startsWith('sqlite');
  const loaded = await load(catalog, corpus, logDir, b, embedded ? 1 : opts.concurrency, opts.batch);
  log(
    `${b.name}: loaded in ${(loaded.metadata + loaded.logs).toFixed(1)} s ` +
      `(${(loaded.logBytes / 1e6 / loaded.logs).toFixed(1)} MB/s of log text); querying …`,
  );
  const result: BackendScaleResult = {
    backend: b.name,
    rows: b.rows,
    loadSeconds: { metadata: Number(loaded.metadata.toFixed(1)), logs: Number(loaded.logs.toFixed(1)) },
    upsertRowsPerSecond: Math.round(loaded.upsertRowsPerSecond),
    batchedRowsPerSecond: Math.round(loaded.batchedRowsPerSecond),
    batch: opts.batch,
    rowsPerSecond: Math.round(b.rows / (loaded.metadata + loaded.logs)),
    logBytes: loaded.logBytes,
    indexMBps: Number((loaded.logBytes / 1e6 / loaded.logs).toFixed(2)),
    ...(embedded && { indexMBpsPerCpuSecond: Number((loaded.logBytes / 1e6 / loaded.logCpu).toFixed(2)) }),
    loadAverage: Number(loadavg()[0]!.toFixed(1)),
    indexBytes: 0,
    textIndexBytes: 0,
    indexRatio: 0,
    queries: {},
    ...(b.note !== undefined && { note: b.note }),
  };
  try {
    await b.afterLoad?.();
    if (b.bulk) await sameAsUpserted(catalog, corpus, b.rows);
    result.queries = await latencies(queries(catalog, corpus), opts.runs);
  } finally {
    await catalog.close();
  }
  const size = await b.size();
  result.indexBytes = size.total;
  result.textIndexBytes = size.text;
  result.indexRatio = Number((size.text / Math.max(1, loaded.logBytes)).toFixed(4));
  return result;
}

/** `textFrom`: the compact catalog (FTS5 detail=none, no copy of the text; hits confirmed from the logs). */
function sqliteBackend(file: string, rows: number, textFrom?: SegmentReader): Backend {
  let db: Database.Database | undefined;
  let writer: Database.Database | undefined;
  return {
    name: textFrom ? 'sqlite-compact' : 'sqlite',
    rows,
    logStride: 1,
    note: textFrom
      ? 'compact: FTS5 detail=none contentless, segment text read back from the logs (STRATA_CATALOG_TEXT=archive)'
      : 'FTS5 with positions over zstd-compressed segment text (the default, stored mode)',
    async open() {
      rmSync(file, { force: true });
      return openSqliteCatalog(file, textFrom ? { textFrom } : {}).catalog;
    },
    async bulk(manifests) {
      if (!writer) {
        writer = new Database(file);
        writer.pragma('busy_timeout = 30000');
        // Random manifest ids land all over the label and entry B-trees: keep them in memory while loading.
        writer.pragma('cache_size = -262144');
      }
      bulkSqlite(writer, manifests);
    },
    async size() {
      db?.close();
      writer?.close();
      writer = undefined;
      db = new Database(file, { readonly: true });
      const text = db
        .prepare(
          `SELECT coalesce(sum(pgsize), 0) FROM dbstat
           WHERE name = 'segments' OR name LIKE 'segments\\_%' ESCAPE '\\' OR name LIKE 'log\\_fts%' ESCAPE '\\'`,
        )
        .pluck()
        .get() as number;
      db.close();
      db = undefined;
      const total = ['', '-wal'].reduce((n, s) => n + (statSync(file + s, { throwIfNoEntry: false })?.size ?? 0), 0);
      return { total, text };
    },
    async stop() {
      db?.close();
      writer?.close();
    },
  };
}

async function postgresBackend(rows: number): Promise<Backend | string> {
  const peer = await import('../../test/support/pg-peer.ts');
  const skip = peer.pgSkipReason();
  if (skip) return skip;
  const server = await peer.startPostgres({ shared_buffers: '512MB', work_mem: '32MB', max_wal_size: '4GB' });
  const schema = 'scale_bench';
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  return {
    name: 'postgresql',
    rows,
    logStride: 1,
    note: `${server.server}, shared_buffers 512MB, fsync off (a disposable peer)`,
    async open() {
      const { catalog } = await openPostgresCatalog(server.url, { schema, reset: true, poolSize: 8 });
      return catalog;
    },
    bulk: (manifests) => bulkPostgres(client, schema, manifests),
    async size() {
      await client.query(`VACUUM ANALYZE ${schema}.manifests`);
      const { rows: r } = await client.query<{ n: string; t: string }>(
        `SELECT sum(pg_total_relation_size(c.oid))::text AS n,
                sum(pg_total_relation_size(c.oid)) FILTER (WHERE c.relname = 'segments')::text AS t
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
        [schema],
      );
      return { total: Number(r[0]?.n ?? 0), text: Number(r[0]?.t ?? 0) };
    },
    async stop() {
      await client.end();
      await server.stop();
    },
  };
}

async function elasticsearchBackend(
  dir: string,
  rows: number,
  from: number,
  to: number,
  logStride: number,
): Promise<Backend | string> {
  const script = join(repoRoot, 'hack/peers/elasticsearch.sh');
  try {
    execFileSync('bash', [script, 'install'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    return `not installed: ${(err as Error).message}`;
  }
  let endpoint: string;
  try {
    endpoint = execFileSync('bash', [script, 'start', dir], {
      encoding: 'utf8',
      env: { ...process.env, STRATA_ES_OWNER: String(process.pid), STRATA_ES_HEAP: process.env.STRATA_ES_HEAP ?? '1g' },
    })
      .trim()
      .split('\n')
      .at(-1)!;
  } catch (err) {
    return `did not start: ${(err as Error).message}`;
  }
  const prefix = 'scale';
  let es: ElasticsearchCatalog | undefined;
  const client = async () => {
    es ??= await openElasticsearchCatalog({ node: endpoint, prefix, replicas: 0, refresh: false });
    return es.client;
  };
  return {
    name: 'elasticsearch-7.17.29',
    rows,
    upsertSample: 200,
    logStride,
    note: '1 node, 1 GiB heap, replicas 0, refresh off while loading',
    async open() {
      const c = await openElasticsearchCatalog({ node: endpoint, prefix, replicas: 0, refresh: false });
      await createPeriodIndices(c.client, prefix, from, to);
      return c;
    },
    bulk: async (manifests) => bulkElasticsearch(await client(), prefix, manifests),
    async afterLoad() {
      await (await client()).indices.refresh({ index: `${prefix}-*` });
    },
    async size() {
      const c = await client();
      await c.indices.flush({ index: `${prefix}-*` });
      const bytes = async (index: string) =>
        (await c.indices.stats({ index, metric: 'store' }))._all.primaries?.store?.size_in_bytes ?? 0;
      return { total: await bytes(`${prefix}-*`), text: await bytes(`${layout(prefix).logs}-*`) };
    },
    async stop() {
      await es?.close();
      execFileSync('bash', [script, 'stop', dir]);
    },
  };
}

export function scaleTargets(backends: BackendScaleResult[], service?: ServiceResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  const judged = (target: string, value: number | undefined, limit: number, atLeast = false) =>
    out.push({
      target,
      value: value ?? null,
      met: value === undefined ? null : atLeast ? value >= limit : value <= limit,
    });
  for (const b of backends) {
    if (b.error) continue;
    for (const [name, q] of Object.entries(b.queries)) {
      const text = name.startsWith('full text');
      judged(`${b.backend}: ${name} p95 <= ${text ? 300 : 50} ms`, q.p95, text ? 300 : 50);
    }
  }
  for (const e of backends.filter((b) => b.backend.startsWith('sqlite') && !b.error)) {
    judged(`${e.backend}: indexing >= 50 MB/s of log text`, e.indexMBps, 50, true);
    judged(`${e.backend}: full-text index <= 0.10x the raw log text`, e.indexRatio, 0.1);
  }
  if (service) {
    judged('service: list with filters p95 <= 50 ms', service.list.p95, 50);
    judged('service: full-text search p95 <= 300 ms', service.search.p95, 300);
    judged('service: first byte of a log page (first page) <= 200 ms', service.logFirstPage.p95, 200);
    judged('service: first byte of a log page (last page) <= 200 ms', service.logLastPage.p95, 200);
  }
  return out;
}

export async function runScaleBench(opts: ScaleOptions = scaleOptionsFromEnv()): Promise<ScaleReport> {
  const corpus = new ScaleCorpus(opts);
  rmSync(opts.work, { recursive: true, force: true });
  mkdirSync(opts.work, { recursive: true });
  log(
    `${opts.rows} rows over ${opts.days} days, ${corpus.loggedRows} of them with ` +
      `${(opts.logBytesPerWorkflow / 1024).toFixed(0)} KiB of logs (${(opts.logBytes / 1e9).toFixed(2)} GB)`,
  );
  const logDir = join(opts.work, 'logs');
  const written = await writeLogs(corpus, logDir);
  const generatorMBps = Number((written.bytes / 1e6 / written.seconds).toFixed(1));
  log(`generated ${(written.bytes / 1e6).toFixed(0)} MB of logs at ${generatorMBps} MB/s`);
  const backends: BackendScaleResult[] = [];
  let service: ServiceResult | undefined;
  const sqliteFile = join(opts.work, 'catalog.db');
  try {
    for (const name of opts.backends) {
      const started = Date.now();
      const made =
        name === 'sqlite'
          ? sqliteBackend(sqliteFile, opts.rows)
          : name === 'sqlite-compact'
            ? sqliteBackend(
                join(opts.work, 'compact.db'),
                opts.rows,
                archiveSegmentReader(manifestSource(corpus, logDir)),
              )
            : name === 'postgres'
              ? await postgresBackend(opts.rows)
              : name === 'elasticsearch'
                ? await elasticsearchBackend(
                    join(opts.work, 'es'),
                    Math.min(opts.rows, opts.esRows),
                    corpus.startMs - 2 * DAY_MS,
                    opts.end.getTime(),
                    Math.max(1, Math.round(opts.logBytes / Math.max(1, opts.esLogBytes))),
                  )
                : `unknown backend ${name} (known: sqlite, sqlite-compact, postgres, elasticsearch)`;
      if (typeof made === 'string') {
        log(`${name}: skipped: ${made}`);
        backends.push(skippedBackend(name, made));
        continue;
      }
      try {
        backends.push(await measureBackend(made, corpus, logDir, opts));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log(`${name} failed: ${message}`);
        backends.push(skippedBackend(made.name, message));
      } finally {
        await made.stop();
      }
      log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      // The query service runs over the stored SQLite catalog as soon as that exists (and before the slow peers).
      if (name === 'sqlite' && opts.service && !backends.at(-1)?.error) {
        log('query service over the SQLite catalog …');
        try {
          service = await benchService({ catalogFile: sqliteFile, work: join(opts.work, 'service'), corpus, opts });
        } catch (err) {
          log(`service failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        }
      }
      if (opts.partial) writeFileSync(opts.partial, JSON.stringify({ backends, service }, null, 2) + '\n');
    }
  } finally {
    rmSync(opts.work, { recursive: true, force: true });
  }
  const { work: _work, partial: _partial, end, ...shape } = opts;
  return {
    shape: { ...shape, end: end.toISOString(), loggedRows: corpus.loggedRows },
    generatorMBps,
    backends,
    ...(service && { service }),
    targets: scaleTargets(backends, service),
  };
}

function skippedBackend(backend: string, error: string): BackendScaleResult {
  return {
    backend,
    rows: 0,
    loadSeconds: { metadata: 0, logs: 0 },
    upsertRowsPerSecond: 0,
    batchedRowsPerSecond: 0,
    batch: 0,
    rowsPerSecond: 0,
    logBytes: 0,
    indexMBps: 0,
    loadAverage: 0,
    indexBytes: 0,
    textIndexBytes: 0,
    indexRatio: 0,
    queries: {},
    error,
  };
}

/** The report as a Markdown table (docs/benchmark.md keeps one). */
export function scaleTable(r: ScaleReport): string {
  const names = [...new Set(r.backends.flatMap((b) => Object.keys(b.queries)))];
  const ok = r.backends.filter((b) => !b.error);
  const lines = [
    `| measure | ${ok.map((b) => b.backend).join(' | ')} |`,
    `|---|${ok.map(() => '---').join('|')}|`,
    `| rows | ${ok.map((b) => b.rows.toLocaleString('en')).join(' | ')} |`,
    `| rows/s through the adapter's upsert | ${ok.map((b) => b.upsertRowsPerSecond).join(' | ')} |`,
    `| rows/s through upsertManifests, ${ok[0]?.batch ?? 0} per commit | ${ok.map((b) => b.batchedRowsPerSecond).join(' | ')} |`,
    `| load (metadata rows / rows with logs) s | ${ok.map((b) => `${b.loadSeconds.metadata} / ${b.loadSeconds.logs}`).join(' | ')} |`,
    `| indexing MB/s of log text (per CPU second) | ${ok.map((b) => `${b.indexMBps}${b.indexMBpsPerCpuSecond ? ` (${b.indexMBpsPerCpuSecond})` : ''}`).join(' | ')} |`,
    `| load average while querying (2 cores) | ${ok.map((b) => b.loadAverage).join(' | ')} |`,
    `| catalog size MB, all | ${ok.map((b) => (b.indexBytes / 1e6).toFixed(0)).join(' | ')} |`,
    `| full-text part MB (× raw log text) | ${ok.map((b) => `${(b.textIndexBytes / 1e6).toFixed(0)} (${b.indexRatio})`).join(' | ')} |`,
    ...names.map(
      (n) =>
        `| ${n}: p50 / p95 ms | ${ok.map((b) => (b.queries[n] ? `${b.queries[n].p50} / ${b.queries[n].p95}` : '-')).join(' | ')} |`,
    ),
  ];
  return lines.join('\n') + (r.service ? `\n\n${serviceTable(r.service)}` : '');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await runScaleBench();
  process.stdout.write(JSON.stringify(report, null, 2) + '\n\n' + scaleTable(report) + '\n');
}
