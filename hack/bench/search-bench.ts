// Benchmark (not a test): the catalog's index size against the raw log text, and query latency, per backend —
// embedded SQLite and Elasticsearch 7.17 (the loopback node of hack/peers/elasticsearch.sh, when Java is here).
// Size: BENCH_SEARCH_MB of generated log text (default 40) over BENCH_SEARCH_WORKFLOWS workflows (default 400).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { openElasticsearchCatalog } from '../../lib/catalog/elasticsearch.ts';
import { indexCatalog, type IndexableManifest, type ManifestSource } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const WORDS = (
  'build step pull image layer cache hit miss compile module test passed failed retry connection refused timeout ' +
  'upstream registry token expired worker pod scheduled node memory cpu limit exceeded OOMKilled exit code ' +
  'download upload artifact bucket object checksum verified agent tool call response model prompt tokens ' +
  'database query rows migration lock acquired released warning error info debug panic goroutine thread'
).split(' ');
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
const NAMESPACES = ['agents', 'ci', 'data', 'docs', 'billing'];
const PHASES = ['Succeeded', 'Succeeded', 'Succeeded', 'Failed', 'Error'];

interface Corpus {
  source: ManifestSource;
  logBytes: number;
  workflows: number;
}

/** Workflows over 90 days with log lines of realistic shape: timestamps, levels, words, ids and numbers. */
function corpus(workflows: number, totalBytes: number, seed = 7): Corpus {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const manifests = new Map<string, IndexableManifest>();
  const logs = new Map<string, Buffer>();
  const perWorkflow = Math.floor(totalBytes / workflows);
  const start = Date.UTC(2026, 7, 1);
  let logBytes = 0;
  for (let i = 0; i < workflows; i++) {
    const id = i.toString(16).padStart(64, '0');
    const at = start + Math.floor(r() * 90 * 86_400_000);
    const lines: string[] = [];
    let size = 0;
    let t = at;
    while (size < perWorkflow) {
      t += Math.floor(r() * 2000);
      const words = Array.from({ length: 4 + Math.floor(r() * 10) }, () => pick(WORDS));
      if (r() < 0.3) words.push(`id=${Math.floor(r() * 2 ** 32).toString(16)}`);
      if (r() < 0.3) words.push(`took ${Math.floor(r() * 5000)}ms`);
      if (i % 97 === 0 && lines.length === 10) words.push('kraken unleashed');
      const line = `${new Date(t).toISOString().replace('Z', `${Math.floor(r() * 1e6)}Z`)} ${pick(LEVELS)} ${words.join(' ')}`;
      lines.push(line);
      size += line.length + 1;
    }
    const text = Buffer.from(lines.join('\n') + '\n');
    logBytes += text.length;
    const path = 'logs/main/main.log';
    logs.set(id, text);
    manifests.set(id, {
      id,
      uid: `uid-${i}`,
      namespace: pick(NAMESPACES),
      name: `wf-${i}`,
      createdAt: new Date(at + 60_000).toISOString(),
      group: 'g',
      incomplete: false,
      entries: [{ path, kind: 'log', nodeId: `wf-${i}-1`, container: 'main', size: text.length }],
      summary: {
        phase: pick(PHASES),
        startedAt: new Date(at - 600_000).toISOString(),
        finishedAt: new Date(at).toISOString(),
        labels: { team: pick(['red', 'blue', 'green']), 'workflow-type': pick(['play', 'ci', 'docs']) },
      },
    });
  }
  return {
    workflows,
    logBytes,
    source: {
      async *listManifestIds() {
        yield* manifests.keys();
      },
      async readManifest(id) {
        return manifests.get(id)!;
      },
      async openEntry(id) {
        return Readable.from([logs.get(id)!]);
      },
    },
  };
}

const QUERIES: Array<[string, (c: Catalog) => Promise<unknown>]> = [
  ['text: one word', (c) => c.searchText('kraken', { limit: 20 })],
  ['text: phrase', (c) => c.searchText('"connection refused"', { limit: 20 })],
  ['text: prefix', (c) => c.searchText('regis*', { limit: 20 })],
  [
    'text + time range + namespace',
    (c) =>
      c.searchText('timeout AND upstream', {
        limit: 20,
        namespace: 'ci',
        since: new Date(Date.UTC(2026, 8, 1)),
        until: new Date(Date.UTC(2026, 9, 1)),
      }),
  ],
  [
    'metadata: labels + phase, newest page',
    (c) =>
      c.page({
        sort: 'newest',
        limit: 50,
        phases: ['Failed'],
        labels: [{ key: 'team', op: 'in', values: ['red'] }],
      }),
  ],
];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(c: Catalog, runs: number): Promise<Record<string, { p50Ms: number; p95Ms: number }>> {
  const out: Record<string, { p50Ms: number; p95Ms: number }> = {};
  for (const [name, q] of QUERIES) {
    await q(c); // warm
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await q(c);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    out[name] = { p50Ms: Number(percentile(times, 50).toFixed(2)), p95Ms: Number(percentile(times, 95).toFixed(2)) };
  }
  return out;
}

interface BackendResult {
  backend: string;
  indexSeconds: number;
  indexMBps: number;
  indexBytes: number;
  /** Index size / raw log text. */
  indexRatio: number;
  latency: Record<string, { p50Ms: number; p95Ms: number }>;
  note?: string;
}

async function bench(
  backend: string,
  data: Corpus,
  open: () => Promise<Catalog>,
  size: (c: Catalog) => Promise<number>,
  runs: number,
): Promise<BackendResult> {
  const catalog = await open();
  try {
    const t0 = performance.now();
    const report = await indexCatalog(catalog, data.source);
    const seconds = (performance.now() - t0) / 1000;
    if (report.problems.length) throw new Error(`${backend}: ${JSON.stringify(report.problems.slice(0, 3))}`);
    const indexBytes = await size(catalog);
    return {
      backend,
      indexSeconds: Number(seconds.toFixed(2)),
      indexMBps: Number((data.logBytes / 1e6 / seconds).toFixed(2)),
      indexBytes,
      indexRatio: Number((indexBytes / data.logBytes).toFixed(4)),
      latency: await measure(catalog, runs),
    };
  } finally {
    await catalog.close();
  }
}

export async function runSearchBench(): Promise<Record<string, unknown>> {
  const mb = Number(process.env.BENCH_SEARCH_MB ?? 40);
  const workflows = Number(process.env.BENCH_SEARCH_WORKFLOWS ?? 400);
  const runs = Number(process.env.BENCH_SEARCH_RUNS ?? 30);
  const data = corpus(workflows, mb * 1e6);
  const work = mkdtempSync(join(process.env.BENCH_TMP ?? join(repoRoot, '.cache'), 'search-bench-'));
  const results: BackendResult[] = [];
  try {
    const file = join(work, 'catalog.db');
    results.push(
      await bench(
        'sqlite',
        data,
        async () => openSqliteCatalog(file).catalog,
        async () => {
          let n = 0;
          for (const f of [file, `${file}-wal`]) n += statSync(f, { throwIfNoEntry: false })?.size ?? 0;
          return n;
        },
        runs,
      ),
    );
    results.push(await benchElasticsearch(data, work, runs));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return {
    benchmark: 'catalog index size and query latency per backend',
    workflows: data.workflows,
    logMB: Number((data.logBytes / 1e6).toFixed(1)),
    runsPerQuery: runs,
    backends: results,
  };
}

async function benchElasticsearch(data: Corpus, work: string, runs: number): Promise<BackendResult> {
  const script = join(repoRoot, 'hack/peers/elasticsearch.sh');
  try {
    execFileSync('bash', [script, 'install'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    return skipped(`not installed: ${(err as Error).message}`);
  }
  const dir = join(work, 'es');
  let endpoint: string;
  try {
    endpoint = execFileSync('bash', [script, 'start', dir], {
      encoding: 'utf8',
      env: { ...process.env, STRATA_ES_OWNER: String(process.pid) },
    })
      .trim()
      .split('\n')
      .at(-1)!;
  } catch (err) {
    return skipped(`did not start: ${(err as Error).message}`);
  }
  try {
    return await bench(
      'elasticsearch-7.17.29',
      data,
      () => openElasticsearchCatalog({ node: endpoint, prefix: 'bench', replicas: 0, refresh: false }),
      async (c) => {
        const es = (c as Awaited<ReturnType<typeof openElasticsearchCatalog>>).client;
        // Deleted documents and unmerged segments are not the index's size: merge, then measure.
        await es.indices.forcemerge({ index: 'bench-*', max_num_segments: 1 });
        await es.indices.refresh({ index: 'bench-*' });
        const stats = await es.indices.stats({ index: 'bench-*', metric: 'store' });
        return stats._all.primaries?.store?.size_in_bytes ?? 0;
      },
      runs,
    );
  } finally {
    execFileSync('bash', [script, 'stop', dir]);
  }
}

function skipped(note: string): BackendResult {
  return {
    backend: 'elasticsearch-7.17.29',
    indexSeconds: 0,
    indexMBps: 0,
    indexBytes: 0,
    indexRatio: 0,
    latency: {},
    note,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runSearchBench(), null, 2));
}
