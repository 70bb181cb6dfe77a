// The rules by which the Argo workflow controller (v4) and the API server take a submitted Workflow and run it as
// new, for checking what Strata writes to workflow.resubmit.yaml. Each rule names where Argo or Kubernetes has it:
//  - workflow/controller/controller.go: the informer lists only workflows of its instance id
//    (tweakListRequestListOptions → util.InstanceIDRequirement); the event handler's FilterFunc drops every
//    workflow labelled completed=true (reconciliationNeeded), and processNextItem returns early on it;
//  - operator.go operate(): only status.phase "" (Unknown) starts a workflow (validation, markWorkflowRunning);
//    a finished phase is reconciled as finished, a Running one against pods that do not exist;
//  - controller.go (since #15090, in 4.0.5): the last-seen-version annotation is compared with the controller's
//    own record of the workflow, and a mismatch re-queues it instead of processing it;
//  - spec.shutdown stops a workflow, activeDeadlineSeconds 0 fails it at once (FormulateResubmitWorkflow clears
//    both); metadata.name is used as given, so a name that still exists collides (409 AlreadyExists);
//  - the API server refuses a create that carries resourceVersion, and metadata that breaks its rules (422).
import { argoNodeId } from '../../lib/archive/argo-resubmit.ts';
import { formatFieldError, validateObjectMeta } from './kube-validation.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ControllerRuleOptions {
  /** The controller's instanceID (workflow-controller-configmap), undefined when it has none. */
  instanceId?: string;
  /** A memoized resubmit: a name and a status with node statuses are expected. */
  memoized?: boolean;
}

const ARGO = 'workflows.argoproj.io';

/**
 * Why the controller would skip, refuse or not start this object as a new workflow, or why the API server would
 * refuse to create it; empty when it would run. Also Strata's own rule: a rerun carries no archived marks.
 */
export function controllerProblems(obj: Obj, opts: ControllerRuleOptions = {}): string[] {
  const problems: string[] = [];
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const labels = isObj(meta.labels) ? (meta.labels as Record<string, string>) : {};
  const annotations = isObj(meta.annotations) ? (meta.annotations as Record<string, string>) : {};
  const spec = isObj(obj.spec) ? obj.spec : undefined;
  const status = isObj(obj.status) ? obj.status : undefined;

  if (obj.apiVersion !== 'argoproj.io/v1alpha1' || obj.kind !== 'Workflow')
    problems.push(`not an argoproj.io/v1alpha1 Workflow (${String(obj.apiVersion)} ${String(obj.kind)})`);
  if (!spec) problems.push('no spec');

  // API server: create.
  if (meta.resourceVersion !== undefined)
    problems.push('metadata.resourceVersion is set: the API server refuses the create');
  for (const f of ['uid', 'creationTimestamp', 'deletionTimestamp', 'managedFields', 'generation', 'selfLink'])
    if (meta[f] !== undefined) problems.push(`metadata.${f} is server-set and must not be submitted`);
  const nameForValidation = {
    ...meta,
    name: meta.name ?? (meta.generateName ? `${String(meta.generateName)}abcde` : undefined),
  };
  for (const e of validateObjectMeta(nameForValidation)) problems.push(`API server: ${formatFieldError(e)}`);
  if (opts.memoized) {
    if (typeof meta.name !== 'string' || !meta.name)
      problems.push('memoized: metadata.name must be set (node ids derive from it)');
  } else if (meta.name !== undefined) {
    problems.push('metadata.name is set: submit by generateName, or it collides with the original while that exists');
  }
  if (Array.isArray(meta.ownerReferences) && meta.ownerReferences.length)
    problems.push(
      'metadata.ownerReferences: the owner may be gone and the garbage collector then deletes the workflow',
    );
  if (Array.isArray(meta.finalizers) && meta.finalizers.length)
    problems.push(`metadata.finalizers ${JSON.stringify(meta.finalizers)}: the controller adds its own`);

  // Controller: informer and queue.
  if (labels[`${ARGO}/completed`] === 'true')
    problems.push(`labelled ${ARGO}/completed=true: the controller's informer ignores it (it never runs)`);
  const instance = labels[`${ARGO}/controller-instanceid`];
  if (instance !== opts.instanceId)
    problems.push(
      `label ${ARGO}/controller-instanceid is ${instance ?? 'absent'}, the controller's instance id ${opts.instanceId ?? 'none'}: not listed`,
    );
  if (labels[`${ARGO}/phase`] !== undefined) problems.push(`labelled ${ARGO}/phase: that is the controller's to set`);
  if (labels[`${ARGO}/workflow-archiving-status`] !== undefined)
    problems.push(`labelled ${ARGO}/workflow-archiving-status: that is the controller's to set`);
  if (annotations[`${ARGO}/last-seen-version`] !== undefined)
    problems.push(`annotation ${ARGO}/last-seen-version: the controller's stale-object check would re-queue it`);

  // Operator: what makes it start.
  if (spec?.shutdown) problems.push(`spec.shutdown ${String(spec.shutdown)}: stopped as soon as it starts`);
  if (spec?.activeDeadlineSeconds === 0) problems.push('spec.activeDeadlineSeconds 0: fails as soon as it starts');
  if (status && Object.keys(status).length > 0) {
    if (!opts.memoized) problems.push('has a status: a new workflow is submitted without one');
    if (status.phase) problems.push(`status.phase ${String(status.phase)}: only phase "" (Unknown) starts a workflow`);
    if (status.finishedAt) problems.push('status.finishedAt is set: the workflow looks finished');
    const name = typeof meta.name === 'string' ? meta.name : '';
    for (const [key, node] of Object.entries(isObj(status.nodes) ? status.nodes : {})) {
      const n = isObj(node) ? node : {};
      if (n.id !== key || key !== argoNodeId(name, String(n.name)))
        problems.push(`status.nodes[${key}]: id is not the controller's id for node "${String(n.name)}" of ${name}`);
    }
  }

  // Strata: a workflow marked archived is never selected by a sweep.
  if (labels['strata.dev/archived'] !== undefined)
    problems.push('labelled strata.dev/archived: Strata would never archive the rerun');
  return problems;
}
