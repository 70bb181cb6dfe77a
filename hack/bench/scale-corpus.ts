// The scale benchmark's data: catalog rows and log text generated from (seed, row number) alone, so any row can be
// rebuilt at any time, nothing is held in memory, and two runs with the same seed produce the same bytes.
// Rows spread evenly over `days` (with a weekday rhythm), label values follow skewed (Zipf-like) distributions of
// realistic cardinality, and every `logEvery`-th row carries pod logs whose text is streamed, never buffered whole.
import { Readable } from 'node:stream';
import type { CatalogEntry } from '../../lib/catalog/catalog.ts';
import type { IndexableManifest } from '../../lib/catalog/rebuild.ts';

export interface ScaleShape {
  seed: number;
  rows: number;
  /** Total log text over the rows that carry logs (bytes). */
  logBytes: number;
  /** Log text per logged workflow (bytes), split over its pods. */
  logBytesPerWorkflow: number;
  /** The rows' finish times spread over this many days, ending at `end`. */
  days: number;
  end: Date;
}

export const DAY_MS = 86_400_000;

/** 32-bit mixing (the splitmix/murmur finalizer): the same (seed, n) always gives the same number. */
function mix(seed: number, n: number): number {
  let h = (Math.imul(n ^ 0x9e3779b9, 0x85ebca6b) ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A small fast generator (mulberry32) for the stream of one log. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Index into a list of n values where value k is about 1/(k+1) as frequent as the first (a Zipf-like skew). */
function skewed(u: number, n: number): number {
  return Math.min(n - 1, Math.floor(Math.pow(n + 1, u)) - 1);
}

export const NAMESPACE_COUNT = 60;
export const TEAM_COUNT = 40;
const TEMPLATE_COUNT = 800;
const APP_COUNT = 300;
const ENVS = ['prod', 'staging', 'dev'] as const;
/** Retention classes (as policies name them) and how often each occurs, per mille. */
export const RETENTION = [
  ['standard', 700],
  ['short', 200],
  ['audit-7y', 70],
  ['legal', 30],
] as const;
export const TIERS = ['hot', 'warm', 'cold', 'archive'] as const;

export const namespaceName = (k: number) => `ns-${String(k).padStart(2, '0')}`;
export const teamName = (k: number) => `team-${String(k).padStart(2, '0')}`;

/** What the queries need to know about a row without building it. */
export interface ScaleRow {
  index: number;
  id: string;
  namespace: string;
  phase: 'Succeeded' | 'Failed' | 'Error';
  finishedMs: number;
  logged: boolean;
}

export class ScaleCorpus {
  readonly logEvery: number;
  readonly loggedRows: number;
  readonly startMs: number;

  constructor(readonly shape: ScaleShape) {
    this.loggedRows = Math.max(0, Math.min(shape.rows, Math.round(shape.logBytes / shape.logBytesPerWorkflow)));
    this.logEvery = this.loggedRows ? Math.max(1, Math.floor(shape.rows / this.loggedRows)) : Infinity;
    this.startMs = shape.end.getTime() - shape.days * DAY_MS;
  }

  isLogged(i: number): boolean {
    return i % this.logEvery === 0 && i / this.logEvery < this.loggedRows;
  }

  private u(i: number, field: number): number {
    return mix(this.shape.seed + field * 0x1000193, i) / 2 ** 32;
  }

  row(i: number): ScaleRow {
    // Rows arrive in time order with up to a day of jitter; fewer finish at weekends.
    const span = this.shape.days * DAY_MS;
    let at = this.startMs + (i / this.shape.rows) * span + (this.u(i, 1) - 0.5) * DAY_MS;
    const weekday = new Date(at).getUTCDay();
    if ((weekday === 0 || weekday === 6) && this.u(i, 2) < 0.6) at -= 2 * DAY_MS;
    at = Math.min(Math.max(at, this.startMs), this.shape.end.getTime() - 1);
    const p = this.u(i, 3);
    const phase = p < 0.86 ? 'Succeeded' : p < 0.97 ? 'Failed' : 'Error';
    return {
      index: i,
      id: mix(this.shape.seed, i).toString(16).padStart(8, '0') + i.toString(16).padStart(56, '0'),
      namespace: namespaceName(skewed(this.u(i, 4), NAMESPACE_COUNT)),
      phase,
      finishedMs: Math.floor(at),
      logged: this.isLogged(i),
    };
  }

  /** The manifest the indexer reads for row i (its log entries only when the row carries logs). */
  manifest(i: number): IndexableManifest {
    const r = this.row(i);
    const ageDays = (this.shape.end.getTime() - r.finishedMs) / DAY_MS;
    const ret = this.u(i, 5) * 1000;
    let acc = 0;
    const retention = RETENTION.find(([, w]) => (acc += w) > ret)?.[0] ?? 'standard';
    const tier = ageDays < 14 ? 'hot' : ageDays < 60 ? 'warm' : ageDays < 180 ? 'cold' : 'archive';
    const template = skewed(this.u(i, 6), TEMPLATE_COUNT);
    const labels: Record<string, string> = {
      'workflows.argoproj.io/completed': 'true',
      'workflows.argoproj.io/phase': r.phase,
      'workflows.argoproj.io/workflow-template': `tmpl-${template}`,
      'app.kubernetes.io/name': `app-${skewed(this.u(i, 7), APP_COUNT)}`,
      team: teamName(skewed(this.u(i, 8), TEAM_COUNT)),
      env: ENVS[Math.floor(this.u(i, 9) * 10) < 6 ? 0 : Math.floor(this.u(i, 9) * 10) < 8 ? 1 : 2]!,
      // High cardinality: a commit shared by a handful of runs.
      'ci.example.com/commit': mix(this.shape.seed ^ 0xc0ffee, Math.floor(i / 7))
        .toString(16)
        .padStart(8, '0'),
      'strata.dev/retention': retention,
      'strata.dev/tier': tier,
    };
    const duration = 30_000 + Math.floor(this.u(i, 10) * 3_600_000);
    const finishedAt = new Date(r.finishedMs).toISOString();
    const entries: CatalogEntry[] = [{ path: 'workflow.json', kind: 'workflow', size: 4000 + (i % 5000) }];
    if (r.logged) {
      const pods = 1 + (i % 4);
      const per = Math.floor(this.shape.logBytesPerWorkflow / pods);
      for (let p = 0; p < pods; p++) {
        const nodeId = `wf-${i}-${1000 + p}`;
        entries.push({ path: `logs/${nodeId}/main.log`, kind: 'log', nodeId, container: 'main', size: per });
      }
    }
    const month = finishedAt.slice(0, 7);
    return {
      id: r.id,
      uid: `${mix(this.shape.seed ^ 0xbeef, i)
        .toString(16)
        .padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      namespace: r.namespace,
      name: `tmpl-${template}-${i.toString(36)}`,
      createdAt: new Date(r.finishedMs + 120_000 + (i % 600) * 1000).toISOString(),
      group: `${retention}-${month}`,
      incomplete: this.u(i, 11) < 0.002,
      entries,
      summary: {
        phase: r.phase,
        startedAt: new Date(r.finishedMs - duration).toISOString(),
        finishedAt,
        labels,
      },
    };
  }

  /** The text of one log entry of row i, streamed in ~256 KiB chunks. */
  openLog(i: number, path: string): Readable {
    const m = this.manifest(i);
    const entry = m.entries.find((e) => e.path === path);
    if (!entry || entry.kind !== 'log') throw new Error(`row ${i} has no log ${path}`);
    return generatedLog(mix(this.shape.seed ^ 0x10c, i) ^ path.length, entry.size!, i, this.row(i).finishedMs);
  }
}

const COMPONENTS = ['controller', 'executor', 'init', 'wait', 'main', 'fetcher', 'uploader', 'agent', 'db', 'cache'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'];
const WORDS = (
  'build step pull image layer cache hit miss compile module test passed failed retry connection refused timeout ' +
  'upstream registry token expired worker pod scheduled node memory cpu limit exceeded OOMKilled exit code ' +
  'download upload artifact bucket object checksum verified agent tool call response model prompt tokens ' +
  'database query rows migration lock acquired released warning error info debug panic goroutine thread ' +
  'request handler latency batch shard replica leader follower commit snapshot compaction flush segment ' +
  'container volume mount secret configmap service endpoint ingress dns resolve certificate handshake tls'
).split(' ');
const TEMPLATES: ((r: () => number) => string)[] = [
  (r) =>
    `GET /api/v${1 + Math.floor(r() * 3)}/items/${Math.floor(r() * 1e6)} ${r() < 0.9 ? 200 : 503} ${Math.floor(r() * 900)}ms`,
  (r) => `processed batch ${Math.floor(r() * 1e5)} rows=${Math.floor(r() * 1e4)} took ${Math.floor(r() * 5000)}ms`,
  (r) => `pulling image registry.example.com/team/app:${Math.floor(r() * 2 ** 32).toString(16)}`,
  (r) =>
    `connection refused dialing 10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}:5432, retry ${Math.floor(r() * 5)}`,
  (r) =>
    `test ${['unit', 'integration', 'e2e'][Math.floor(r() * 3)]}/${Math.floor(r() * 500)} ${r() < 0.95 ? 'passed' : 'failed'} in ${(r() * 10).toFixed(3)}s`,
  (r) =>
    `uploaded artifact s3://bucket/${Math.floor(r() * 2 ** 32).toString(16)}/out.tgz size=${Math.floor(r() * 1e8)}`,
];

/** About `bytes` of log text (whole lines) ending near `endMs`; `row` decides where rare words appear. */
export function generatedLog(seed: number, bytes: number, row: number, endMs: number): Readable {
  return Readable.from(logChunks(seed, bytes, row, endMs));
}

/** Log lines of realistic shape: timestamp, level, component, words, ids, numbers and request lines. */
async function* logChunks(seed: number, bytes: number, row: number, endMs: number): AsyncGenerator<Buffer> {
  const r = rng(seed);
  let t = endMs - 3_600_000;
  let left = bytes;
  let line = 0;
  while (left > 0) {
    const parts: string[] = [];
    let size = 0;
    while (size < 256 * 1024 && size < left) {
      t += Math.floor(r() * 400);
      let msg: string;
      if (r() < 0.35) msg = TEMPLATES[Math.floor(r() * TEMPLATES.length)]!(r);
      else {
        const n = 4 + Math.floor(r() * 10);
        const words: string[] = [];
        for (let k = 0; k < n; k++) words.push(WORDS[Math.floor(r() * WORDS.length)]!);
        if (r() < 0.25) words.push(`trace=${Math.floor(r() * 2 ** 32).toString(16)}`);
        msg = words.join(' ');
      }
      // A rare word in about one logged workflow in 200, for selective searches.
      if (line === 20 && row % 200 === 0) msg += ' kraken unleashed';
      const text = `${new Date(t).toISOString()} ${LEVELS[Math.floor(r() * LEVELS.length)]} [${COMPONENTS[Math.floor(r() * COMPONENTS.length)]}] ${msg}\n`;
      parts.push(text);
      size += text.length;
      line++;
    }
    let chunk = Buffer.from(parts.join(''));
    if (chunk.length > left) {
      // End on a whole line.
      const cut = chunk.lastIndexOf(10, left - 1);
      chunk = chunk.subarray(0, cut >= 0 ? cut + 1 : left);
      if (cut < 0) chunk[chunk.length - 1] = 10;
    }
    left -= chunk.length;
    yield chunk;
    if (chunk.length === 0) break;
  }
}
