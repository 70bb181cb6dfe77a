// The live-cluster source: a Workflow object, its pods' logs, artifacts from the artifact repository, and related resources.
import { Readable } from 'node:stream';
import {
  AbsentEntryError,
  type BundleEntry,
  type MissingEntry,
  type SourceProblem,
  type WorkflowBundle,
  type WorkflowIdentity,
  type WorkflowSource,
} from '../bundle/bundle.ts';
import { unfinishedEntry } from '../bundle/completion.ts';
import { workflowIdentity } from '../bundle/identity.ts';
import { ClusterError, InputError } from '../errors.ts';
import type { ClusterApi, KubeObject, ResourceType, Selection } from '../kube/cluster-api.ts';
import { JOBS } from '../kube/cluster-api.ts';
import { ClusterStatusError } from '../kube/errors.ts';
import { extractNodes, expectedLogKey, type WorkflowNode } from './argo-nodes.ts';
import type { ArtifactReader } from './artifact-reader.ts';

/** Custom resources Argo `resource` templates create in agent workflows. */
export const AGENT_RESOURCES: ResourceType[] = [
  { group: 'agents.platform', version: 'v1', plural: 'coderuns' },
  { group: 'agents.platform', version: 'v1', plural: 'docsruns' },
  { group: 'agents.platform', version: 'v1', plural: 'reviewruns' },
];

/** Labels that tie a resource to the workflow that created it (besides an ownerReference). */
const WORKFLOW_NAME_LABELS = ['workflows.argoproj.io/workflow', 'workflow-name'];

export interface ClusterSourceOptions {
  selection?: Selection;
  /** Only these workflows (a batch from assess); list() then yields exactly them. */
  refs?: { namespace: string; name: string; uid?: string }[];
  /** A fixed reader, or one chosen per workflow (its `status.artifactRepositoryRef`, the namespace's ConfigMap). */
  artifacts?: ArtifactReader | ((workflow: KubeObject) => Promise<ArtifactReader | undefined>);
  related?: ResourceType[];
}

export function openClusterSource(cluster: ClusterApi, options: ClusterSourceOptions = {}): WorkflowSource {
  return new ClusterSource(cluster, options);
}

function containersOf(pod: KubeObject): string[] {
  const spec = (pod.spec ?? {}) as { initContainers?: { name: string }[]; containers?: { name: string }[] };
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => c.name);
}

/**
 * The pod has no log for the container: 204 No Content (logs gone, or never written), 404 (pod gone meanwhile),
 * 400 (a container that never started: "waiting to start"). Other failures are failed reads, not absence.
 */
const LOG_NOT_THERE = new Set([204, 400, 404]);

function logNotThere(err: unknown): err is ClusterStatusError {
  return err instanceof ClusterStatusError && LOG_NOT_THERE.has(err.status);
}

function ownedBy(obj: KubeObject, uid: string | undefined): boolean {
  return Boolean(uid) && (obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid);
}

class ClusterSource implements WorkflowSource {
  readonly description: string;
  /** Related resources per namespace and type, listed once per source (a batch shares a namespace). */
  private readonly relatedCache = new Map<string, Promise<KubeObject[]>>();

  constructor(
    private readonly cluster: ClusterApi,
    private readonly options: ClusterSourceOptions,
  ) {
    const sel = options.selection;
    const where = options.refs
      ? `${options.refs.length} workflows`
      : sel?.namespaces?.length
        ? `ns=${sel.namespaces.join(',')}`
        : 'all namespaces';
    this.description = `k8s:${cluster.description} ${where}${sel?.labelSelector ? ` selector=${sel.labelSelector}` : ''}`;
  }

  async *list(): AsyncIterable<WorkflowIdentity | SourceProblem> {
    if (this.options.refs) {
      for (const ref of this.options.refs) {
        const wf = await this.cluster.getWorkflow(ref.namespace, ref.name);
        if (!wf) yield { where: `${ref.namespace}/${ref.name}`, message: 'workflow is no longer in the cluster' };
        else if (ref.uid && wf.metadata.uid !== ref.uid)
          yield {
            where: `${ref.namespace}/${ref.name}`,
            message: `uid is ${wf.metadata.uid}, expected ${ref.uid} (recreated since assess)`,
          };
        else yield identity(wf);
      }
      return;
    }
    for await (const wf of this.cluster.listWorkflows(this.options.selection ?? {})) {
      if (!wf.metadata.uid)
        yield { where: `${wf.metadata.namespace}/${wf.metadata.name}`, message: 'workflow has no metadata.uid' };
      else yield identity(wf);
    }
  }

  async load(id: WorkflowIdentity): Promise<WorkflowBundle> {
    const wf = await this.cluster.getWorkflow(id.namespace, id.name);
    if (!wf) throw new ClusterError('workflow is no longer in the cluster', { workflow: `${id.namespace}/${id.name}` });
    if (wf.metadata.uid !== id.uid) {
      throw new InputError(`uid is ${wf.metadata.uid}, expected ${id.uid}`, { workflow: `${id.namespace}/${id.name}` });
    }
    const entries: BundleEntry[] = [];
    const unfinished = unfinishedEntry(wf);
    const missing: MissingEntry[] = unfinished ? [unfinished] : [];
    const workflowJson = Buffer.from(JSON.stringify(wf, null, 2));
    entries.push({
      path: 'workflow.json',
      kind: 'workflow',
      size: workflowJson.length,
      open: async () => readableOf(workflowJson),
    });
    let reader: ArtifactReader | { problem: string } | undefined;
    try {
      const a = this.options.artifacts;
      reader = typeof a === 'function' ? await a(wf) : a;
    } catch (err) {
      reader = { problem: `artifact repository unusable: ${(err as Error).message}` };
    }
    await this.addNodeData(wf, id, entries, missing, reader);
    await this.addRelated(wf, id, entries, missing);
    return { uid: id.uid, namespace: id.namespace, name: id.name, workflow: wf, entries, missing };
  }

  private async addNodeData(
    wf: KubeObject,
    id: WorkflowIdentity,
    entries: BundleEntry[],
    missing: MissingEntry[],
    reader: ArtifactReader | { problem: string } | undefined,
  ): Promise<void> {
    const pods = await this.cluster.listPods(id.namespace, `workflows.argoproj.io/workflow=${id.name}`);
    const podByName = new Map(pods.map((p) => [p.metadata.name, p]));
    for (const node of extractNodes(wf)) {
      if (node.type !== 'Pod') continue;
      const pod = node.podName ? podByName.get(node.podName) : undefined;
      if (pod) {
        for (const container of containersOf(pod)) entries.push(this.liveLog(wf, node, pod, container, reader));
      } else if (node.ran) {
        const archived = await this.archivedMainLog(wf, node, reader);
        if ('open' in archived) entries.push(archived);
        else
          missing.push({
            path: `logs/${node.id}/main.log`,
            kind: 'log',
            nodeId: node.id,
            reason: `pod ${node.podName ?? node.id} is gone and ${archived.reason}`,
          });
      }
      for (const artifact of node.outputArtifacts) {
        const path = `artifacts/${node.id}/${artifact.name}`;
        if (!artifact.s3Key) {
          missing.push({
            path,
            kind: 'artifact',
            nodeId: node.id,
            reason: `artifact "${artifact.name}" has no S3 key in status (unsupported repository type)`,
          });
          continue;
        }
        const entry = await this.artifactEntry(reader, path, 'artifact', node.id, artifact.s3Bucket, artifact.s3Key);
        if ('open' in entry) entries.push({ ...entry, artifactName: artifact.name, meta: artifact.raw });
        else missing.push({ path, kind: 'artifact', nodeId: node.id, reason: entry.reason });
      }
    }
  }

  /**
   * A container's log read from the pod while it exists. When the pod has none (HTTP 204/400/404), the main log comes
   * from the artifact repository's archived copy (`main-logs`) instead; only a log that neither has is absent, and it
   * counts as missing only when the node ran (a pod that never started logged nothing).
   */
  private liveLog(
    wf: KubeObject,
    node: WorkflowNode,
    pod: KubeObject,
    container: string,
    reader: ArtifactReader | { problem: string } | undefined,
  ): BundleEntry {
    const namespace = pod.metadata.namespace ?? wf.metadata.namespace ?? 'default';
    const podName = pod.metadata.name;
    return {
      path: `logs/${node.id}/${container}.log`,
      kind: 'log',
      nodeId: node.id,
      container,
      // Where Argo archived this same log (main-logs), so finalize can delete that copy once it matches the archive.
      meta: { podName, ...(container === 'main' && node.mainLogs?.s3Key ? { s3Key: node.mainLogs.s3Key } : {}) },
      open: async () => {
        try {
          return await this.cluster.podLogs(namespace, podName, container);
        } catch (err) {
          if (!logNotThere(err)) throw err;
          const notInPod = `pod ${podName} has no log for container ${container} (HTTP ${err.status})`;
          if (container !== 'main') throw new AbsentEntryError(notInPod, node.ran);
          const archived = await this.archivedMainLog(wf, node, reader);
          if ('open' in archived) return archived.open();
          throw new AbsentEntryError(`${notInPod} and ${archived.reason}`, node.ran);
        }
      },
    };
  }

  /** The node's main log as Argo archived it (`main-logs`, or the key archiveLogs implies), or why there is none. */
  private async archivedMainLog(
    wf: KubeObject,
    node: WorkflowNode,
    reader: ArtifactReader | { problem: string } | undefined,
  ): Promise<BundleEntry | { reason: string }> {
    const key = node.mainLogs?.s3Key ?? (node.archiveLogs ? expectedLogKey(wf, node) : undefined);
    if (!key) return { reason: 'its logs were not archived to the artifact repository' };
    const path = `logs/${node.id}/main.log`;
    const entry = await this.artifactEntry(reader, path, 'log', node.id, node.mainLogs?.s3Bucket, key);
    if (!('open' in entry)) return entry;
    return { ...entry, container: 'main', meta: { podName: node.podName, s3Key: key } };
  }

  private async artifactEntry(
    reader: ArtifactReader | { problem: string } | undefined,
    path: string,
    kind: 'log' | 'artifact',
    nodeId: string,
    bucket: string | undefined,
    key: string,
  ): Promise<BundleEntry | { reason: string }> {
    if (!reader) return { reason: `no artifact repository configured to read s3 key ${key}` };
    if ('problem' in reader) return { reason: `${reader.problem} (s3 key ${key})` };
    let size: number | undefined;
    try {
      size = await reader.size(bucket, key);
    } catch (err) {
      return { reason: `artifact repository ${reader.description} failed for ${key}: ${(err as Error).message}` };
    }
    if (size === undefined)
      return { reason: `s3 key ${key} is gone from ${reader.description} (artifact GC or lifecycle rule)` };
    return { path, kind, nodeId, size, open: () => reader.open(bucket, key) };
  }

  private related(namespace: string, type: ResourceType): Promise<KubeObject[]> {
    const cacheKey = `${namespace}/${type.group}/${type.plural}`;
    let p = this.relatedCache.get(cacheKey);
    if (!p) {
      p = this.cluster.listResources(type, namespace).catch((err: unknown) => {
        // An agents.platform CRD that is not installed is not a failure of this workflow.
        if ((err as { status?: number }).status === 404) return [];
        throw err;
      });
      this.relatedCache.set(cacheKey, p);
    }
    return p;
  }

  private async addRelated(
    wf: KubeObject,
    id: WorkflowIdentity,
    entries: BundleEntry[],
    missing: MissingEntry[],
  ): Promise<void> {
    const owners: KubeObject[] = [];
    for (const type of this.options.related ?? AGENT_RESOURCES) {
      for (const obj of await this.related(id.namespace, type)) {
        const labels = obj.metadata.labels ?? {};
        if (ownedBy(obj, wf.metadata.uid) || WORKFLOW_NAME_LABELS.some((l) => labels[l] === id.name)) owners.push(obj);
      }
    }
    if (owners.length === 0) return;
    const jobs = await this.related(id.namespace, JOBS);
    for (const obj of owners) {
      const kind = obj.kind ?? 'Resource';
      const body = Buffer.from(JSON.stringify(obj, null, 2));
      entries.push({
        path: `resources/${kind}/${obj.metadata.name}.json`,
        kind: 'resource',
        size: body.length,
        meta: { apiVersion: obj.apiVersion, kind, name: obj.metadata.name, uid: obj.metadata.uid },
        open: async () => readableOf(body),
      });
      for (const job of jobs.filter((j) => ownedBy(j, obj.metadata.uid))) {
        const pods = await this.cluster.listPods(id.namespace, `job-name=${job.metadata.name}`);
        if (pods.length === 0) {
          missing.push({
            path: `resources/${kind}/${obj.metadata.name}/logs`,
            kind: 'log',
            reason: `pods of job ${job.metadata.name} are gone`,
          });
        }
        for (const pod of pods) {
          for (const container of containersOf(pod)) {
            const podName = pod.metadata.name;
            entries.push({
              path: `resources/${kind}/${obj.metadata.name}/logs/${podName}/${container}.log`,
              kind: 'log',
              container,
              meta: { resourceKind: kind, resourceName: obj.metadata.name, job: job.metadata.name, podName },
              open: async () => {
                try {
                  return await this.cluster.podLogs(id.namespace, podName, container);
                } catch (err) {
                  if (!logNotThere(err)) throw err;
                  throw new AbsentEntryError(
                    `pod ${podName} has no log for container ${container} (HTTP ${err.status})`,
                    true,
                  );
                }
              },
            });
          }
        }
      }
    }
  }
}

function identity(wf: KubeObject): WorkflowIdentity {
  return workflowIdentity(wf.metadata).identity;
}

function readableOf(bytes: Buffer): Readable {
  return Readable.from([bytes]);
}
