// The layout rules of a directory export (docs/directory-export.md): which file holds a workflow, and what each
// file under `<namespace>/<name>/` is in the workflow's bundle (log, artifact, related resource).
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import type { BundleEntry, MissingEntry, WorkflowBundle, WorkflowIdentity } from '../bundle/bundle.ts';
import { unfinishedEntry } from '../bundle/completion.ts';
import { limiter } from '../concurrency.ts';
import { extractNodes, type WorkflowNode } from './argo-nodes.ts';
import { isRecord, type ParsedWorkflow } from './argo-workflow.ts';
import { openFile, readWhole } from './file-reader.ts';
import { checkSegment } from './safe-path.ts';
import { FS_CONCURRENCY, walkFiles, type FoundFile } from './tree-walk.ts';
import { loadPlainYaml } from './yaml-fast.ts';

/** File names a workflow directory may hold its Workflow object in, in order of preference. */
export const WORKFLOW_FILES = ['workflow.yaml', 'workflow.yml', 'workflow.json'];
/** Names of files that may hold workflows (top-level files) or related resources. */
export const WORKFLOW_EXT = /\.(ya?ml|json)$/;
/** Related resource manifests larger than this are archived but not parsed for their apiVersion/kind. */
const MAX_RESOURCE_PARSE_BYTES = 1 << 20;

/** A workflow found in an export: where its object and its data directory are. */
export interface Located {
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

/** Real paths (workflow files and data directories) and the workflows they belong to. */
export type Owners = ReadonlyMap<string, readonly WorkflowIdentity[]>;

/** The owners of every located workflow's file and data directory. */
export function ownersOf(located: Iterable<Located>): Owners {
  const owners = new Map<string, WorkflowIdentity[]>();
  const own = (path: string, id: WorkflowIdentity) => {
    const list = owners.get(path);
    if (list) list.push(id);
    else owners.set(path, [id]);
  };
  for (const l of located) {
    own(l.file, l.identity);
    if (l.dataDir) own(l.dataDir, l.identity);
  }
  return owners;
}

/** `namespace/name` of another workflow that owns `real` or its nearest owned ancestor below the export root. */
function ownerElsewhere(owners: Owners, root: string, self: WorkflowIdentity, real: string): string | undefined {
  for (let p = real; p.length > root.length; p = dirname(p)) {
    const ids = owners.get(p);
    if (!ids) continue;
    const other = ids.find((id) => id.uid !== self.uid);
    return other ? `${other.namespace}/${other.name}` : undefined;
  }
  return undefined;
}

/**
 * The bundle of a located workflow: its object, every file of its data directory classified, what is missing.
 * `owners` keeps other workflows' files out of it.
 */
export async function buildBundle(located: Located, parsed: ParsedWorkflow, owners: Owners): Promise<WorkflowBundle> {
  const workflow = parsed.workflow;
  const nodes = extractNodes(workflow);
  for (const n of nodes) checkSegment(n.id, 'node id', located.file);
  const entries: BundleEntry[] = [await workflowEntry(located, parsed)];
  const unfinished = unfinishedEntry(workflow);
  const missing: MissingEntry[] = unfinished ? [unfinished] : [];
  const walk = located.dataDir
    ? await walkFiles({
        root: located.root,
        dir: located.dataDir,
        ownerElsewhere: (real) => ownerElsewhere(owners, located.root, located.identity, real),
      })
    : undefined;
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

  for (const { rel, reason } of walk?.skipped ?? []) {
    const kind = rel.startsWith('logs/') ? 'log' : rel.startsWith('artifacts/') ? 'artifact' : 'resource';
    const nodeId = kind === 'resource' ? undefined : rel.split('/')[1];
    missing.push({ path: rel, kind, ...(nodeId ? { nodeId } : {}), reason });
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

function fileEntry(
  found: FoundFile,
  fields: Omit<BundleEntry, 'path' | 'open' | 'read' | 'size' | 'kind'> & { kind: BundleEntry['kind'] },
): BundleEntry {
  return {
    ...fields,
    path: found.rel,
    size: found.size,
    open: () => openFile(found.real, found.size),
    read: () => readWhole(found.real, found.size),
  };
}

async function resourceMeta(found: FoundFile, kindDir: string, name: string): Promise<Record<string, unknown>> {
  const meta: Record<string, unknown> = { kind: kindDir, name };
  if (found.size > MAX_RESOURCE_PARSE_BYTES) return meta;
  try {
    const text = (await readWhole(found.real, found.size)).toString('utf8');
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
      open: () => openFile(located.file, size),
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
