// The Argo artifact repository source: a workflow's output artifacts and archived logs read straight from the bucket.
import { Readable } from 'node:stream';
import type { BundleEntry, MissingEntry, WorkflowBundle, WorkflowIdentity, WorkflowSource } from '../bundle/bundle.ts';
import { unfinishedEntry } from '../bundle/completion.ts';
import type { ObjectStore } from '../store/store.ts';
import { expectedLogKey, extractNodes, type NodeArtifact, type WorkflowNode } from './argo-nodes.ts';
import { validateWorkflow } from './argo-workflow.ts';
import { checkSegment } from './safe-path.ts';

export interface ArtifactRepositoryOptions {
  /** The bucket `store` reads; artifacts Argo recorded in another bucket become missing entries. */
  bucket?: string;
  /** How many keys to look up at once. */
  concurrency?: number;
}

export interface ArtifactRepositoryEntries {
  entries: BundleEntry[];
  missing: MissingEntry[];
}

interface Expected {
  key: string | undefined;
  bucket: string | undefined;
  path: string;
  kind: 'log' | 'artifact';
  node: WorkflowNode;
  artifact?: NodeArtifact;
  /** Why there is no key, when there is none. */
  noKeyReason?: string;
}

/** `file-tar.tgz` for artifact `file-tar` keeps `.tgz`; keys that do not start with the name keep no extension. */
function artifactFileName(artifact: NodeArtifact): string {
  const base = artifact.s3Key?.split('/').pop() ?? '';
  return base.startsWith(artifact.name + '.') ? base : artifact.name;
}

function expectations(workflow: Record<string, unknown>): Expected[] {
  const out: Expected[] = [];
  for (const node of extractNodes(workflow)) {
    // Retry/DAG/Steps nodes repeat their children's outputs; the Pod node that produced them owns them.
    if (node.type !== 'Pod') continue;
    checkSegment(node.id, 'node id');
    if (node.ran && node.archiveLogs) {
      const key = node.mainLogs?.s3Key ?? expectedLogKey(workflow, node);
      const e: Expected = {
        key,
        bucket: node.mainLogs?.s3Bucket,
        path: `logs/${node.id}/main.log`,
        kind: 'log',
        node,
      };
      if (node.mainLogs) e.artifact = node.mainLogs;
      if (!key) e.noKeyReason = 'archived log key cannot be derived from the repository keyFormat';
      out.push(e);
    }
    for (const artifact of node.outputArtifacts) {
      const e: Expected = {
        key: artifact.s3Key,
        bucket: artifact.s3Bucket,
        path: `artifacts/${node.id}/${checkSegment(artifactFileName(artifact), 'artifact name')}`,
        kind: 'artifact',
        node,
        artifact,
      };
      if (!artifact.s3Key) e.noKeyReason = `output artifact "${artifact.name}" has no s3 key in status`;
      out.push(e);
    }
  }
  return out;
}

/**
 * Bundle entries for every output artifact and archived main log that status.nodes records, looked up in `store`
 * (the artifact bucket). Keys that are absent or unreadable become missing entries with the reason.
 */
export async function artifactRepositoryEntries(
  workflow: Record<string, unknown>,
  store: ObjectStore,
  options: ArtifactRepositoryOptions = {},
): Promise<ArtifactRepositoryEntries> {
  const expected = expectations(workflow);
  const found: (BundleEntry | MissingEntry)[] = new Array(expected.length);
  const lookUp = async (e: Expected): Promise<BundleEntry | MissingEntry> => {
    const miss = (reason: string): MissingEntry => ({ path: e.path, kind: e.kind, nodeId: e.node.id, reason });
    if (!e.key) return miss(e.noKeyReason ?? 'no key');
    if (options.bucket && e.bucket && e.bucket !== options.bucket) {
      return miss(`s3 key ${e.key} is in bucket ${e.bucket}, not in ${options.bucket} (${store.url})`);
    }
    const key = e.key;
    let info;
    try {
      info = await store.head(key);
    } catch (err) {
      return miss(`s3 key ${key} unreadable in ${store.url}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!info) return miss(`s3 key ${key} not found in ${store.url}`);
    const meta: Record<string, unknown> = { s3Key: key };
    if (e.node.podName) meta.podName = e.node.podName;
    if (e.artifact) meta.artifact = e.artifact.raw;
    const entry: BundleEntry = {
      path: e.path,
      kind: e.kind,
      nodeId: e.node.id,
      meta,
      size: info.size,
      open: async (): Promise<Readable> => store.get(key),
    };
    if (e.kind === 'log') entry.container = 'main';
    else if (e.artifact) entry.artifactName = e.artifact.name;
    return entry;
  };
  const concurrency = Math.max(1, options.concurrency ?? 8);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, expected.length) }, async () => {
      while (next < expected.length) {
        const i = next++;
        found[i] = await lookUp(expected[i]!);
      }
    }),
  );
  const result: ArtifactRepositoryEntries = { entries: [], missing: [] };
  for (const x of found) {
    if ('open' in x) result.entries.push(x);
    else result.missing.push(x);
  }
  return result;
}

/** A whole bundle from a Workflow object and its artifact bucket: the object (as JSON) plus what the bucket holds. */
export async function loadArtifactRepositoryBundle(
  workflow: Record<string, unknown>,
  store: ObjectStore,
  options: ArtifactRepositoryOptions = {},
): Promise<WorkflowBundle> {
  const { identity, notes } = validateWorkflow(workflow, { file: `${store.url} (workflow object)` });
  const { entries, missing } = await artifactRepositoryEntries(workflow, store, options);
  const unfinished = unfinishedEntry(workflow);
  if (unfinished) missing.unshift(unfinished);
  const text = Buffer.from(JSON.stringify(workflow, null, 2) + '\n');
  const workflowEntry: BundleEntry = {
    path: 'workflow.json',
    kind: 'workflow',
    size: text.length,
    open: async () => Readable.from([text]),
  };
  const bundle: WorkflowBundle = { ...identity, workflow, entries: [workflowEntry, ...entries], missing };
  if (notes.length) bundle.notes = notes;
  return bundle;
}

/**
 * A source whose bundles are completed from the artifact bucket: every log or artifact the inner source reports
 * missing is looked up in `store` and, when there, replaces the missing entry.
 */
export function withArtifactRepository(
  inner: WorkflowSource,
  store: ObjectStore,
  options: ArtifactRepositoryOptions = {},
): WorkflowSource {
  return {
    description: `${inner.description}+artifacts:${store.url}`,
    list: () => inner.list(),
    async load(id: WorkflowIdentity): Promise<WorkflowBundle> {
      const bundle = await inner.load(id);
      if (bundle.missing.length === 0) return bundle;
      const bucket = await artifactRepositoryEntries(bundle.workflow, store, options);
      const entries = [...bundle.entries];
      const taken = new Set(entries.map((e) => e.path));
      const missing: MissingEntry[] = [];
      for (const m of bundle.missing) {
        if (m.kind === 'workflow') {
          missing.push(m); // an unfinished workflow's final state is in no bucket
          continue;
        }
        const found = bucket.entries.find((e) => sameThing(e, m));
        if (found && !taken.has(found.path)) {
          entries.push(found);
          taken.add(found.path);
          continue;
        }
        const why = bucket.missing.find((b) => sameThing(b, m))?.reason ?? 'not recorded for the artifact repository';
        missing.push({ ...m, reason: `${m.reason}; bucket: ${why}` });
      }
      return { ...bundle, entries, missing };
    },
  };
}

/** The same log (same path) or the same artifact of the same node (file name = artifact name [+ extension]). */
function sameThing(a: { kind: string; nodeId?: string; path: string }, m: MissingEntry): boolean {
  if (a.kind !== m.kind || a.nodeId !== m.nodeId) return false;
  if (m.kind !== 'artifact') return a.path === m.path;
  const wanted = m.path.split('/')[2] ?? '';
  const have = a.path.split('/')[2] ?? '';
  return have === wanted || have.startsWith(wanted + '.') || wanted.startsWith(have + '.');
}
