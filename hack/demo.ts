// `npm run demo`: generate workflows, archive them into the embedded store, index, query, restore and verify them.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  archiveBundle,
  initRepository,
  openEntry,
  readManifest,
  restoreWorkflow,
  verifyRepository,
  type Repository,
} from '../lib/archive/index.ts';
import { isSourceProblem, type WorkflowBundle } from '../lib/bundle/bundle.ts';
import { repositoryManifestSource } from '../lib/catalog/archive-source.ts';
import type { Catalog, CatalogWorkflow } from '../lib/catalog/catalog.ts';
import { indexCatalog } from '../lib/catalog/rebuild.ts';
import { archiveSegmentReader } from '../lib/catalog/segment-reader.ts';
import { openSqliteCatalog } from '../lib/catalog/sqlite.ts';
import { describeError, exitCodeOf } from '../lib/errors.ts';
import { openDirectorySource } from '../lib/sources/directory.ts';
import { FileSystemStore } from '../lib/store/fs.ts';
import { generateCorpus } from './corpus/corpus.ts';

export interface DemoOptions {
  /** Scratch directory for the export, repository, catalog and restores (wiped first). */
  root: string;
  workflows: number;
  seed: number;
  /** Approximate corpus size (the generator's default is 512 KiB per workflow). */
  targetBytes?: number;
  /** The full-text query to run over the logs. */
  text?: string;
  log?: (line: string) => void;
}

export interface QueryCheck {
  query: string;
  found: string[];
  expected: string[];
  ok: boolean;
}

export interface DemoResult {
  ok: boolean;
  workflows: number;
  archive: { originalBytes: number; storedBytes: number; ratio: number; reArchiveNoOps: number };
  index: { manifests: number; logSegments: number; logBytes: number };
  queries: {
    label: QueryCheck;
    timeRange: QueryCheck;
    fullText: QueryCheck & { hits: { workflow: string; node: string; path: string; line: number; snippet: string }[] };
  };
  restore: {
    workflow: string;
    manifestId: string;
    files: number;
    bytes: number;
    checksumMismatches: string[];
    resubmitPath?: string;
  };
  nodeLog: {
    workflow: string;
    node: string;
    path: string;
    file: string;
    bytes: number;
    sha256: string;
    ok: boolean;
    lineText: string;
  };
  verify: { ok: boolean; manifests: number; packs: number; problems: string[] };
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const log = opts.log ?? (() => {});
  const root = resolve(opts.root);
  for (const sub of ['export', 'repo', 'restore', 'catalog.db', 'catalog.db-wal', 'catalog.db-shm'])
    await rm(join(root, sub), { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const stage = async <T>(title: string, body: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    log(`\n== ${title}`);
    const out = await body();
    log(`   (${((performance.now() - started) / 1000).toFixed(2)} s)`);
    return out;
  };

  // 1. Generate a corpus of multi-agent workflows in the directory-export layout.
  const exportDir = join(root, 'export');
  const source = await stage(`generate ${opts.workflows} workflows (seed ${opts.seed})`, async () => {
    await generateCorpus({
      dir: exportDir,
      workflows: opts.workflows,
      seed: opts.seed,
      ...(opts.targetBytes !== undefined && { targetBytes: opts.targetBytes }),
    });
    const src = openDirectorySource(exportDir);
    log(`   ${here(exportDir)}: ${fmtBytes(await dirSize(exportDir))} in the directory-export layout`);
    return src;
  });
  const bundles: WorkflowBundle[] = [];
  for await (const id of source.list()) {
    if (isSourceProblem(id)) throw new Error(`corpus problem at ${id.where}: ${id.message}`);
    bundles.push(await source.load(id));
  }

  // 2. Archive every workflow into the embedded file: store, then once more to show re-archiving is a no-op.
  const store = new FileSystemStore(join(root, 'repo'));
  const repo = await initRepository(store);
  const manifestOf = new Map<string, string>();
  const archive = await stage(`archive into file:${here(join(root, 'repo'))}`, async () => {
    let originalBytes = 0;
    for (const b of bundles) {
      const r = await archiveBundle(repo, b);
      manifestOf.set(b.uid, r.manifestId);
      originalBytes += r.stats.bytes;
    }
    const storedBytes = await dirSize(join(root, 'repo'));
    let reArchiveNoOps = 0;
    for (const b of bundles) if (!(await archiveBundle(repo, b)).created) reArchiveNoOps++;
    const ratio = storedBytes / Math.max(1, originalBytes);
    log(
      `   ${bundles.length} workflows, ${fmtBytes(originalBytes)} original → ${fmtBytes(storedBytes)} stored (ratio ${ratio.toFixed(3)})`,
    );
    log(`   archiving all again: ${reArchiveNoOps}/${bundles.length} were no-ops (same manifest ids)`);
    return { originalBytes, storedBytes, ratio, reArchiveNoOps };
  });

  // 3. Index the manifests into the SQLite catalog, in the CLI's default (compact) layout, so the commands it suggests
  // below open it as it is.
  const { catalog, rebuild } = openSqliteCatalog(join(root, 'catalog.db'), {
    reset: true,
    textFrom: archiveSegmentReader(repositoryManifestSource(repo)),
  });
  try {
    const index = await stage('index the catalog (SQLite + FTS5 over log segments)', async () => {
      const r = await indexCatalog(catalog, repositoryManifestSource(repo));
      if (r.problems.length)
        throw new Error(`index problems: ${r.problems.map((p) => `${p.manifestId}: ${p.message}`).join('; ')}`);
      // The reset catalog is whole again: the commands suggested below open it without a rebuild.
      await rebuild?.done();
      log(`   ${r.indexed} manifests, ${r.logSegments} log segments (${fmtBytes(r.logBytes)} of log text)`);
      return { manifests: r.indexed, logSegments: r.logSegments, logBytes: r.logBytes };
    });

    // 4. Queries, each checked against what the generated workflows really hold.
    const queries = await stage('query', async () => runQueries(catalog, bundles, opts.text, log));

    // 5. Restore one whole workflow and one node's log, checking every SHA-256.
    const failed = (await catalog.search({ phase: 'Failed', limit: 1 }))[0] ?? (await catalog.search({ limit: 1 }))[0]!;
    const restore = await stage(`restore workflow ${failed.namespace}/${failed.name}`, async () =>
      restoreWhole(
        repo,
        failed,
        bundles.find((b) => b.uid === failed.uid)!,
        join(root, 'restore', failed.name),
        log,
      ),
    );
    // An Argo node's log: the first full-text hit in one, else the restored workflow's first node log.
    const hit = queries.fullText.hits.find((h) => h.node);
    const nodeLog = await stage(
      `restore one node log${hit ? ` (a hit of "${queries.fullText.query}")` : ''}`,
      async () => restoreNodeLog(repo, catalog, hit, failed, join(root, 'restore'), log),
    );

    // 6. Verify the repository, reading every pack back.
    const verify = await stage('verify the repository (--read-data)', async () => {
      const r = await verifyRepository(repo, { readData: true });
      log(
        `   ${r.manifests} manifests, ${r.packs} packs read back: ${r.ok ? 'no problems' : `${r.problems.length} problems`}`,
      );
      return {
        ok: r.ok,
        manifests: r.manifests,
        packs: r.packs,
        problems: r.problems.map((p) => `${p.key}: ${p.message}`),
      };
    });

    const ok =
      queries.label.ok &&
      queries.timeRange.ok &&
      queries.fullText.ok &&
      restore.checksumMismatches.length === 0 &&
      nodeLog.ok &&
      verify.ok &&
      archive.reArchiveNoOps === bundles.length;
    log(`\n== ${ok ? 'demo OK' : 'demo FAILED'}: everything above was checked against the generated workflows`);
    log(
      `   try it: export STRATA_STORE=file:${here(join(root, 'repo'))} STRATA_CATALOG=${here(join(root, 'catalog.db'))}`,
    );
    log(
      `           node bin/strata.js query ${queries.label.query}   |   node bin/strata.js search ${queries.fullText.query.replace('--text ', '')}`,
    );
    return { ok, workflows: bundles.length, archive, index, queries, restore, nodeLog, verify };
  } finally {
    await catalog.close();
    // Closing checkpoints the WAL, so the file size is now the catalog's real size.
    const db = join(root, 'catalog.db');
    const size = await stat(db).then(
      (s) => s.size,
      () => 0,
    );
    log(
      `   catalog ${here(db)}: ${fmtBytes(size)}, derived (delete it and \`strata index\` rebuilds it from the store)`,
    );
  }
}

async function runQueries(
  catalog: Catalog,
  bundles: WorkflowBundle[],
  text: string | undefined,
  log: (l: string) => void,
): Promise<DemoResult['queries']> {
  const names = (ws: CatalogWorkflow[]) => ws.map((w) => `${w.namespace}/${w.name}`).sort();
  const labelsOf = (b: WorkflowBundle) =>
    ((b.workflow.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {}) as Record<string, string>;
  const finishedOf = (b: WorkflowBundle) => (b.workflow.status as { finishedAt?: string } | undefined)?.finishedAt;
  const show = (c: QueryCheck) => {
    log(`   strata query ${c.query}`);
    log(
      `     → ${c.found.length} workflows${c.found.length ? `: ${preview(c.found)}` : ''} ${c.ok ? '✓ matches the corpus' : `✗ expected ${preview(c.expected)}`}`,
    );
  };

  // Label: the label value held by about half the workflows, so the filter visibly filters.
  const counts = new Map<string, number>();
  for (const b of bundles)
    for (const [k, v] of Object.entries(labelsOf(b))) counts.set(`${k}=${v}`, (counts.get(`${k}=${v}`) ?? 0) + 1);
  const half = bundles.length / 2;
  const [selector] = [...counts].sort(
    (a, b) => Math.abs(a[1] - half) - Math.abs(b[1] - half) || a[0].localeCompare(b[0]),
  )[0] ?? ['workflow-type=play'];
  const eq = selector.indexOf('=');
  const [key, value] = [selector.slice(0, eq), selector.slice(eq + 1)];
  const label: QueryCheck = {
    query: `--label ${selector}`,
    found: names(await catalog.search({ labels: { [key]: value }, limit: 10_000 })),
    expected: bundles
      .filter((b) => labelsOf(b)[key] === value)
      .map((b) => `${b.namespace}/${b.name}`)
      .sort(),
    ok: false,
  };
  label.ok = same(label.found, label.expected);
  show(label);

  // Time range: the later half of the finish times.
  const times = bundles
    .map(finishedOf)
    .filter((t): t is string => Boolean(t))
    .sort();
  const since = times[Math.floor(times.length / 2)] ?? new Date(0).toISOString();
  const timeRange: QueryCheck = {
    query: `--since ${since}`,
    found: names(await catalog.search({ since: new Date(since), limit: 10_000 })),
    expected: bundles
      .filter((b) => (finishedOf(b) ?? '') >= since)
      .map((b) => `${b.namespace}/${b.name}`)
      .sort(),
    ok: false,
  };
  timeRange.ok = same(timeRange.found, timeRange.expected);
  show(timeRange);

  // Full text over logs: which workflows have a log containing the word, then hits with node ids and lines.
  const word = text ?? 'panicked';
  const re = new RegExp(`(?<![\\p{L}\\p{N}])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}])`, 'iu');
  const expected: string[] = [];
  for (const b of bundles) {
    for (const e of b.entries) {
      if (e.kind === 'log' && (await someLine(await e.open(), (l) => re.test(l)))) {
        expected.push(`${b.namespace}/${b.name}`);
        break;
      }
    }
  }
  const hits = await catalog.searchText(word, { limit: 20 });
  const fullText = {
    query: `--text ${word}`,
    found: names(await catalog.search({ text: word, limit: 10_000 })),
    expected: expected.sort(),
    ok: false,
    hits: hits.map((h) => ({
      workflow: `${h.namespace}/${h.name}`,
      node: h.nodeId ?? '',
      path: h.path,
      line: h.line,
      snippet: h.snippet,
    })),
  };
  fullText.ok = same(fullText.found, fullText.expected);
  show(fullText);
  log(`   strata search ${word} --limit 5`);
  for (const h of fullText.hits.slice(0, 5)) {
    log(`     ${h.workflow}${h.node ? `  node ${h.node}` : ''}  ${h.path}:${h.line}`);
    log(`       ${h.snippet.slice(0, 110)}`);
  }
  return { label, timeRange, fullText };
}

async function restoreWhole(
  repo: Repository,
  w: CatalogWorkflow,
  bundle: WorkflowBundle,
  target: string,
  log: (l: string) => void,
): Promise<DemoResult['restore']> {
  const r = await restoreWorkflow(repo, w.manifestId, target);
  const manifest = await readManifest(repo, w.manifestId);
  const original = new Map<string, string>();
  for (const e of bundle.entries) original.set(e.path, await sha256(await e.open()));
  const checksumMismatches: string[] = [];
  for (const e of manifest.entries) {
    const restored = await sha256(createReadStream(join(target, e.path)));
    const source = original.get(e.path);
    if (restored !== e.sha256 || (source !== undefined && source !== restored)) checksumMismatches.push(e.path);
  }
  log(`   manifest ${w.manifestId}`);
  log(`   ${r.files} files, ${fmtBytes(r.bytes)} → ${here(target)}`);
  log(
    `   SHA-256 of every restored file vs manifest and original: ${checksumMismatches.length ? `✗ ${checksumMismatches.join(', ')}` : '✓ all equal'}`,
  );
  if (r.resubmitPath) log(`   ready to resubmit: argo submit ${here(r.resubmitPath)}`);
  return {
    workflow: `${w.namespace}/${w.name}`,
    manifestId: w.manifestId,
    files: r.files,
    bytes: r.bytes,
    checksumMismatches,
    ...(r.resubmitPath && { resubmitPath: r.resubmitPath }),
  };
}

async function restoreNodeLog(
  repo: Repository,
  catalog: Catalog,
  hit: DemoResult['queries']['fullText']['hits'][number] | undefined,
  fallback: CatalogWorkflow,
  restoreRoot: string,
  log: (l: string) => void,
): Promise<DemoResult['nodeLog']> {
  const [ns, name] = hit ? hit.workflow.split('/') : [fallback.namespace, fallback.name];
  const w = (await catalog.get(`${ns}/${name}`))[0]!;
  const entry = (await catalog.entries(w.manifestId)).find((e) =>
    hit ? e.path === hit.path : e.kind === 'log' && e.nodeId,
  )!;
  const file = join(restoreRoot, `${w.name}.${entry.nodeId ?? 'node'}.${entry.container ?? 'main'}.log`);
  await mkdir(restoreRoot, { recursive: true });
  await pipeline(await openEntry(repo, w.manifestId, entry.path), createWriteStream(file));
  const bytes = await readFile(file);
  const digest = createHash('sha256').update(bytes).digest('hex');
  const lineText = hit ? (bytes.toString('utf8').split('\n')[hit.line - 1] ?? '') : '';
  const ok = digest === entry.sha256 && (!hit || lineText.length > 0);
  const how = entry.nodeId
    ? `--node ${entry.nodeId}${entry.container && entry.container !== 'main' ? ` --log ${entry.container}` : ''}`
    : `--path ${entry.path}`;
  log(`   strata restore ${w.namespace}/${w.name} ${how} --to ${here(file)}`);
  log(
    `   ${fmtBytes(bytes.length)}, SHA-256 ${digest.slice(0, 16)}… ${digest === entry.sha256 ? '✓ matches the manifest' : '✗ differs from the manifest'}`,
  );
  if (hit) log(`   line ${hit.line}: ${lineText.slice(0, 120)}`);
  return {
    workflow: `${w.namespace}/${w.name}`,
    node: entry.nodeId ?? '',
    path: entry.path,
    file,
    bytes: bytes.length,
    sha256: digest,
    ok,
    lineText,
  };
}

/** A path as the user would type it from here. */
function here(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

function same(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function preview(names: string[]): string {
  return names.length > 4 ? `${names.slice(0, 4).join(', ')}, … (+${names.length - 4})` : names.join(', ');
}

async function sha256(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function someLine(stream: Readable, test: (line: string) => boolean): Promise<boolean> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) if (test(line)) return true;
    return false;
  } finally {
    lines.close();
    stream.destroy();
  }
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const d of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (d.isFile()) total += (await stat(join(d.parentPath, d.name))).size;
  }
  return total;
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      root: { type: 'string', default: '.strata/demo' },
      workflows: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      text: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  try {
    const result = await runDemo({
      root: values.root,
      workflows: Number(values.workflows),
      seed: Number(values.seed),
      ...(values.text !== undefined && { text: values.text }),
      log: (l) => process.stdout.write(l + '\n'),
    });
    if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    process.exitCode = result.ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(`demo: ${describeError(err)}\n`);
    process.exitCode = exitCodeOf(err);
  }
}
