// The directory export source: workflows with their logs, artifacts and related resources laid out on disk
// (layout in docs/directory-export.md).
import { createReadStream, type Dirent } from 'node:fs';
import { lstat, open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import type {
  BundleEntry,
  MissingEntry,
  SourceProblem,
  WorkflowBundle,
  WorkflowIdentity,
  WorkflowSource,
} from '../bundle/bundle.ts';
import { InputError, StrataError } from '../errors.ts';
import { extractNodes, type WorkflowNode } from './argo-nodes.ts';
import { isRecord, parseWorkflowText, type ParsedWorkflow, type ParseResult } from './argo-workflow.ts';
import { checkSegment, resolveInside } from './safe-path.ts';
import { loadPlainYaml } from './yaml-fast.ts';

/** File names a workflow directory may hold its Workflow object in, in order of preference. */
export const WORKFLOW_FILES = ['workflow.yaml', 'workflow.yml', 'workflow.json'];
const WORKFLOW_EXT = /\.(ya?ml|json)$/;
/** Related resource manifests larger than this are archived but not parsed for their apiVersion/kind. */
const MAX_RESOURCE_PARSE_BYTES = 1 << 20;
/** Largest read of an entry stream: fewer, larger chunks than the 64 KiB default (the engine chunks them anyway). */
const READ_CHUNK_BYTES = 1 << 20;
const MIN_READ_CHUNK_BYTES = 16 << 10;
/** File system calls in flight at once while reading a workflow directory (libuv runs 4 at a time by default). */
const FS_CONCURRENCY = 8;
/** Workflow directories of a namespace resolved and read ahead of the one being parsed. */
const SCAN_READ_AHEAD = 8;
/** Parsed workflow files kept from the scan for load(), up to this much source text (beyond it load re-parses). */
const PARSE_CACHE_BYTES = 64 << 20;

interface Located {
  identity: WorkflowIdentity;
  /** Real path of the export directory; nothing outside it is read. */
  root: string;
  /** Real path of the file holding the object. */
  file: string;
  /** The file holds only this workflow, so its bytes are the workflow entry as they are. */
  ownFile: boolean;
  /** Real path of `<dir>/<namespace>/<name>/` when it exists. */
  dataDir?: string;
  notes: string[];
}

export interface DirectorySourceOptions {
  /** Called for each file parsed during the scan (progress). */
  onFile?: (file: string) => void;
}

export function openDirectorySource(dir: string, options: DirectorySourceOptions = {}): WorkflowSource {
  return new DirectorySource(resolve(dir), options);
}

class DirectorySource implements WorkflowSource {
  readonly description: string;
  private scanned?: { byUid: Map<string, Located>; byName: Map<string, Located>; problems: SourceProblem[] };
  private lastParse?: { file: string; result: ParseResult };
  /** Parse results of the scan, so load() does not parse each workflow file a second time. */
  private readonly parsedByScan = new Map<string, ParseResult>();
  private parsedByScanBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly options: DirectorySourceOptions,
  ) {
    this.description = `dir:${dir}`;
  }

  async *list(): AsyncIterable<WorkflowIdentity | SourceProblem> {
    const scan = await this.scan();
    yield* scan.problems;
    for (const located of scan.byUid.values()) yield { ...located.identity };
  }

  async load(id: WorkflowIdentity): Promise<WorkflowBundle> {
    const scan = await this.scan();
    const located = scan.byUid.get(id.uid) ?? scan.byName.get(`${id.namespace}/${id.name}`);
    if (!located) {
      throw new InputError(`workflow ${id.namespace}/${id.name} (uid ${id.uid}) is not in ${this.description}`);
    }
    const fromScan = this.parsedByScan.get(located.file);
    // A file's workflows are loaded once each; a single-workflow file's parse is no longer needed after this.
    if (fromScan && fromScan.workflows.length <= 1) this.parsedByScan.delete(located.file);
    const result = fromScan ?? (await this.parseFile(located.file));
    const parsed = result.workflows.find((w) => w.identity.uid === located.identity.uid);
    if (!parsed) throw new InputError('workflow changed on disk since the scan', { file: located.file });
    return buildBundle(located, parsed);
  }

  private async parseFile(file: string, keepForLoad = false): Promise<ParseResult> {
    if (this.lastParse?.file === file) return this.lastParse.result;
    return this.parseText(file, await readText(file), keepForLoad);
  }

  private parseText(file: string, text: string, keepForLoad: boolean): ParseResult {
    this.options.onFile?.(file);
    const result = parseWorkflowText(text, file);
    this.lastParse = { file, result };
    if (keepForLoad && this.parsedByScanBytes + text.length <= PARSE_CACHE_BYTES) {
      this.parsedByScan.set(file, result);
      this.parsedByScanBytes += text.length;
    }
    return result;
  }

  /** Finds every workflow once: top-level YAML/JSON files first, then `<namespace>/<name>/workflow.*`. */
  private async scan() {
    if (this.scanned) return this.scanned;
    let realRoot: string;
    try {
      realRoot = await realpath(this.dir);
      if (!(await stat(realRoot)).isDirectory()) throw new Error('ENOTDIR');
    } catch (err) {
      throw new InputError(`export directory is not readable: ${(err as Error).message}`, { file: this.dir });
    }
    const byUid = new Map<string, Located>();
    const byName = new Map<string, Located>();
    const problems: SourceProblem[] = [];
    const add = (located: Located) => {
      const key = `${located.identity.namespace}/${located.identity.name}`;
      const previous = byUid.get(located.identity.uid) ?? byName.get(key);
      if (previous) {
        problems.push({
          where: located.file,
          message: `duplicate workflow ${key} (uid ${located.identity.uid}); keeping the one in ${previous.file}`,
        });
        return;
      }
      byUid.set(located.identity.uid, located);
      byName.set(key, located);
    };

    // Hidden entries (.git, .cache, editor files) are not workflows or namespaces.
    const top = (await sortedEntries(realRoot)).filter((e) => !e.name.startsWith('.'));
    const claimedDirs = new Set<string>();
    const namespaces: string[] = [];
    for (const entry of top) {
      const path = join(realRoot, entry.name);
      let real: string;
      try {
        real = await resolveInside(realRoot, entry.name);
      } catch (err) {
        problems.push(problemOf(err, path));
        continue;
      }
      const info = await stat(real);
      if (info.isDirectory()) {
        namespaces.push(entry.name);
        continue;
      }
      if (!info.isFile() || !WORKFLOW_EXT.test(entry.name)) continue;
      const result = await this.parseFileForScan(real, problems);
      if (!result) continue;
      for (const p of result.problems) problems.push(p);
      const ownFile = result.workflows.length === 1 && result.problems.length === 0;
      for (const w of result.workflows) {
        const located: Located = { identity: w.identity, root: realRoot, file: real, ownFile, notes: w.notes };
        try {
          const dataDir = await existingDataDir(realRoot, w.identity);
          if (dataDir) {
            located.dataDir = dataDir;
            claimedDirs.add(dataDir);
          }
        } catch (err) {
          problems.push(problemOf(err, join(realRoot, w.identity.namespace, w.identity.name)));
          continue; // its logs and artifacts would be read from outside the export: refuse the workflow
        }
        add(located);
      }
    }

    for (const ns of namespaces) {
      const entries = (await sortedEntries(join(realRoot, ns))).filter((e) => !e.name.startsWith('.'));
      // The next few workflow directories are resolved and their files read while this one is parsed.
      for await (const found of readAhead(entries, SCAN_READ_AHEAD, (e) =>
        findWorkflowFile(realRoot, ns, e, claimedDirs),
      )) {
        if (found === undefined) continue;
        if ('problem' in found) {
          problems.push(found.problem);
          continue;
        }
        const { rel, name, wfDir, file } = found;
        let result: ParseResult;
        try {
          result = this.parseText(file, await found.text, true);
        } catch (err) {
          problems.push(problemOf(err, file));
          continue;
        }
        for (const p of result.problems) problems.push(p);
        if (result.workflows.length > 1) {
          problems.push({
            where: file,
            message: `holds ${result.workflows.length} workflows; a workflow file holds one`,
          });
          continue;
        }
        const w = result.workflows[0];
        if (!w) continue;
        const notes = [...w.notes];
        if (w.identity.namespace !== ns || w.identity.name !== name) {
          notes.push(`directory ${rel} holds workflow ${w.identity.namespace}/${w.identity.name}`);
        }
        add({ identity: w.identity, root: realRoot, file, ownFile: true, dataDir: wfDir, notes });
      }
    }
    const unique = new Map(problems.map((p) => [`${p.where}\n${p.message}`, p]));
    this.scanned = { byUid, byName, problems: [...unique.values()] };
    return this.scanned;
  }

  private async parseFileForScan(file: string, problems: SourceProblem[]): Promise<ParseResult | undefined> {
    try {
      return await this.parseFile(file, true);
    } catch (err) {
      problems.push(problemOf(err, file));
      return undefined;
    }
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file });
  }
}

type FoundWorkflowFile =
  { problem: SourceProblem } | { rel: string; name: string; wfDir: string; file: string; text: Promise<string> };

/**
 * `<ns>/<entry>/workflow.*` resolved inside the root and being read; undefined when the entry is not a directory
 * or is the data directory of a workflow from a top-level file (`claimed`).
 */
async function findWorkflowFile(
  realRoot: string,
  ns: string,
  entry: Dirent,
  claimed: ReadonlySet<string>,
): Promise<FoundWorkflowFile | undefined> {
  const rel = `${ns}/${entry.name}`;
  let wfDir: string;
  try {
    wfDir = await resolveInside(realRoot, rel);
  } catch (err) {
    return { problem: problemOf(err, join(realRoot, rel)) };
  }
  if (!(await stat(wfDir)).isDirectory()) return undefined;
  if (claimed.has(wfDir)) return undefined;
  const fileName = await firstExisting(wfDir, WORKFLOW_FILES);
  if (!fileName) {
    return { problem: { where: join(realRoot, rel), message: `no ${WORKFLOW_FILES.join('/')} in this directory` } };
  }
  let file: string;
  try {
    file = await resolveInside(realRoot, `${rel}/${fileName}`);
  } catch (err) {
    return { problem: problemOf(err, join(realRoot, rel, fileName)) };
  }
  const text = readText(file);
  text.catch(() => undefined); // a read error becomes a problem when the scan gets to this file
  return { rel, name: entry.name, wfDir, file, text };
}

/** `fn` over `items` in order, up to `ahead` calls started before their results are taken. */
async function* readAhead<T, R>(items: readonly T[], ahead: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const started: Array<Promise<R>> = [];
  let next = 0;
  const start = () => {
    while (next < items.length && started.length < ahead) {
      const p = fn(items[next++]!);
      p.catch(() => undefined); // thrown when its turn comes
      started.push(p);
    }
  };
  start();
  while (started.length > 0) {
    const result = await started.shift()!;
    start();
    yield result;
  }
}

function problemOf(err: unknown, fallback: string): SourceProblem {
  if (err instanceof StrataError) {
    const loc = err.location;
    const where = loc?.file ? [loc.file, loc.line, loc.column].filter((x) => x !== undefined).join(':') : fallback;
    return { where, message: err.message };
  }
  return { where: fallback, message: err instanceof Error ? err.message : String(err) };
}

async function sortedEntries(dir: string): Promise<Dirent[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const name of names) {
    try {
      await lstat(join(dir, name));
      return name;
    } catch {
      // try the next name
    }
  }
  return undefined;
}

async function existingDataDir(realRoot: string, id: WorkflowIdentity): Promise<string | undefined> {
  let safe = true;
  try {
    checkSegment(id.namespace, 'namespace');
    checkSegment(id.name, 'workflow name');
  } catch {
    safe = false; // such a workflow cannot have a data directory; its entries will show up as missing
  }
  if (!safe) return undefined;
  try {
    await lstat(join(realRoot, id.namespace, id.name));
  } catch {
    return undefined;
  }
  const real = await resolveInside(realRoot, `${id.namespace}/${id.name}`);
  return (await stat(real)).isDirectory() ? real : undefined;
}

interface FoundFile {
  /** Path relative to the workflow directory, POSIX. */
  rel: string;
  real: string;
  size: number;
}

interface Walk {
  files: FoundFile[];
  /** Symlinks whose target does not exist (relative paths); they become missing entries. */
  dangling: string[];
  seen: Set<string>;
}

/** Every regular file below `dir`, symlinks checked against `realRoot` (refused with an InputError when outside). */
async function walkFiles(realRoot: string, dir: string): Promise<Walk> {
  const acc: Walk = { files: [], dangling: [], seen: new Set([dir]) };
  await flatten(realRoot, await readTree(realRoot, dir, limiter(FS_CONCURRENCY)), '', acc);
  return acc;
}

/** A directory read ahead: its entries in name order; plain subdirectories read ahead too. */
interface Tree {
  entries: Array<{ name: string; looked: Looked | { error: unknown }; sub?: Promise<Tree> }>;
}

type Looked =
  | { type: 'dangling' | 'other' }
  | { type: 'dir'; real: string; link: boolean }
  | { type: 'file'; real: string; size: number };

type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * Reads a directory and, concurrently, every plain (not symlinked) directory below it: one file system round
 * trip after another made walking a workflow directory slower than reading its bytes. Symlinked directories
 * are left to `flatten`, which reads them only when it gets to them, so links cannot multiply the work.
 */
async function readTree(realRoot: string, dir: string, limit: Limit): Promise<Tree> {
  const names = await limit(() => sortedEntries(dir));
  const entries = await Promise.all(
    names.map(async (entry) => {
      let looked: Looked | { error: unknown };
      try {
        looked = await limit(() => lookAt(realRoot, dir, entry));
      } catch (err) {
        looked = { error: err };
      }
      const sub =
        'type' in looked && looked.type === 'dir' && !looked.link ? readTree(realRoot, looked.real, limit) : undefined;
      // Read-ahead of a subtree that flatten skips or never reaches must not become an unhandled rejection.
      sub?.catch(() => undefined);
      return sub ? { name: entry.name, looked, sub } : { name: entry.name, looked };
    }),
  );
  return { entries };
}

/** Takes a read-ahead tree in name order, depth first, each real directory once; the first error in that order throws. */
async function flatten(realRoot: string, tree: Tree, relPrefix: string, acc: Walk): Promise<void> {
  for (const { name, looked, sub } of tree.entries) {
    if ('error' in looked) throw looked.error;
    const rel = relPrefix + name;
    if (looked.type === 'dangling') acc.dangling.push(rel);
    else if (looked.type === 'file') acc.files.push({ rel, real: looked.real, size: looked.size });
    else if (looked.type === 'dir' && !acc.seen.has(looked.real)) {
      acc.seen.add(looked.real);
      const subtree = await (sub ?? readTree(realRoot, looked.real, limiter(FS_CONCURRENCY)));
      await flatten(realRoot, subtree, rel + '/', acc);
    }
  }
}

/** What one directory entry is, symlinks followed and checked against `realRoot`. */
async function lookAt(realRoot: string, dir: string, entry: Dirent): Promise<Looked> {
  let real = join(dir, entry.name);
  const link = entry.isSymbolicLink();
  if (link) {
    try {
      await stat(real);
    } catch {
      return { type: 'dangling' };
    }
    real = await resolveInside(realRoot, real.slice(realRoot.length + 1));
  } else if (entry.isDirectory()) {
    return { type: 'dir', real, link }; // not a link below a real directory, so already a real path
  }
  const info = await stat(real);
  if (info.isDirectory()) return { type: 'dir', real, link };
  if (info.isFile()) return { type: 'file', real, size: info.size };
  return { type: 'other' };
}

/** Runs at most `max` of the functions given to it at once, the others in the order they came. */
function limiter(max: number): Limit {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (fn) => {
    if (running >= max) await new Promise<void>((go) => waiting.push(go));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * Streams a file in reads sized to it (up to 1 MiB): a read buffer much larger than the file costs an allocation
 * and a copy per file, one much smaller costs a read call per 64 KiB.
 */
function openFile(file: string, size: number): Readable {
  const highWaterMark = Math.min(READ_CHUNK_BYTES, Math.max(MIN_READ_CHUNK_BYTES, size));
  return createReadStream(file, { highWaterMark });
}

/**
 * Reads a whole file with one handle and as few reads as possible (half the CPU of collecting a stream of a
 * small file). A file that grew since it was listed is read to its end, not cut at the listed size.
 */
async function readWhole(file: string, size: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(size + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const grown = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(grown);
        buf = grown;
      }
      const want = buf.length - n;
      const { bytesRead } = await handle.read(buf, n, want, n);
      n += bytesRead;
      // A regular file reads short only at its end: no extra read (and thread-pool trip) to see 0 bytes.
      if (bytesRead < want) return buf.subarray(0, n);
    }
  } finally {
    await handle.close();
  }
}

function fileEntry(
  found: FoundFile,
  fields: Omit<BundleEntry, 'path' | 'open' | 'read' | 'size' | 'kind'> & { kind: BundleEntry['kind'] },
): BundleEntry {
  return {
    ...fields,
    path: found.rel,
    size: found.size,
    open: async () => openFile(found.real, found.size),
    read: () => readWhole(found.real, found.size),
  };
}

async function resourceMeta(found: FoundFile, kindDir: string, name: string): Promise<Record<string, unknown>> {
  const meta: Record<string, unknown> = { kind: kindDir, name };
  if (found.size > MAX_RESOURCE_PARSE_BYTES) return meta;
  try {
    const text = await readFile(found.real, 'utf8');
    const obj: unknown = loadPlainYaml(text)?.value ?? parseYaml(text);
    if (isRecord(obj)) {
      if (typeof obj.apiVersion === 'string') meta.apiVersion = obj.apiVersion;
      if (typeof obj.kind === 'string') meta.kind = obj.kind;
      if (isRecord(obj.metadata) && typeof obj.metadata.name === 'string') meta.name = obj.metadata.name;
    }
  } catch {
    // kept as it is; the archive stores the bytes, the meta falls back to the path
  }
  return meta;
}

async function workflowEntry(located: Located, parsed: ParsedWorkflow): Promise<BundleEntry> {
  if (located.ownFile) {
    const name = basename(located.file);
    const ext = /\.(ya?ml|json)$/.exec(name)?.[0] ?? '.yaml';
    const size = (await stat(located.file)).size;
    return {
      path: `workflow${ext}`,
      kind: 'workflow',
      size,
      open: async () => openFile(located.file, size),
    };
  }
  const text = JSON.stringify(parsed.workflow, null, 2) + '\n';
  return {
    path: 'workflow.json',
    kind: 'workflow',
    size: Buffer.byteLength(text),
    open: async () => Readable.from([Buffer.from(text)]),
  };
}

async function buildBundle(located: Located, parsed: ParsedWorkflow): Promise<WorkflowBundle> {
  const workflow = parsed.workflow;
  const nodes = extractNodes(workflow);
  for (const n of nodes) checkSegment(n.id, 'node id', located.file);
  const entries: BundleEntry[] = [await workflowEntry(located, parsed)];
  const missing: MissingEntry[] = [];
  const walk = located.dataDir ? await walkFiles(located.root, located.dataDir) : undefined;
  const files = walk?.files ?? [];
  const nodeById = new Map(nodes.map((n) => [n.id, n]));
  // Resource manifests are read and parsed concurrently; each entry gets its meta before the bundle is returned.
  const limit = limiter(FS_CONCURRENCY);
  const metas: Array<Promise<void>> = [];

  for (const f of files) {
    const parts = f.rel.split('/');
    if (parts.length === 1 && WORKFLOW_FILES.includes(f.rel)) {
      if (located.ownFile && f.real === located.file) continue;
    }
    const [top, a, b, c, d, e] = parts;
    if (top === 'logs' && parts.length === 3 && a && b?.endsWith('.log')) {
      const node = nodeById.get(a);
      const container = b.slice(0, -'.log'.length);
      const meta: Record<string, unknown> = {};
      if (node?.podName) meta.podName = node.podName;
      if (container === 'main' && node?.mainLogs) meta.artifact = node.mainLogs.raw;
      entries.push(fileEntry(f, { kind: 'log', nodeId: a, container, meta }));
    } else if (top === 'artifacts' && parts.length >= 3 && a && b) {
      const node = nodeById.get(a);
      const artifact = node ? matchArtifact(node, b) : undefined;
      const fields: Parameters<typeof fileEntry>[1] = { kind: 'artifact', nodeId: a };
      if (artifact) {
        fields.artifactName = artifact.name;
        fields.meta = artifact.raw;
      }
      entries.push(fileEntry(f, fields));
    } else if (top === 'resources' && parts.length === 3 && a && b && WORKFLOW_EXT.test(b)) {
      const name = b.replace(WORKFLOW_EXT, '');
      const meta: Record<string, unknown> = {};
      metas.push(limit(() => resourceMeta(f, a, name)).then((found) => void Object.assign(meta, found)));
      entries.push(fileEntry(f, { kind: 'resource', meta }));
    } else if (top === 'resources' && parts.length === 6 && a && b && c === 'logs' && d && e?.endsWith('.log')) {
      const container = e.slice(0, -'.log'.length);
      entries.push(fileEntry(f, { kind: 'log', container, meta: { resourceKind: a, resourceName: b, podName: d } }));
    } else {
      entries.push(fileEntry(f, { kind: 'resource', meta: { unclassified: true } }));
    }
  }

  await Promise.all(metas);

  for (const rel of walk?.dangling ?? []) {
    const kind = rel.startsWith('logs/') ? 'log' : rel.startsWith('artifacts/') ? 'artifact' : 'resource';
    const nodeId = kind === 'resource' ? undefined : rel.split('/')[1];
    missing.push({ path: rel, kind, ...(nodeId ? { nodeId } : {}), reason: 'symlink whose target does not exist' });
  }
  const present = new Set([...entries.map((e) => e.path), ...missing.map((m) => m.path)]);
  for (const node of nodes) {
    if (node.ran && !present.has(`logs/${node.id}/main.log`)) {
      missing.push({
        path: `logs/${node.id}/main.log`,
        kind: 'log',
        nodeId: node.id,
        reason: located.dataDir
          ? `main log of pod ${node.podName ?? node.id} (node phase ${node.phase}) is not in the export`
          : `the export has no directory ${located.identity.namespace}/${located.identity.name}/ for logs and artifacts`,
      });
    }
    // Retry, DAG and Steps nodes repeat their children's outputs; the pod that produced an artifact owns it.
    for (const artifact of node.type === 'Pod' ? node.outputArtifacts : []) {
      const found = entries.some(
        (e) => e.kind === 'artifact' && e.nodeId === node.id && e.artifactName === artifact.name,
      );
      if (found) continue;
      missing.push({
        path: `artifacts/${node.id}/${artifact.name}`,
        kind: 'artifact',
        nodeId: node.id,
        reason: located.dataDir
          ? `output artifact "${artifact.name}"${artifact.s3Key ? ` (s3 key ${artifact.s3Key})` : ''} is not in the export`
          : `the export has no directory ${located.identity.namespace}/${located.identity.name}/ for logs and artifacts`,
      });
    }
  }
  const bundle: WorkflowBundle = { ...located.identity, workflow, entries, missing };
  if (located.notes.length) bundle.notes = [...located.notes];
  return bundle;
}

/** `artifacts/<nodeId>/<file>` belongs to the output artifact named `<file>` or `<file>` minus its extension. */
function matchArtifact(node: WorkflowNode, fileName: string) {
  const longestFirst = (list: WorkflowNode['outputArtifacts']) =>
    [...list].sort((x, y) => y.name.length - x.name.length);
  return (
    node.outputArtifacts.find((a) => a.name === fileName) ??
    longestFirst(node.outputArtifacts).find((a) => fileName.startsWith(a.name + '.')) ??
    longestFirst(node.inputArtifacts).find((a) => a.name === fileName || fileName.startsWith(a.name + '.'))
  );
}
