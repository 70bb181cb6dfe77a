// The query service at scale (issue 16): a real `strata serve` process over the scale benchmark's SQLite catalog and a
// repository holding one generated ~100 MB workflow. Sequential latencies of list-with-filters and full-text search,
// time to the first byte of a log page of that workflow, and throughput under N concurrent clients measured by
// autocannon in its own process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { archiveBundle, initRepository } from '../../lib/archive/index.ts';
import type { WorkflowBundle } from '../../lib/bundle/bundle.ts';
import { repositoryManifestSource } from '../../lib/catalog/archive-source.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { DAY_MS, generatedLog, namespaceName, type ScaleCorpus } from './scale-corpus.ts';
import type { Latency, ScaleOptions } from './scale-bench.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOKEN = 'scale-bench-token';

export interface LoadResult {
  path: string;
  clients: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p97_5: number; p99: number };
  non2xx: number;
  errors: number;
  /** Answers by HTTP status (searches past the admission queue are 503/429 with Retry-After). */
  statusCodes: Record<string, number>;
  /** 2xx answers per second. */
  okPerSecond: number;
  /** Answered "come back later" (429 or 503 with Retry-After): refused, not timed out. */
  refused: number;
  /** Requests autocannon gave up on (no answer within its 10 s timeout). */
  timeouts: number;
  /** Sequential list requests from the bench process while this load ran: do other routes still answer? */
  listDuringLoad?: Latency & { samples: number };
}

export interface ServiceResult {
  workflowBytes: number;
  logBytes: number;
  list: Latency;
  /** Full-text search without a time range (the query service's unrestricted search). */
  search: Latency;
  /** Time to the first body byte of a 64 KiB page of the big workflow's largest log. */
  logFirstPage: Latency;
  logLastPage: Latency;
  load: LoadResult[];
}

interface Args {
  catalogFile: string;
  work: string;
  corpus: ScaleCorpus;
  opts: ScaleOptions;
}

export async function benchService({ catalogFile, work, corpus, opts }: Args): Promise<ServiceResult> {
  mkdirSync(work, { recursive: true });
  const big = await archiveBigWorkflow(work, catalogFile, opts.serviceLogBytes);
  writeFileSync(
    join(work, 'access.yaml'),
    `users:\n  - { username: bench, tokenSha256: ${createHash('sha256').update(TOKEN).digest('hex')} }\n` +
      `rules:\n  - { user: bench, verbs: ['*'], namespaces: ['*'] }\n`,
  );
  const server = await startServer(work, catalogFile, opts.clients);
  try {
    const end = corpus.shape.end.getTime();
    const listPath = (v: number) => {
      const to = end - ((v * 37) % Math.max(1, corpus.shape.days - 7)) * DAY_MS;
      return (
        `/api/v1/workflows?namespace=${namespaceName(v % 12)}&phase=Failed&limit=50` +
        `&finishedAfter=${new Date(to - 7 * DAY_MS).toISOString()}&finishedBefore=${new Date(to).toISOString()}`
      );
    };
    const WORDS = ['kraken', '"connection refused"', 'OOMKilled AND handshake', 'compaction OR snapshot', 'registr*'];
    const searchPath = (v: number) => `/api/v1/search?q=${encodeURIComponent(WORDS[v % WORDS.length]!)}&limit=20`;
    const logPath = `/api/v1/workflows/${big.manifestId}/nodes/${encodeURIComponent(big.nodeId)}/log?container=${encodeURIComponent(big.container)}`;
    const result: ServiceResult = {
      workflowBytes: big.workflowBytes,
      logBytes: big.logBytes,
      list: await timed(opts.runs, (v) => get(server.base, listPath(v), {}, 'end')),
      search: await timed(opts.runs, (v) => get(server.base, searchPath(v), {}, 'end')),
      logFirstPage: await timed(opts.runs, () => get(server.base, logPath, { range: 'bytes=0-65535' }, 'first')),
      logLastPage: await timed(opts.runs, () => get(server.base, logPath, { range: 'bytes=-65536' }, 'first')),
      load: [],
    };
    // The load's search: BENCH_SCALE_LOAD_SEARCH, or the rare word (cheap; common words rank many segments).
    const loadSearch = process.env.BENCH_SCALE_LOAD_SEARCH
      ? `/api/v1/search?q=${encodeURIComponent(process.env.BENCH_SCALE_LOAD_SEARCH)}&limit=20`
      : searchPath(0);
    result.load.push(await autocannon(server.base, listPath(3), opts.clients, opts.loadSeconds));
    // While the search load runs, the bench times list requests of its own: a search must not stall other routes.
    result.load.push(
      await withListTimes(
        server.base,
        listPath(5),
        autocannon(server.base, loadSearch, opts.clients, opts.loadSeconds),
      ),
    );
    await server.stop();
    // The same search load on a server that lets every search wait its turn (as before search admission), to
    // compare under the same machine load (BENCH_SCALE_SEARCH_UNLIMITED=0 skips it).
    if (process.env.BENCH_SCALE_SEARCH_UNLIMITED !== '0') {
      const unlimited = await startServer(work, catalogFile, opts.clients, [
        ...['--search-concurrency', '1000', '--search-queue', '100000', '--search-wait-ms', '3600000'],
      ]);
      try {
        const run = await withListTimes(
          unlimited.base,
          listPath(5),
          autocannon(unlimited.base, loadSearch, opts.clients, opts.loadSeconds),
        );
        result.load.push({ ...run, path: `${run.path} (no admission limits)` });
      } finally {
        await unlimited.stop();
      }
    }
    return result;
  } finally {
    await server.stop();
  }
}

/** Archives one workflow whose single pod wrote a log of `bytes` and adds it to the catalog: the log that is paged. */
async function archiveBigWorkflow(work: string, catalogFile: string, bytes: number) {
  const repo = await initRepository(new FileSystemStore(join(work, 'repo')));
  const name = 'scale-big';
  const nodeId = `${name}-1234567890`;
  const finishedAt = '2026-10-30T12:00:00Z';
  const workflow = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      name,
      namespace: namespaceName(0),
      uid: '00000000-0000-4000-8000-00000000b16b',
      labels: { team: 'big' },
    },
    status: {
      phase: 'Succeeded',
      startedAt: '2026-10-30T10:00:00Z',
      finishedAt,
      nodes: {
        [name]: { id: name, name, type: 'DAG', phase: 'Succeeded', children: [nodeId] },
        [nodeId]: {
          id: nodeId,
          name: `${name}.main`,
          displayName: 'main',
          type: 'Pod',
          phase: 'Succeeded',
          children: [],
        },
      },
    },
  };
  const bundle: WorkflowBundle = {
    uid: workflow.metadata.uid,
    namespace: workflow.metadata.namespace,
    name,
    workflow,
    entries: [
      {
        path: `logs/${nodeId}/main.log`,
        kind: 'log',
        nodeId,
        container: 'main',
        size: bytes,
        open: async () => generatedLog(0xb16, bytes, 1, Date.parse(finishedAt)),
      },
    ],
    missing: [],
  };
  const { manifestId } = await archiveBundle(repo, bundle);
  const { catalog } = openSqliteCatalog(catalogFile);
  try {
    const report = await indexCatalog(catalog, repositoryManifestSource(repo), { only: [manifestId] });
    if (report.problems.length) throw new Error(`indexing the big workflow: ${report.problems[0]!.message}`);
    const log = (await catalog.entries(manifestId)).find((e) => e.kind === 'log');
    return { manifestId, nodeId, container: 'main', workflowBytes: bytes, logBytes: log?.size ?? 0 };
  } finally {
    await catalog.close();
  }
}

async function startServer(
  work: string,
  catalogFile: string,
  clients: number,
  extra: string[] = [],
): Promise<{ base: string; stop(): Promise<void> }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  const proc: ChildProcess = spawn(
    process.execPath,
    [
      join(repoRoot, 'bin/strata.js'),
      'serve',
      ...['--store', `file:${join(work, 'repo')}`, '--catalog', catalogFile],
      ...['--listen', '127.0.0.1:0', '--access-file', join(work, 'access.yaml'), '--rate-limit', '0', '--no-ui'],
      // autocannon sends one token from every connection: let it stand for as many callers as it has clients, so
      // the run measures the server's search admission (queue, 503) rather than one caller's share (429).
      ...['--search-per-caller', String(clients)],
      ...extra,
    ],
    // The catalog is the stored layout (its rows' logs are not in this store): opened compact, it would be rebuilt.
    {
      cwd: work,
      env: { ...env, STRATA_ACTOR: 'bench', STRATA_CATALOG_TEXT: 'stored' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const base = await new Promise<string>((done, fail) => {
    let out = '';
    const onData = (b: Buffer) => {
      out = (out + b.toString()).slice(-8000);
      const m = /listening on ([\d.]+:\d+)/.exec(out);
      if (m) done(`http://${m[1]}`);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => fail(new Error(`strata serve exited ${code}: ${out}`)));
  });
  // Its output must keep draining, or a chatty server would block on a full pipe.
  proc.stdout!.resume();
  proc.stderr!.resume();
  return {
    base,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** One GET; resolves after the first body byte ('first') or the whole body ('end'), failing on a non-2xx answer. */
function get(base: string, path: string, headers: Record<string, string>, until: 'first' | 'end'): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(
      `${base}${path}`,
      { headers: { authorization: `Bearer ${TOKEN}`, ...headers }, agent: false },
      (res) => {
        let body = '';
        let n = 0;
        res.on('data', (b: Buffer) => {
          n += b.length;
          if (res.statusCode! >= 300 || until === 'end') body += b.toString();
          else if (until === 'first') {
            res.destroy();
            done(n);
          }
        });
        res.on('end', () => {
          if (res.statusCode! >= 300) fail(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 500)}`));
          else done(until === 'end' ? resultCount(body) : n);
        });
        res.on('error', () => {});
      },
    );
    req.on('error', fail);
    req.end();
  });
}

function resultCount(body: string): number {
  try {
    const parsed = JSON.parse(body) as { items?: unknown[]; hits?: unknown[] };
    return (parsed.items ?? parsed.hits ?? []).length;
  } catch {
    return 0;
  }
}

async function timed(runs: number, q: (v: number) => Promise<number>): Promise<Latency> {
  await q(0);
  await q(1);
  const times: number[] = [];
  let results = 0;
  for (let v = 0; v < runs; v++) {
    const t0 = performance.now();
    results += await q(v);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (p: number) => Number(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!.toFixed(2));
  return { p50: at(50), p95: at(95), results: Number((results / runs).toFixed(1)) };
}

/** Times list requests one after another until `load` ends, and adds them to its result. */
async function withListTimes(base: string, path: string, load: Promise<LoadResult>): Promise<LoadResult> {
  let running = true;
  const times: number[] = [];
  const sampling = (async () => {
    // Let the load reach its clients first.
    await new Promise((r) => setTimeout(r, 1000));
    while (running) {
      const t0 = performance.now();
      try {
        await get(base, path, {}, 'end');
        times.push(performance.now() - t0);
      } catch {
        times.push(performance.now() - t0); // an error answer still answered
      }
    }
  })();
  const result = await load.finally(() => (running = false));
  await sampling;
  times.sort((a, b) => a - b);
  const at = (p: number) =>
    Number((times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? 0).toFixed(2));
  return { ...result, listDuringLoad: { p50: at(50), p95: at(95), results: 0, samples: times.length } };
}

/** autocannon in its own process (the load generator must not share the server's or the bench's event loop). */
async function autocannon(base: string, path: string, clients: number, seconds: number): Promise<LoadResult> {
  const cli = join(repoRoot, 'node_modules/autocannon/autocannon.js');
  const child = spawn(
    process.execPath,
    [cli, '-c', String(clients), '-d', String(seconds), '-j', '-H', `authorization=Bearer ${TOKEN}`, `${base}${path}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const status = await new Promise<number | null>((done) => child.once('exit', done));
  if (status !== 0) throw new Error(`autocannon failed (${status}): ${stderr.slice(-2000)}`);
  const j = JSON.parse(stdout) as {
    duration: number;
    requests: { average: number };
    latency: { p50: number; p97_5: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
    '2xx'?: number;
    statusCodeStats?: Record<string, { count: number }>;
  };
  const statusCodes = Object.fromEntries(Object.entries(j.statusCodeStats ?? {}).map(([code, v]) => [code, v.count]));
  return {
    path: path.split('?')[0]!,
    clients,
    seconds: j.duration,
    requestsPerSecond: j.requests.average,
    latencyMs: { p50: j.latency.p50, p97_5: j.latency.p97_5, p99: j.latency.p99 },
    non2xx: j.non2xx,
    errors: j.errors,
    statusCodes,
    okPerSecond: Number(((j['2xx'] ?? 0) / Math.max(1, j.duration)).toFixed(2)),
    refused: (statusCodes['429'] ?? 0) + (statusCodes['503'] ?? 0),
    timeouts: j.timeouts,
  };
}

/** The service's part of the scale report, as a markdown table. */
export function serviceTable(s: ServiceResult): string {
  const row = (name: string, l: Latency) => `| ${name} | ${l.p50} | ${l.p95} |`;
  const lines = [
    '| query service | p50 ms | p95 ms |',
    '|---|---|---|',
    row('list with filters', s.list),
    row('full-text search, no time range', s.search),
    row('first byte, first 64 KiB page of the big log', s.logFirstPage),
    row('first byte, last 64 KiB page', s.logLastPage),
    '',
    '| load (autocannon) | clients | req/s | 2xx/s | refused (429/503) | timed out | errors | p50 / p97.5 ms | list meanwhile p50 / p95 ms |',
    '|---|---|---|---|---|---|---|---|---|',
    ...s.load.map(
      (l) =>
        `| ${l.path} | ${l.clients} | ${l.requestsPerSecond} | ${l.okPerSecond} | ${l.refused} | ${l.timeouts} | ` +
        `${l.errors} | ${l.latencyMs.p50} / ${l.latencyMs.p97_5} | ` +
        `${l.listDuringLoad ? `${l.listDuringLoad.p50} / ${l.listDuringLoad.p95} (${l.listDuringLoad.samples})` : '-'} |`,
    ),
  ];
  return lines.join('\n');
}
