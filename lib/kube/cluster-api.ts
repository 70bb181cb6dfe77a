// The cluster port: what Strata needs from Kubernetes and Argo, nothing more (adapters: client.ts, test fakes).
import type { Readable } from 'node:stream';

/** A Kubernetes object as JSON (Workflow, Pod, ConfigMap, CodeRun …). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeMetadata;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubeMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
  [field: string]: unknown;
}

/** Where to look: every namespace (undefined / empty) or the listed ones; optionally a label selector. */
export interface Selection {
  namespaces?: string[];
  labelSelector?: string;
}

/** A resource type addressed by API group/version and plural, e.g. agents.platform/v1 coderuns. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  /** Resume after this version; the server answers 410 Gone when it is too old (see WatchExpiredError). */
  resourceVersion?: string;
  signal?: AbortSignal;
}

/** Labels and annotations to set (a string) or remove (null) in one merge patch. */
export interface MetadataPatch {
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
}

/** Result of a delete: `deleted` when the object is gone, `pending` when finalizers keep it (deletionTimestamp set). */
export type DeleteOutcome = 'deleted' | 'pending' | 'absent';

export interface ClusterApi {
  /** Describes the cluster for logs, e.g. `https://10.0.0.1:443`. */
  readonly description: string;
  /** Workflows of the selection, paging with `continue` tokens; `resourceVersion` of the last page in `listVersion`. */
  listWorkflows(selection: Selection, pageSize?: number): AsyncIterable<KubeObject>;
  /** The list's resourceVersion, after listWorkflows has been iterated to the end (single-namespace or cluster-wide). */
  lastListVersion(): string | undefined;
  getWorkflow(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Streams watch events until the server closes or the signal aborts; throws WatchExpiredError on 410. */
  watchWorkflows(opts: WatchOptions): AsyncIterable<WatchEvent>;
  listPods(namespace: string, labelSelector: string): Promise<KubeObject[]>;
  /** Streams one container's log. Throws ClusterError (status 404) when the pod is gone. */
  podLogs(namespace: string, pod: string, container: string): Promise<Readable>;
  /** Custom resources (e.g. agents.platform CodeRuns) or core/batch types, in one namespace. */
  listResources(type: ResourceType, namespace: string, labelSelector?: string): Promise<KubeObject[]>;
  getResource(type: ResourceType, namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Merge-patches labels and annotations (null removes one). Guards with the uid so a recreated namesake is never touched. */
  patchWorkflowMetadata(namespace: string, name: string, uid: string, patch: MetadataPatch): Promise<KubeObject>;
  /** Deletes with a uid precondition; finalizers (e.g. artifact GC) are left for Argo to clear. */
  deleteWorkflow(namespace: string, name: string, uid: string): Promise<DeleteOutcome>;
  readConfigMap(namespace: string, name: string): Promise<KubeObject | undefined>;
  listConfigMaps(namespace: string, labelSelector: string): Promise<KubeObject[]>;
  /** Creates or replaces a ConfigMap's data (used for the sweep watermark). */
  writeConfigMap(
    namespace: string,
    name: string,
    data: Record<string, string>,
    labels?: Record<string, string>,
  ): Promise<void>;
}

export const WORKFLOWS: ResourceType = { group: 'argoproj.io', version: 'v1alpha1', plural: 'workflows' };
export const PODS: ResourceType = { group: '', version: 'v1', plural: 'pods' };
export const JOBS: ResourceType = { group: 'batch', version: 'v1', plural: 'jobs' };
