// Reads status.nodes of an Argo Workflow: node facts, pod names (POD_NAMES v1/v2) and where logs and artifacts live.
import { isRecord } from './argo-workflow.ts';

export interface NodeArtifact {
  name: string;
  /** Key in the artifact repository (s3.key), when Argo recorded one. */
  s3Key?: string;
  s3Bucket?: string;
  /** Argo's artifact object as recorded in status (path, archive, s3, …). */
  raw: Record<string, unknown>;
}

export interface WorkflowNode {
  id: string;
  name: string;
  displayName: string;
  type: string;
  phase: string;
  templateName?: string;
  boundaryID?: string;
  /** The pod that ran the node (Pod nodes only). */
  podName?: string;
  outputArtifacts: NodeArtifact[];
  inputArtifacts: NodeArtifact[];
  /** The archived main log artifact (`main-logs`), when Argo recorded one. */
  mainLogs?: NodeArtifact;
  /** Whether Argo was told to archive this node's logs (workflow, template or repository setting). */
  archiveLogs: boolean;
  /** Whether a pod actually ran, so logs are expected. */
  ran: boolean;
}

/** The artifact name Argo gives archived main logs. */
export const MAIN_LOGS_ARTIFACT = 'main-logs';

const NOT_RUN_PHASES = new Set(['Pending', 'Skipped', 'Omitted']);

/** FNV-1a 32-bit, as Go's hash/fnv New32a (Argo hashes node names with it). */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const MAX_K8S_NAME = 253;
const K8S_HASH_LENGTH = 10;

/** Mirrors Argo's workflow/util/pod_name.go GeneratePodName. */
export function podName(
  workflowName: string,
  nodeName: string,
  templateName: string | undefined,
  nodeId: string,
  version: 'v1' | 'v2',
): string {
  if (version === 'v1' || !templateName) return nodeId;
  if (workflowName === nodeName) return workflowName;
  let prefix = nodeName.includes('.inline') ? workflowName : `${workflowName}-${templateName}`;
  const maxPrefix = MAX_K8S_NAME - K8S_HASH_LENGTH;
  if (prefix.length > maxPrefix - 1) prefix = prefix.slice(0, maxPrefix - 1);
  return `${prefix}-${fnv32a(nodeName)}`;
}

/**
 * The workflow's pod-name-format annotation; without it the controller's POD_NAMES default applied (v2 since
 * Argo 3.4), unless a recorded main-log key shows pods named after their node id (v1, older controllers).
 */
export function podNameVersion(workflow: Record<string, unknown>): 'v1' | 'v2' {
  const metadata = isRecord(workflow.metadata) ? workflow.metadata : {};
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  const annotated = annotations['workflows.argoproj.io/pod-name-format'];
  if (annotated === 'v1' || annotated === 'v2') return annotated;
  const status = isRecord(workflow.status) ? workflow.status : {};
  const nodes = isRecord(status.nodes) ? status.nodes : {};
  for (const [key, n] of Object.entries(nodes)) {
    if (!isRecord(n) || n.type !== 'Pod') continue;
    const id = typeof n.id === 'string' ? n.id : key;
    const logs = toArtifacts(isRecord(n.outputs) ? n.outputs.artifacts : undefined).find(
      (a) => a.name === MAIN_LOGS_ARTIFACT,
    );
    if (logs?.s3Key) return logs.s3Key.split('/').slice(-2)[0] === id ? 'v1' : 'v2';
  }
  return 'v2';
}

function toArtifacts(value: unknown): NodeArtifact[] {
  if (!Array.isArray(value)) return [];
  const out: NodeArtifact[] = [];
  for (const a of value) {
    if (!isRecord(a) || typeof a.name !== 'string') continue;
    const s3 = isRecord(a.s3) ? a.s3 : undefined;
    const artifact: NodeArtifact = { name: a.name, raw: a };
    if (s3 && typeof s3.key === 'string') artifact.s3Key = s3.key;
    if (s3 && typeof s3.bucket === 'string') artifact.s3Bucket = s3.bucket;
    out.push(artifact);
  }
  return out;
}

function templateOf(node: Record<string, unknown>): string | undefined {
  if (typeof node.templateName === 'string' && node.templateName) return node.templateName;
  const ref = node.templateRef;
  if (isRecord(ref) && typeof ref.template === 'string' && ref.template) return ref.template;
  return undefined;
}

function repositoryArchivesLogs(workflow: Record<string, unknown>): boolean {
  const spec = isRecord(workflow.spec) ? workflow.spec : {};
  if (isRecord(spec.archiveLogs) || spec.archiveLogs === true) return true;
  const status = isRecord(workflow.status) ? workflow.status : {};
  const ref = isRecord(status.artifactRepositoryRef) ? status.artifactRepositoryRef : {};
  const repo = isRecord(ref.artifactRepository) ? ref.artifactRepository : {};
  return repo.archiveLogs === true;
}

function templateArchivesLogs(
  workflow: Record<string, unknown>,
  templateName: string | undefined,
): boolean | undefined {
  const spec = isRecord(workflow.spec) ? workflow.spec : {};
  if (!templateName || !Array.isArray(spec.templates)) return undefined;
  const t = spec.templates.find((x: unknown) => isRecord(x) && x.name === templateName);
  if (!isRecord(t) || !isRecord(t.archiveLocation)) return undefined;
  const v = t.archiveLocation.archiveLogs;
  return typeof v === 'boolean' ? v : undefined;
}

/** Every node of status.nodes, in a stable order (by id). */
export function extractNodes(workflow: Record<string, unknown>): WorkflowNode[] {
  const status = isRecord(workflow.status) ? workflow.status : {};
  const nodes = isRecord(status.nodes) ? status.nodes : {};
  const metadata = isRecord(workflow.metadata) ? workflow.metadata : {};
  const wfName = typeof metadata.name === 'string' ? metadata.name : '';
  const version = podNameVersion(workflow);
  const repoLogs = repositoryArchivesLogs(workflow);
  const out: WorkflowNode[] = [];
  for (const key of Object.keys(nodes).sort()) {
    const n = nodes[key];
    if (!isRecord(n)) continue;
    const id = typeof n.id === 'string' && n.id ? n.id : key;
    const name = typeof n.name === 'string' ? n.name : id;
    const templateName = templateOf(n);
    const type = typeof n.type === 'string' ? n.type : '';
    const phase = typeof n.phase === 'string' ? n.phase : '';
    const outputs = isRecord(n.outputs) ? n.outputs : {};
    const inputs = isRecord(n.inputs) ? n.inputs : {};
    const all = toArtifacts(outputs.artifacts);
    const mainLogs = all.find((a) => a.name === MAIN_LOGS_ARTIFACT);
    const node: WorkflowNode = {
      id,
      name,
      displayName: typeof n.displayName === 'string' ? n.displayName : name,
      type,
      phase,
      outputArtifacts: all.filter((a) => a.name !== MAIN_LOGS_ARTIFACT),
      inputArtifacts: toArtifacts(inputs.artifacts),
      archiveLogs: Boolean(mainLogs) || (templateArchivesLogs(workflow, templateName) ?? repoLogs),
      ran: type === 'Pod' && !NOT_RUN_PHASES.has(phase) && (phase !== 'Error' || typeof n.startedAt === 'string'),
    };
    if (templateName) node.templateName = templateName;
    if (typeof n.boundaryID === 'string') node.boundaryID = n.boundaryID;
    if (mainLogs) node.mainLogs = mainLogs;
    if (type === 'Pod') node.podName = podName(wfName, name, templateName, id, version);
    out.push(node);
  }
  return out;
}

/**
 * Where Argo puts a pod's archived main log when status does not record the key:
 * `<keyFormat>/main.log`, keyFormat defaulting to `{{workflow.name}}/{{pod.name}}`.
 */
export function expectedLogKey(workflow: Record<string, unknown>, node: WorkflowNode): string | undefined {
  if (!node.podName) return undefined;
  const status = isRecord(workflow.status) ? workflow.status : {};
  const ref = isRecord(status.artifactRepositoryRef) ? status.artifactRepositoryRef : {};
  const repo = isRecord(ref.artifactRepository) ? ref.artifactRepository : {};
  const s3 = isRecord(repo.s3) ? repo.s3 : {};
  const keyFormat = typeof s3.keyFormat === 'string' && s3.keyFormat ? s3.keyFormat : '{{workflow.name}}/{{pod.name}}';
  const metadata = isRecord(workflow.metadata) ? workflow.metadata : {};
  const created = typeof metadata.creationTimestamp === 'string' ? new Date(metadata.creationTimestamp) : undefined;
  const pad = (n: number) => String(n).padStart(2, '0');
  const vars: Record<string, string> = {
    'workflow.name': String(metadata.name ?? ''),
    'workflow.namespace': String(metadata.namespace ?? ''),
    'workflow.uid': String(metadata.uid ?? ''),
    'pod.name': node.podName,
  };
  if (created && !Number.isNaN(created.getTime())) {
    vars['workflow.creationTimestamp.Y'] = String(created.getUTCFullYear());
    vars['workflow.creationTimestamp.m'] = pad(created.getUTCMonth() + 1);
    vars['workflow.creationTimestamp.d'] = pad(created.getUTCDate());
    vars['workflow.creationTimestamp.H'] = pad(created.getUTCHours());
    vars['workflow.creationTimestamp.M'] = pad(created.getUTCMinutes());
    vars['workflow.creationTimestamp.S'] = pad(created.getUTCSeconds());
  }
  let unknown = false;
  const prefix = keyFormat.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (_m, v: string) => {
    const value = vars[v];
    if (value === undefined) unknown = true;
    return value ?? '';
  });
  if (unknown) return undefined;
  return `${prefix.replace(/\/+$/, '')}/main.log`;
}
