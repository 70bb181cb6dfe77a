// Runs finalize for manifests: verify, re-read the workflow, plan (finalize.ts), then label and maybe delete — audited.
import type { AuditLog } from '../audit/audit.ts';
import { recordIntent } from '../audit/write-ahead.ts';
import { describeError } from '../errors.ts';
import type { MetadataPatch } from '../kube/cluster-api.ts';
import type { ManifestVerification } from '../archive/checker.ts';
import { planFinalize, type FinalizeFacts } from './finalize.ts';
import { archivedMarks, isMarkedArchivedBy, type WorkflowObject } from './workflow-state.ts';

/** What finalize needs from the cluster (the Kubernetes adapter fits it). */
export interface FinalizeCluster {
  getWorkflow(namespace: string, name: string): Promise<WorkflowObject | undefined>;
  patchWorkflowMetadata(namespace: string, name: string, uid: string, patch: MetadataPatch): Promise<unknown>;
  deleteWorkflow(namespace: string, name: string, uid: string): Promise<'deleted' | 'pending' | 'absent'>;
}

export interface FinalizeDeps {
  cluster: FinalizeCluster;
  verifyManifest(id: string): Promise<ManifestVerification>;
  /** Policy's verdict on deleting this workflow's source now. */
  deletion(wf: WorkflowObject): Promise<Pick<FinalizeFacts, 'deleteSourceAfterArchive' | 'policyError' | 'held'>>;
  audit: AuditLog;
  actor: string;
  dryRun?: boolean;
}

export interface FinalizeOutcome {
  manifest: string;
  workflow: string;
  labelled: boolean;
  /** deleted: gone; pending: finalizers (artifact GC) keep it until Argo clears them; kept: policy or doubt. */
  source: 'deleted' | 'pending' | 'kept' | 'absent';
  refused: boolean;
  reasons: string[];
}

export async function finalizeManifest(id: string, deps: FinalizeDeps): Promise<FinalizeOutcome> {
  const manifest = await deps.verifyManifest(id);
  const ref =
    manifest.workflowNamespace && manifest.workflowName
      ? `${manifest.workflowNamespace}/${manifest.workflowName}`
      : '?';
  const outcome: FinalizeOutcome = {
    manifest: id,
    workflow: ref,
    labelled: false,
    source: 'kept',
    refused: false,
    reasons: [],
  };
  const workflow =
    ref === '?' ? undefined : await deps.cluster.getWorkflow(manifest.workflowNamespace!, manifest.workflowName!);
  let facts: FinalizeFacts = { manifest, workflow, deleteSourceAfterArchive: undefined, held: false };
  if (workflow) {
    try {
      facts = { ...facts, ...(await deps.deletion(workflow)) };
    } catch (err) {
      facts.policyError = describeError(err);
    }
  }
  const plan = planFinalize(facts);
  outcome.refused = plan.refused;
  outcome.reasons = plan.reasons;
  if (!workflow) outcome.source = 'absent';
  if (plan.refused || !workflow || deps.dryRun) {
    await deps.audit.record({
      action: 'finalize',
      actor: deps.actor,
      subject: manifest.workflowUid ?? id,
      outcome: plan.refused ? 'refused' : 'ok',
      reason: plan.reasons.join('; '),
      details: { manifest: id, workflow: ref, dryRun: Boolean(deps.dryRun), plan },
    });
    return outcome;
  }
  const { namespace, name, uid } = workflow.metadata as { namespace: string; name: string; uid: string };
  if (plan.label) {
    try {
      await deps.cluster.patchWorkflowMetadata(namespace, name, uid, archivedMarks(id));
    } catch (err) {
      // Fail closed and go on with the other manifests: not labelled, not deleted, the cause in the outcome.
      outcome.refused = true;
      outcome.reasons = [`labelling failed: ${describeError(err)}`];
      await deps.audit.record({
        action: 'finalize',
        actor: deps.actor,
        subject: uid,
        outcome: 'failed',
        reason: outcome.reasons[0]!,
        details: { manifest: id, workflow: ref },
      });
      return outcome;
    }
  }
  outcome.labelled = plan.label || isMarkedArchivedBy(workflow, id);
  await deps.audit.record({
    action: 'finalize',
    actor: deps.actor,
    subject: uid,
    outcome: 'ok',
    reason: plan.reasons.join('; '),
    details: { manifest: id, workflow: ref },
  });
  if (plan.delete) {
    // Deleting the source is recorded first: unrecorded, the workflow stays (the error stops the run).
    await recordIntent(deps.audit, {
      action: 'delete-source',
      actor: deps.actor,
      subject: uid,
      details: { manifest: id, workflow: ref },
    });
    try {
      const result = await deps.cluster.deleteWorkflow(namespace, name, uid);
      outcome.source = result === 'absent' ? 'absent' : result;
      await deps.audit.record({
        action: 'delete-source',
        actor: deps.actor,
        subject: uid,
        outcome: 'ok',
        reason: result,
        details: { manifest: id, workflow: ref },
      });
    } catch (err) {
      outcome.refused = true;
      outcome.reasons.push(`delete failed: ${describeError(err)}`);
      await deps.audit.record({
        action: 'delete-source',
        actor: deps.actor,
        subject: uid,
        outcome: 'failed',
        reason: describeError(err),
        details: { manifest: id },
      });
    }
  }
  return outcome;
}
