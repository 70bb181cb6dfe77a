// The benchmark (`npm run bench`): generates a corpus of each profile (play workflows, pods), archives it with
// Strata (from the directory and through the cluster path) and with restic, borg, tar|zstd -3, -8 (Strata's level)
// and -19 --long, and reports per profile stored/original, ingest speed and CPU time, restore time and peak RSS,
// each target judged per profile.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CORPUS_PROFILES,
  generateCorpus,
  parseSize,
  type CorpusProfile,
  type CorpusSummary,
} from '../corpus/generate.ts';
import { bundleCli, NODE_FLAGS } from '../../images/bundle.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ToolResult {
  tool: string;
  storedBytes: number;
  ratio: number;
  /** Median of ingestRuns. */
  ingestSeconds: number;
  ingestRuns: number[];
  ingestMBps: number;
  /** User + system CPU seconds of the median ingest run, over all its threads and processes. */
  ingestCpuSeconds: number;
  workflowsPerSecond: number;
  /** Null when not measured (zstd -19 of the 100 MB workflow alone takes minutes; it decompresses like -3). */
  restoreSeconds: number | null;
  /** Strata only: start-up of the bundled CLI (`--help`), included in its ingest and restore times. */
  startupSeconds?: number;
  restoreVerified: boolean;
  peakRssMiB: number;
  note?: string;
}

interface Timed {
  seconds: number;
  cpuSeconds: number;
  maxRssKiB: number;
  stdout: string;
}

/** Runs a command under GNU time for wall time, CPU time and peak RSS (the largest process of the tree). */
function timed(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Timed {
  const timeFile = join(process.env.BENCH_TMP ?? '/tmp', `bench-time-${process.pid}`);
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    ...opts,
  });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${String(r.stderr).slice(-2000)}`);
  }
  const [seconds, user, sys, rss] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(timeFile, { force: true });
  return { seconds: seconds!, cpuSeconds: user! + sys!, maxRssKiB: rss!, stdout: String(r.stdout) };
}

/** Ingest runs per tool (each into an empty repository); the median is reported. This VM's speed varies ~10 %. */
const INGEST_RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));

/** Runs `prepare` (empty the repository) then `run`, INGEST_RUNS times; the run of median wall time. */
function medianRun<T extends Timed>(prepare: () => void, run: () => T, runs = INGEST_RUNS): T & { runs: number[] } {
  const all: T[] = [];
  for (let i = 0; i < runs; i++) {
    prepare();
    spawnSync('sync'); // the previous run's written-back pages must not slow this one
    all.push(run());
  }
  const sorted = [...all].sort((a, b) => a.seconds - b.seconds);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, runs: all.map((t) => t.seconds) };
}

function sh(script: string, opts: SpawnSyncOptions = {}): Timed {
  return timed('bash', ['-o', 'pipefail', '-c', script], opts);
}

function dirBytes(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.size;
  return readdirSync(path).reduce((sum, name) => sum + dirBytes(join(path, name)), 0);
}

function fileDigests(root: string, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(root, rel))) {
    const p = rel ? `${rel}/${name}` : name;
    if (statSync(join(root, p)).isDirectory()) for (const [k, v] of fileDigests(root, p)) out.set(k, v);
    else
      out.set(
        p,
        createHash('sha256')
          .update(readFileSync(join(root, p)))
          .digest('hex'),
      );
  }
  return out;
}

/** Every original file is back with the same bytes (extra files, e.g. a resubmittable workflow, are allowed). */
function sameFiles(original: string, restored: string): boolean {
  if (!existsSync(restored)) return false;
  const want = fileDigests(original);
  const got = fileDigests(restored);
  for (const [path, digest] of want) if (got.get(path) !== digest) return false;
  return want.size > 0;
}

function has(cmd: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

interface Workload {
  corpusDir: string;
  corpus: CorpusSummary;
  /** Directory holding the single ~100 MB workflow (in the export layout) and that workflow's own directory. */
  bigDir: string;
  bigWorkflowDir: string;
  work: string;
}

function result(
  tool: string,
  w: Workload,
  ingest: Timed & { runs?: number[] },
  stored: number,
  restore: Timed | null,
  verified: boolean,
  extraRss = 0,
): ToolResult {
  const mb = w.corpus.bytes / 1e6;
  return {
    tool,
    storedBytes: stored,
    ratio: stored / w.corpus.bytes,
    ingestSeconds: ingest.seconds,
    ingestRuns: ingest.runs ?? [ingest.seconds],
    ingestMBps: mb / ingest.seconds,
    ingestCpuSeconds: ingest.cpuSeconds,
    workflowsPerSecond: w.corpus.workflows.length / ingest.seconds,
    restoreSeconds: restore ? restore.seconds : null,
    restoreVerified: verified,
    peakRssMiB: Math.max(ingest.maxRssKiB, restore?.maxRssKiB ?? 0, extraRss) / 1024,
  };
}

/** Runs the bundled CLI as the step image's wrapper does (its V8 flags, no TypeScript compilation at start-up). */
function strataCli(cli: string, args: string[], env?: NodeJS.ProcessEnv): Timed & { json: Record<string, unknown> } {
  const t = timed(process.execPath, [...NODE_FLAGS, cli, ...args, '-o', 'json'], {
    cwd: repoRoot,
    ...(env && { env }),
  });
  return { ...t, json: JSON.parse(t.stdout) as Record<string, unknown> };
}

/** `encrypted`: the same runs with client-side encryption on (docs/encryption.md), keys in a local directory. */
function benchStrata(w: Workload, cli: string, encrypted = false): ToolResult {
  const tag = encrypted ? 'strata-enc' : 'strata';
  const store = (dir: string) => ['--store', `file:${join(w.work, dir)}`];
  const out = join(w.work, `${tag}-restore`);
  const keys = join(w.work, `${tag}-keys`);
  const env = encrypted ? { ...process.env, STRATA_ENCRYPTION: 'true', STRATA_ENCRYPTION_KEY_DIR: keys } : undefined;
  const ingest = medianRun(
    () => {
      rmSync(join(w.work, `${tag}-repo`), { recursive: true, force: true });
      rmSync(keys, { recursive: true, force: true });
    },
    () => strataCli(cli, ['archive', '--from', w.corpusDir, ...store(`${tag}-repo`)], env),
  );
  rmSync(join(w.work, `${tag}-big`), { recursive: true, force: true });
  const big = strataCli(cli, ['archive', '--from', w.bigDir, ...store(`${tag}-big`)], env);
  const manifestId = (big.json.results as { manifestId: string }[])[0]!.manifestId;
  const restore = strataCli(cli, ['restore', manifestId, '--to', out, ...store(`${tag}-big`)], env);
  const r = result(
    encrypted ? 'strata-encrypted' : 'strata',
    w,
    ingest,
    dirBytes(join(w.work, `${tag}-repo`)),
    restore,
    sameFiles(w.bigWorkflowDir, out),
    big.maxRssKiB,
  );
  r.startupSeconds = timed(process.execPath, [...NODE_FLAGS, cli, '--help']).seconds;
  const failed = Number(ingest.json.failed) + (ingest.json.problems as unknown[]).length;
  if (failed) r.note = `${ingest.json.failed} failed, ${(ingest.json.problems as unknown[]).length} problems`;
  return r;
}

/**
 * The same corpus archived from a cluster, as the pipeline's archive step reads it: the fake API server (its own
 * process) serves the workflows, pods, logs and CodeRuns; artifacts come from a file: copy of the bucket.
 */
function benchStrataCluster(w: Workload, cli: string): ToolResult {
  const bucket = join(w.work, 'cluster-bucket');
  const urlFile = join(w.work, 'cluster-url');
  const script = join(repoRoot, 'hack/bench/cluster-corpus.ts');
  const server = spawn(process.execPath, ['--import', 'tsx', script, w.corpusDir, bucket, urlFile], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  try {
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (const started = Date.now(); !existsSync(urlFile); Atomics.wait(pause, 0, 0, 100)) {
      if (Date.now() - started > 600_000) throw new Error('cluster-corpus did not serve within 10 min (see its log)');
    }
    const url = readFileSync(urlFile, 'utf8').trim();
    const repo = join(w.work, 'strata-cluster-repo');
    const args = ['archive', '--kube-server', url, '--namespace', '', '--group', 'default', '--artifacts'];
    const ingest = medianRun(
      () => rmSync(repo, { recursive: true, force: true }),
      () => strataCli(cli, [...args, `file:${bucket}`, '--store', `file:${repo}`]),
    );
    const r = result('strata-cluster', w, ingest, dirBytes(repo), null, false);
    const { failed, skipped } = ingest.json as { failed: number; skipped: number };
    r.note = `archive from the fake API server${failed + skipped ? `: ${failed} failed, ${skipped} skipped` : ''}`;
    return r;
  } finally {
    server.kill();
  }
}

/**
 * One archive run through the development launcher (`bin/strata.js`: tsx, the TypeScript sources, the frame worker
 * built on the fly): issue 11's memory target holds through it as well as through the bundle.
 */
function benchStrataLauncher(w: Workload): ToolResult {
  const repo = join(w.work, 'strata-launcher-repo');
  rmSync(repo, { recursive: true, force: true });
  spawnSync('sync');
  const args = ['archive', '--from', w.corpusDir, '--store', `file:${repo}`, '-o', 'json'];
  const run = timed(process.execPath, [join(repoRoot, 'bin/strata.js'), ...args], { cwd: repoRoot });
  const r = result('strata-launcher', w, run, dirBytes(repo), null, false);
  r.note = 'one run through bin/strata.js (tsx): for its peak RSS; its time includes compiling TypeScript';
  return r;
}

function benchTarZstd(w: Workload, tool: string, level: string, measureRestore = true): ToolResult {
  const archive = join(w.work, `${tool}.tar.zst`);
  const bigArchive = join(w.work, `${tool}-big.tar.zst`);
  const out = join(w.work, `${tool}-restore`);
  const ingest = medianRun(
    () => rmSync(archive, { force: true }),
    () => sh(`tar -C '${w.corpusDir}' -cf - . | zstd ${level} -T0 -q -f -o '${archive}'`),
    level.includes('-19') ? 1 : INGEST_RUNS,
  );
  if (!measureRestore) {
    const r = result(tool, w, ingest, dirBytes(archive), null, false);
    r.note = 'restore not measured (set BENCH_SLOW_RESTORE=1); zstd decompresses -19 about as fast as -3';
    return r;
  }
  const big = sh(`tar -C '${w.bigWorkflowDir}' -cf - . | zstd ${level} -T0 -q -f -o '${bigArchive}'`);
  mkdirSync(out, { recursive: true });
  const restore = sh(`zstd -dc ${level.includes('long') ? '--long=27' : ''} '${bigArchive}' | tar -C '${out}' -xf -`);
  return result(tool, w, ingest, dirBytes(archive), restore, sameFiles(w.bigWorkflowDir, out), big.maxRssKiB);
}

/**
 * Not a peer but a reference: Strata's ingest data path (chunking, SHA-256 of files and chunks, timestamp column,
 * zstd 8 on 4 MiB frames, one encoder thread per core, fsync'd packs) as native code, without manifests, refs or
 * audit records: roughly the least time any implementation of this format needs here (hack/bench/native-floor).
 */
function benchNativeFloor(w: Workload): ToolResult {
  const manifest = join(repoRoot, 'hack/bench/native-floor/Cargo.toml');
  const target = join(repoRoot, '.cache/native-floor');
  const build = spawnSync('cargo', ['build', '--release', '-q', '--manifest-path', manifest], {
    encoding: 'utf8',
    env: { ...process.env, CARGO_TARGET_DIR: target },
  });
  if (build.status !== 0) throw new Error(`cargo build failed: ${String(build.stderr).slice(-2000)}`);
  const out = join(w.work, 'native-floor-out');
  const ingest = medianRun(
    () => rmSync(out, { recursive: true, force: true }),
    () => timed(join(target, 'release/native-floor'), [w.corpusDir, out]),
  );
  const r = result('native-floor', w, ingest, dirBytes(out), null, false);
  r.note = 'reference, not a product: the data path alone in Rust (no manifests, refs, audit); restore not measured';
  return r;
}

function benchRestic(w: Workload): ToolResult {
  const env = { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: join(w.work, 'restic-cache') };
  const repo = join(w.work, 'restic-repo');
  const bigRepo = join(w.work, 'restic-big');
  const out = join(w.work, 'restic-restore');
  timed('restic', ['-r', bigRepo, 'init', '-q'], { env });
  const ingest = medianRun(
    () => {
      rmSync(repo, { recursive: true, force: true });
      timed('restic', ['-r', repo, 'init', '-q'], { env });
    },
    () => timed('restic', ['-r', repo, 'backup', '-q', '.'], { env, cwd: w.corpusDir }),
  );
  const big = timed('restic', ['-r', bigRepo, 'backup', '-q', '.'], { env, cwd: w.bigWorkflowDir });
  const restore = timed('restic', ['-r', bigRepo, 'restore', 'latest', '-q', '--target', out], { env });
  return result('restic', w, ingest, dirBytes(repo), restore, sameFiles(w.bigWorkflowDir, out), big.maxRssKiB);
}

function benchBorg(w: Workload): ToolResult {
  const env = {
    ...process.env,
    BORG_PASSPHRASE: '',
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
    BORG_BASE_DIR: join(w.work, 'borg-base'),
  };
  const repo = join(w.work, 'borg-repo');
  const bigRepo = join(w.work, 'borg-big');
  const out = join(w.work, 'borg-restore');
  timed('borg', ['init', '-e', 'none', bigRepo], { env });
  const ingest = medianRun(
    () => {
      rmSync(repo, { recursive: true, force: true });
      rmSync(join(w.work, 'borg-base'), { recursive: true, force: true });
      timed('borg', ['init', '-e', 'none', repo], { env });
    },
    () => timed('borg', ['create', '--compression', 'zstd,3', `${repo}::corpus`, '.'], { env, cwd: w.corpusDir }),
  );
  const big = timed('borg', ['create', '--compression', 'zstd,3', `${bigRepo}::big`, '.'], {
    env,
    cwd: w.bigWorkflowDir,
  });
  mkdirSync(out, { recursive: true });
  const restore = timed('borg', ['extract', `${bigRepo}::big`], { env, cwd: out });
  const r = result('borg', w, ingest, dirBytes(repo), restore, sameFiles(w.bigWorkflowDir, out), big.maxRssKiB);
  r.note = 'compression zstd,3';
  return r;
}

function table(results: ToolResult[]): string {
  const strata = results.find((r) => r.tool === 'strata');
  const rows = [
    [
      'tool',
      'stored/orig',
      'ingest MB/s',
      'ingest CPU s',
      'wf/s',
      'restore s',
      'peak RSS MiB',
      'strata size ×',
      'strata speed ×',
    ],
  ];
  for (const r of results) {
    rows.push([
      r.tool,
      r.ratio.toFixed(4),
      r.ingestMBps.toFixed(1),
      r.ingestCpuSeconds.toFixed(2),
      r.workflowsPerSecond.toFixed(2),
      r.restoreSeconds === null ? '-' : r.restoreSeconds.toFixed(2) + (r.restoreVerified ? '' : ' UNVERIFIED'),
      r.peakRssMiB.toFixed(0),
      strata && r !== strata ? (strata.storedBytes / r.storedBytes).toFixed(2) : '',
      strata && r !== strata ? (strata.ingestMBps / r.ingestMBps).toFixed(2) : '',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

/** Rows measured for comparison that are not peers (not judged against the ratio target). */
export const REFERENCE_TOOLS: ReadonlySet<string> = new Set([
  'native-floor',
  'strata-cluster',
  'strata-encrypted',
  'strata-launcher',
]);

export interface TargetCheck {
  target: string;
  value: number | null;
  met: boolean | null;
}

/**
 * The targets of one corpus profile, checked against that profile's run (null: not measurable, e.g. a peer was
 * skipped). Both profiles: below every peer, ingest wall at least restic's, CPU at most twice restic's, peak RSS.
 * The play profile (the project's own data) also keeps issue 3's absolute ratio and restore targets.
 */
export function targets(results: ToolResult[], profile: CorpusProfile = 'play'): TargetCheck[] {
  const strata = results.find((r) => r.tool === 'strata');
  const peers = results.filter((r) => r !== strata && !REFERENCE_TOOLS.has(r.tool));
  const restic = results.find((r) => r.tool === 'restic');
  const launcher = results.find((r) => r.tool === 'strata-launcher');
  if (!strata) return [];
  const minPeerRatio = peers.length ? Math.min(...peers.map((p) => p.ratio)) : null;
  return [
    ...(profile === 'play'
      ? [{ target: 'stored/original <= 0.08', value: strata.ratio, met: strata.ratio <= 0.08 }]
      : []),
    {
      target: 'stored/original below every peer',
      value: minPeerRatio,
      met: minPeerRatio === null ? null : strata.ratio < minPeerRatio,
    },
    {
      target: 'ingest >= 1x restic',
      value: restic ? strata.ingestMBps / restic.ingestMBps : null,
      met: restic ? strata.ingestMBps >= restic.ingestMBps : null,
    },
    {
      target: 'ingest CPU s <= 2x restic',
      value: restic ? strata.ingestCpuSeconds / restic.ingestCpuSeconds : null,
      met: restic ? strata.ingestCpuSeconds <= 2 * restic.ingestCpuSeconds : null,
    },
    ...(profile === 'play'
      ? [
          {
            target: 'restore of 100 MB <= 3 s',
            value: strata.restoreSeconds,
            met: strata.restoreSeconds === null ? null : strata.restoreSeconds <= 3,
          },
        ]
      : []),
    { target: 'peak RSS <= 256 MiB', value: strata.peakRssMiB, met: strata.peakRssMiB <= 256 },
    ...(launcher
      ? [
          {
            target: 'peak RSS through bin/strata.js <= 256 MiB',
            value: launcher.peakRssMiB,
            met: launcher.peakRssMiB <= 256,
          },
        ]
      : []),
  ];
}

/** Workflows per profile when `--workflows` is not given: 200 MB either way. */
const DEFAULT_WORKFLOWS: Record<CorpusProfile, number> = { play: 60, pods: 200 };

interface ProfileRun {
  profile: CorpusProfile;
  corpus: {
    workflows: number;
    files: number;
    bytes: number;
    seed: string;
    restoreWorkflowBytes: number;
  };
  results: ToolResult[];
  targets: TargetCheck[];
  errors: Record<string, string>;
}

async function benchProfile(
  profile: CorpusProfile,
  values: { size: string; workflows?: string; 'restore-size': string; seed: string; peers: string },
  root: string,
  cli: string,
): Promise<ProfileRun> {
  const log = (m: string) => process.stderr.write(`bench [${profile}]: ${m}\n`);
  const work = join(root, profile);
  mkdirSync(work, { recursive: true });
  const genStart = Date.now();
  const corpusDir = join(work, 'corpus');
  const corpus = await generateCorpus({
    dir: corpusDir,
    profile,
    workflows: values.workflows ? Number(values.workflows) : DEFAULT_WORKFLOWS[profile],
    seed: values.seed,
    targetBytes: parseSize(values.size),
  });
  const bigDir = join(work, 'big');
  const big = await generateCorpus({
    dir: bigDir,
    profile,
    workflows: 1,
    seed: `${values.seed}-big`,
    targetBytes: parseSize(values['restore-size']),
  });
  // Written-back pages would otherwise slow whichever tool runs first.
  spawnSync('sync');
  const bigWf = big.workflows[0]!;
  const w: Workload = { corpusDir, corpus, bigDir, bigWorkflowDir: join(bigDir, bigWf.namespace, bigWf.name), work };
  log(
    `corpus ${corpus.workflows.length} workflows, ${(corpus.bytes / 1e6).toFixed(1)} MB; restore workflow ` +
      `${(big.bytes / 1e6).toFixed(1)} MB (generated in ${((Date.now() - genStart) / 1000).toFixed(1)} s)`,
  );

  const results: ToolResult[] = [];
  const errors: Record<string, string> = {};
  const attempt = (tool: string, needs: string[], fn: () => ToolResult) => {
    const absent = needs.filter((c) => !has(c));
    if (absent.length) {
      errors[tool] = `skipped: ${absent.join(', ')} not installed`;
      log(`${tool}: ${errors[tool]}`);
      return;
    }
    log(`${tool} …`);
    const started = Date.now();
    try {
      results.push(fn());
      log(`${tool} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      errors[tool] = err instanceof Error ? err.message : String(err);
      log(`${tool} failed: ${errors[tool]}`);
    }
  };
  attempt('strata', [], () => benchStrata(w, cli));
  attempt('strata-cluster', [], () => benchStrataCluster(w, cli));
  if (process.env.BENCH_LAUNCHER !== '0') attempt('strata-launcher', [], () => benchStrataLauncher(w));
  // Encryption's cost, measured in the same run (the shared box's load varies too much to compare runs).
  attempt('strata-encrypted', [], () => benchStrata(w, cli, true));
  const peers = new Set(values.peers.split(',').map((p) => p.trim()));
  if (peers.has('restic')) attempt('restic', ['restic'], () => benchRestic(w));
  if (peers.has('borg')) attempt('borg', ['borg'], () => benchBorg(w));
  if (peers.has('tar-zstd-3')) attempt('tar|zstd-3', ['zstd', 'tar'], () => benchTarZstd(w, 'tar-zstd-3', '-3'));
  // Strata's zstd level, native and on every core, without dedup, hashing or log encoding: what that level alone costs.
  if (peers.has('tar-zstd-8')) attempt('tar|zstd-8', ['zstd', 'tar'], () => benchTarZstd(w, 'tar-zstd-8', '-8'));
  if (peers.has('native-floor')) attempt('native-floor', ['cargo'], () => benchNativeFloor(w));
  if (peers.has('zstd-19-long')) {
    attempt('tar|zstd-19-long', ['zstd', 'tar'], () =>
      benchTarZstd(w, 'zstd-19-long', '-19 --long=27', process.env.BENCH_SLOW_RESTORE === '1'),
    );
  }
  return {
    profile,
    corpus: {
      workflows: corpus.workflows.length,
      files: corpus.files,
      bytes: corpus.bytes,
      seed: values.seed,
      restoreWorkflowBytes: big.bytes,
    },
    results,
    targets: targets(results, profile),
    errors,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profiles: { type: 'string', default: process.env.BENCH_PROFILES ?? CORPUS_PROFILES.join(',') },
      size: { type: 'string', default: process.env.BENCH_SIZE ?? '200MB' },
      workflows: { type: 'string', default: process.env.BENCH_WORKFLOWS },
      'restore-size': { type: 'string', default: process.env.BENCH_RESTORE_SIZE ?? '100MB' },
      seed: { type: 'string', default: process.env.BENCH_SEED ?? '7' },
      work: { type: 'string', default: process.env.BENCH_DIR ?? join(repoRoot, '.cache/bench') },
      peers: {
        type: 'string',
        default: process.env.BENCH_PEERS ?? 'restic,borg,tar-zstd-3,tar-zstd-8,native-floor,zstd-19-long',
      },
      report: { type: 'string', default: join(repoRoot, 'bench-report.json') },
      keep: { type: 'boolean', default: false },
      // Sections to run (comma-separated): archive, policy, catalog, search, scale. Default: all of them.
      only: { type: 'string', default: process.env.BENCH_ONLY },
    },
  });
  const sections = new Set(['archive', 'policy', 'catalog', 'search', 'scale']);
  const only = values.only?.split(',').map((s) => s.trim());
  const unknownSection = only?.filter((s) => !sections.has(s)) ?? [];
  if (unknownSection.length)
    throw new Error(`unknown --only section ${unknownSection.join(', ')} (known: ${[...sections].join(', ')})`);
  const want = (section: string) => !only || only.includes(section);
  const profiles = values.profiles!.split(',').map((p) => p.trim()) as CorpusProfile[];
  const unknown = profiles.filter((p) => !CORPUS_PROFILES.includes(p));
  if (unknown.length)
    throw new Error(`unknown corpus profile ${unknown.join(', ')} (known: ${CORPUS_PROFILES.join(', ')})`);
  const work = resolve(values.work!);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  process.env.BENCH_TMP = work;
  const runs: ProfileRun[] = [];
  if (want('archive')) spawnSync('bash', [join(repoRoot, 'hack/bench/install-peers.sh')], { stdio: 'inherit' });
  const cli = want('archive') ? (await bundleCli(join(work, 'strata-bundle'))).entry : '';
  for (const profile of want('archive') ? profiles : []) {
    runs.push(
      await benchProfile(
        profile,
        {
          ...values,
          size: values.size!,
          'restore-size': values['restore-size']!,
          seed: values.seed!,
          peers: values.peers!,
        },
        work,
        cli,
      ),
    );
  }

  let policy: Record<string, unknown> | undefined;
  const policyBench = join(repoRoot, 'hack/bench/policy-bench.ts');
  if (want('policy') && existsSync(policyBench)) {
    process.stderr.write('bench: policy benchmark …\n');
    try {
      const mod = (await import(pathToFileURL(policyBench).href)) as {
        runPolicyBench?: () => Promise<Record<string, unknown>>;
      };
      policy = mod.runPolicyBench ? await mod.runPolicyBench() : { error: 'policy-bench.ts exports no runPolicyBench' };
    } catch (err) {
      policy = { error: err instanceof Error ? err.message : String(err) };
    }
  }

  // Catalog backends: index size against the raw log text and the archive, indexing speed, query latencies.
  let catalog: Record<string, unknown> | undefined;
  if (want('catalog') && process.env.BENCH_CATALOG !== '0') {
    process.stderr.write('bench: catalog benchmark …\n');
    try {
      const { runCatalogBench } = await import('./catalog-bench.ts');
      catalog = { ...(await runCatalogBench({ work: join(work, 'catalog') })) };
    } catch (err) {
      catalog = { error: err instanceof Error ? err.message : String(err) };
    }
  }

  let search: Record<string, unknown> | undefined;
  const searchBench = join(repoRoot, 'hack/bench/search-bench.ts');
  if (want('search') && existsSync(searchBench) && process.env.BENCH_SEARCH !== '0') {
    process.stderr.write('bench: search benchmark (SQLite and Elasticsearch) …\n');
    try {
      const mod = (await import(pathToFileURL(searchBench).href)) as {
        runSearchBench: () => Promise<Record<string, unknown>>;
      };
      search = await mod.runSearchBench();
    } catch (err) {
      search = { error: err instanceof Error ? err.message : String(err) };
    }
  }

  // Issues 16 and 17 at scale (default 1M rows, 2 GB of logs; BENCH_SCALE_* in hack/bench/scale-bench.ts).
  let scale: Record<string, unknown> | undefined;
  let scaleMarkdown: string | undefined;
  if (want('scale') && process.env.BENCH_SCALE !== '0') {
    process.stderr.write('bench: scale benchmark …\n');
    try {
      const mod = await import('./scale-bench.ts');
      const r = await mod.runScaleBench(mod.scaleOptionsFromEnv({ BENCH_TMP: work, ...process.env }));
      scale = { ...r };
      scaleMarkdown = mod.scaleTable(r);
    } catch (err) {
      scale = { error: err instanceof Error ? err.message : String(err) };
    }
  }

  const report = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    profiles: runs,
    ...(policy ? { policy } : {}),
    ...(catalog ? { catalog } : {}),
    ...(search ? { search } : {}),
    ...(scale ? { scale } : {}),
  };
  writeFileSync(values.report!, JSON.stringify(report, null, 2) + '\n');
  for (const run of runs) {
    const { corpus } = run;
    process.stdout.write(
      `\nStrata benchmark, profile ${run.profile}: ${corpus.workflows} workflows, ${(corpus.bytes / 1e6).toFixed(1)} MB; ` +
        `restore of one ${(corpus.restoreWorkflowBytes / 1e6).toFixed(0)} MB workflow\n\n${table(run.results)}\n\n`,
    );
    for (const t of run.targets) {
      const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met';
      process.stdout.write(
        `target [${run.profile}] ${t.target}: ${t.value === null ? '-' : t.value.toFixed(4)} ${verdict}\n`,
      );
    }
  }
  process.stdout.write(
    `\nstrata size × = strata stored / peer stored (< 1: strata smaller); strata speed × = strata ingest / peer ingest` +
      `\nreport: ${values.report}\n`,
  );
  if (policy) process.stdout.write(`policy: ${JSON.stringify(policy)}\n`);
  if (catalog) process.stdout.write(`catalog: ${JSON.stringify(catalog)}\n`);
  if (search) process.stdout.write(`search: ${JSON.stringify(search)}\n`);
  if (scaleMarkdown) process.stdout.write(`\nscale:\n${scaleMarkdown}\n`);
  for (const t of (scale?.targets as { target: string; value: number | null; met: boolean | null }[] | undefined) ??
    []) {
    const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met';
    process.stdout.write(`target [scale] ${t.target}: ${t.value === null ? '-' : t.value} ${verdict}\n`);
  }
  if (scale?.error) process.stdout.write(`scale: ${JSON.stringify(scale)}\n`);
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
