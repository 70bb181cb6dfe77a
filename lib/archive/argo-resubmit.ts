// The Workflow object to submit again after a restore: what Argo's own resubmit (FormulateResubmitWorkflow in
// argo-workflows workflow/util/util.go) makes of a finished workflow, so the controller runs it as a new one.
import { gunzipSync } from 'node:zlib';
import { InputError } from '../errors.ts';
import { fnv32a } from '../sources/argo-nodes.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const ARGO = 'workflows.argoproj.io';
/** Set by the controller on a finished workflow; its informer ignores every workflow labelled completed=true. */
export const COMPLETED_LABEL = `${ARGO}/completed`;
export const PHASE_LABEL = `${ARGO}/phase`;
export const ARCHIVING_STATUS_LABEL = `${ARGO}/workflow-archiving-status`;
export const CREATOR_LABELS = [`${ARGO}/creator`, `${ARGO}/creator-email`, `${ARGO}/creator-preferred-username`];
/** Argo's label on a resubmitted workflow naming the one it came from. */
export const RESUBMITTED_FROM_LABEL = `${ARGO}/resubmitted-from-workflow`;
/** The controller's record of the last version it processed (stale-informer check, Argo 3.6+). */
export const LAST_SEEN_VERSION_ANNOTATION = `${ARGO}/last-seen-version`;
/** Strata's own marks of an archived workflow (lib/pipeline/workflow-state.ts): a rerun is not archived yet. */
const STRATA_MARKS = { labels: ['strata.dev/archived'], annotations: ['strata.dev/manifest'] };
/** Where the restored object came from, for whoever finds the rerun. */
export const RESTORED_FROM_ANNOTATION = 'strata.dev/restored-from-manifest';

/** Metadata the API server or the controller sets; a new object carries none of it. */
const SERVER_SET_METADATA = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'generation',
  'selfLink',
  // Argo keeps these on resubmit; a restore can be years later, when the owner (a CronWorkflow) is gone and the
  // garbage collector would delete the new workflow at once.
  'ownerReferences',
  // The controller adds its own (artifact GC); a copied one could keep the new workflow from ever being deleted.
  'finalizers',
];

export interface ResubmitOptions {
  /** Keep the original's creator labels (Argo drops them and labels the one who resubmits). */
  keepCreator?: boolean;
  /**
   * Argo's memoized resubmit: succeeded pods of a Failed/Error workflow are not run again (their nodes become
   * Skipped); the failed ones and everything after them run. The object then has a name and a status.
   */
  memoized?: boolean;
  /** The manifest the object was restored from (annotation strata.dev/restored-from-manifest). */
  manifestId?: string;
  /** Memoized mode: the suffix of the new name (default: five random characters, as Argo). */
  nameSuffix?: string;
  now?: Date;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function randomSuffix(): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 5 }, () => letters[Math.floor(Math.random() * letters.length)]).join('');
}

/** Argo's Workflow.NodeID: the workflow's own node is its name, every other `<name>-<fnv32a(node name)>`. */
export function argoNodeId(workflowName: string, nodeName: string): string {
  return nodeName === workflowName ? workflowName : `${workflowName}-${fnv32a(nodeName)}`;
}

/**
 * The restored Workflow as Argo's resubmit makes it: submitted by generateName (never the old name, which would
 * collide while the original exists), without status, server-set metadata, finalizers or owner references, without
 * the labels the controller sets (completed, phase, archiving status, creator unless kept) or its last-seen-version
 * annotation, with spec.shutdown and a zero activeDeadlineSeconds (a terminated run) removed, and labelled
 * resubmitted-from-workflow. Argo's informer ignores a workflow labelled completed=true, so one that kept it would
 * never run.
 */
export function resubmitWorkflow(workflow: Obj, opts: ResubmitOptions = {}): Obj {
  const meta = isObj(workflow.metadata) ? workflow.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const generateName =
    typeof meta.generateName === 'string' && meta.generateName ? meta.generateName : name ? `${name}-` : '';
  if (!generateName) throw new InputError('the archived Workflow has neither metadata.name nor generateName');

  // generateName (and the name, when memoized) first, so the file reads as a new object.
  const metadata: Obj = { generateName, ...meta };
  for (const f of SERVER_SET_METADATA) delete metadata[f];
  delete metadata.name;

  const dropLabels = new Set([
    COMPLETED_LABEL,
    PHASE_LABEL,
    ARCHIVING_STATUS_LABEL,
    ...(opts.keepCreator ? [] : CREATOR_LABELS),
    ...STRATA_MARKS.labels,
  ]);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(isObj(meta.labels) ? meta.labels : {})) {
    if (!dropLabels.has(k) && typeof v === 'string') labels[k] = v;
  }
  // A label value holds at most 63 characters; a longer name is still in the annotation below.
  if (name && name.length <= 63 && LABEL_VALUE.test(name)) labels[RESUBMITTED_FROM_LABEL] = name;
  else delete labels[RESUBMITTED_FROM_LABEL];
  metadata.labels = labels;

  const dropAnnotations = new Set([LAST_SEEN_VERSION_ANNOTATION, ...STRATA_MARKS.annotations]);
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(isObj(meta.annotations) ? meta.annotations : {})) {
    if (!dropAnnotations.has(k) && typeof v === 'string') annotations[k] = v;
  }
  if (opts.manifestId) annotations[RESTORED_FROM_ANNOTATION] = opts.manifestId;
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  else delete metadata.annotations;

  const spec: Obj = { ...(isObj(workflow.spec) ? workflow.spec : {}) };
  if (spec.activeDeadlineSeconds === 0) delete spec.activeDeadlineSeconds;
  delete spec.shutdown;

  const { status: _status, metadata: _metadata, spec: _spec, ...rest } = workflow;
  void _status;
  void _metadata;
  void _spec;
  const out: Obj = {
    ...rest,
    apiVersion: typeof workflow.apiVersion === 'string' ? workflow.apiVersion : 'argoproj.io/v1alpha1',
    kind: typeof workflow.kind === 'string' ? workflow.kind : 'Workflow',
    metadata,
    spec,
  };
  if (!opts.memoized) return out;

  const newName = generateName + (opts.nameSuffix ?? randomSuffix());
  out.metadata = { name: newName, ...metadata };
  out.status = memoizedStatus(workflow, name, newName, opts.now ?? new Date());
  return out;
}

interface ArgoNode extends Obj {
  id: string;
  name: string;
  type?: string;
  phase?: string;
  boundaryID?: string;
  children?: string[];
  outboundNodes?: string[];
}

/** status.nodes, also when Argo stored them compressed (status.compressedNodes: base64 of gzipped JSON). */
function nodesOf(status: Obj): Record<string, ArgoNode> {
  if (isObj(status.nodes)) return status.nodes as Record<string, ArgoNode>;
  if (typeof status.compressedNodes === 'string' && status.compressedNodes) {
    return JSON.parse(gunzipSync(Buffer.from(status.compressedNodes, 'base64')).toString('utf8')) as Record<
      string,
      ArgoNode
    >;
  }
  if (status.offloadNodeStatusVersion) {
    throw new InputError('memoized resubmit needs status.nodes; this workflow offloaded them to Argo’s database');
  }
  return {};
}

const failedOrError = (n: ArgoNode) => n.phase === 'Failed' || n.phase === 'Error';

/** Mirrors FormulateResubmitWorkflow's memoized branch: node names and ids move to the new name. */
function memoizedStatus(workflow: Obj, oldName: string, newName: string, now: Date): Obj {
  const status = isObj(workflow.status) ? workflow.status : {};
  const phase = typeof status.phase === 'string' ? status.phase : '';
  if (phase !== 'Failed' && phase !== 'Error') {
    throw new InputError(`workflow must be Failed/Error to resubmit in memoized mode (it is ${phase || 'unknown'})`);
  }
  const oldNodes = nodesOf(status);
  const rename = (nodeName: string) =>
    nodeName.startsWith(oldName) ? newName + nodeName.slice(oldName.length) : nodeName;
  const convertId = (oldId: string) => argoNodeId(newName, rename(oldNodes[oldId]?.name ?? ''));
  const descendantSucceeded = (node: ArgoNode, seen: Set<string>): boolean =>
    (node.children ?? []).some((child) => {
      const c = oldNodes[child];
      if (!c || seen.has(child)) return false;
      seen.add(child);
      return c.phase === 'Succeeded' || descendantSucceeded(c, seen);
    });
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const nodes: Record<string, Obj> = {};
  for (const node of Object.values(oldNodes)) {
    if (node.name.startsWith(`${oldName}.onExit`)) continue;
    const next: ArgoNode = structuredClone(node);
    next.name = rename(node.name);
    next.id = argoNodeId(newName, next.name);
    if (node.boundaryID) next.boundaryID = convertId(node.boundaryID);
    if (failedOrError(node) && node.type === 'Pod') {
      delete next.startedAt;
      delete next.finishedAt;
    } else {
      next.startedAt = at;
      next.finishedAt = at;
    }
    if (node.children) next.children = node.children.map(convertId);
    if (node.outboundNodes) next.outboundNodes = node.outboundNodes.map(convertId);
    if (!failedOrError(node) && node.type === 'Pod') {
      next.phase = 'Skipped';
      next.type = 'Skipped';
      next.message = `original pod: ${node.id}`;
    } else if (node.type === 'Skipped' && !descendantSucceeded(node, new Set())) {
      continue;
    } else {
      next.phase = 'Pending';
      delete next.message;
    }
    nodes[next.id] = next;
  }
  return {
    nodes,
    ...(isObj(status.storedTemplates) && { storedTemplates: structuredClone(status.storedTemplates) }),
    conditions: [{ status: 'False', type: 'Completed' }],
  };
}
