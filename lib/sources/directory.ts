// The directory export source: workflows with their logs, artifacts and related resources laid out on disk
// (layout in docs/directory-export.md).
import { createReadStream, type Dirent } from 'node:fs';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
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

/** File names a workflow directory may hold its Workflow object in, in order of preference. */
export const WORKFLOW_FILES = ['workflow.yaml', 'workflow.yml', 'workflow.json'];
const WORKFLOW_EXT = /\.(ya?ml|json)$/;
/** Related resource manifests larger than this are archived but not parsed for their apiVersion/kind. */
const MAX_RESOURCE_PARSE_BYTES = 1 << 20;

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
    const parsed = (await this.parseFile(located.file)).workflows.find((w) => w.identity.uid === located.identity.uid);
    if (!parsed) throw new InputError('workflow changed on disk since the scan', { file: located.file });
    return buildBundle(located, parsed);
  }

  private async parseFile(file: string): Promise<ParseResult> {
    if (this.lastParse?.file === file) return this.lastParse.result;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file });
    }
    this.options.onFile?.(file);
    const result = parseWorkflowText(text, file);
    this.lastParse = { file, result };
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
      for (const entry of (await sortedEntries(join(realRoot, ns))).filter((e) => !e.name.startsWith('.'))) {
        const rel = `${ns}/${entry.name}`;
        let wfDir: string;
        try {
          wfDir = await resolveInside(realRoot, rel);
        } catch (err) {
          problems.push(problemOf(err, join(realRoot, rel)));
          continue;
        }
        if (!(await stat(wfDir)).isDirectory()) continue;
        if (claimedDirs.has(wfDir)) continue; // the data directory of a workflow from a top-level file
        const fileName = await firstExisting(wfDir, WORKFLOW_FILES);
        if (!fileName) {
          problems.push({ where: join(realRoot, rel), message: `no ${WORKFLOW_FILES.join('/')} in this directory` });
          continue;
        }
        let file: string;
        try {
          file = await resolveInside(realRoot, `${rel}/${fileName}`);
        } catch (err) {
          problems.push(problemOf(err, join(realRoot, rel, fileName)));
          continue;
        }
        const result = await this.parseFileForScan(file, problems);
        if (!result) continue;
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
        if (w.identity.namespace !== ns || w.identity.name !== entry.name) {
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
      return await this.parseFile(file);
    } catch (err) {
      problems.push(problemOf(err, file));
      return undefined;
    }
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
async function walkFiles(realRoot: string, dir: string, relPrefix = '', walk?: Walk): Promise<Walk> {
  const acc = walk ?? { files: [], dangling: [], seen: new Set<string>() };
  acc.seen.add(dir);
  for (const entry of await sortedEntries(dir)) {
    const rel = relPrefix + entry.name;
    let real = join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      try {
        await stat(real);
      } catch {
        acc.dangling.push(rel);
        continue;
      }
      real = await resolveInside(realRoot, real.slice(realRoot.length + 1));
    }
    const info = await stat(real);
    if (info.isDirectory()) {
      if (!acc.seen.has(real)) await walkFiles(realRoot, real, rel + '/', acc);
    } else if (info.isFile()) {
      acc.files.push({ rel, real, size: info.size });
    }
  }
  return acc;
}

function fileEntry(
  found: FoundFile,
  fields: Omit<BundleEntry, 'path' | 'open' | 'size' | 'kind'> & { kind: BundleEntry['kind'] },
): BundleEntry {
  return { ...fields, path: found.rel, size: found.size, open: async () => createReadStream(found.real) };
}

async function resourceMeta(found: FoundFile, kindDir: string, name: string): Promise<Record<string, unknown>> {
  const meta: Record<string, unknown> = { kind: kindDir, name };
  if (found.size > MAX_RESOURCE_PARSE_BYTES) return meta;
  try {
    const obj: unknown = parseYaml(await readFile(found.real, 'utf8'));
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
    return {
      path: `workflow${ext}`,
      kind: 'workflow',
      size: (await stat(located.file)).size,
      open: async () => createReadStream(located.file),
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
      entries.push(fileEntry(f, { kind: 'resource', meta: await resourceMeta(f, a, name) }));
    } else if (top === 'resources' && parts.length === 6 && a && b && c === 'logs' && d && e?.endsWith('.log')) {
      const container = e.slice(0, -'.log'.length);
      entries.push(fileEntry(f, { kind: 'log', container, meta: { resourceKind: a, resourceName: b, podName: d } }));
    } else {
      entries.push(fileEntry(f, { kind: 'resource', meta: { unclassified: true } }));
    }
  }

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
