// Runs finalize for manifests: verify, re-read the workflow, plan (finalize.ts), then label and maybe delete — audited.
import type { AuditLog } from '../audit/audit.ts';
import { auditedOperation, recordIntent } from '../audit/write-ahead.ts';
import { AuditError, AuditRefusal, describeError } from '../errors.ts';
import type { MetadataPatch } from '../kube/cluster-api.ts';
import type { ManifestVerification } from '../archive/checker.ts';
import type { OriginalsAccess } from './artifact-originals.ts';
import { planFinalize, type FinalizeFacts, type FinalizePlan } from './finalize.ts';
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
  /**
   * The originals in Argo's artifact repository the manifest lists, looked at now (artifactOriginals). Absent:
   * finalize leaves every original where it is.
   */
  originals?(manifestId: string, workflow: WorkflowObject): Promise<OriginalsAccess>;
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
  /** Originals removed from the artifact repository (and checked gone), and those left there with why. */
  originals: { deleted: number; kept: FinalizePlan['originals']['keep'] };
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
    originals: { deleted: 0, kept: [] },
  };
  const workflow =
    ref === '?' ? undefined : await deps.cluster.getWorkflow(manifest.workflowNamespace!, manifest.workflowName!);
  let facts: FinalizeFacts = { manifest, workflow, deleteSourceAfterArchive: undefined, held: false };
  let originals: OriginalsAccess | undefined;
  if (workflow) {
    try {
      facts = { ...facts, ...(await deps.deletion(workflow)) };
    } catch (err) {
      facts.policyError = describeError(err);
    }
  }
  let plan = planFinalize(facts);
  // Originals are looked at (read and hashed) only when the workflow is going: kept workflows keep theirs anyway.
  if (workflow && plan.delete && deps.originals) {
    originals = await deps.originals(id, workflow);
    facts.originals = originals.facts;
    plan = planFinalize(facts);
  }
  outcome.refused = plan.refused;
  outcome.reasons = plan.reasons;
  outcome.originals.kept = plan.originals.keep;
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
  if (plan.delete && plan.originals.delete.length) {
    // Originals go before the workflow: once it is gone, nothing says where they are (finalize.ts).
    const deleting = plan.originals.delete.map((o) => {
      const fact = facts.originals?.objects.find((x) => x.key === o.key && x.bucket === o.bucket);
      return { ...o, sha256: fact?.sha256, size: fact?.size };
    });
    try {
      await auditedOperation(
        deps.audit,
        {
          action: 'delete-originals',
          actor: deps.actor,
          subject: uid,
          hashes: deleting.flatMap((o) => (o.sha256 ? [o.sha256] : [])),
          details: { manifest: id, workflow: ref, repository: facts.originals?.repository, originals: deleting },
        },
        () => originals!.remove(plan.originals.delete),
        () => ({ reason: `${deleting.length} deleted, each checked gone` }),
      );
      outcome.originals.deleted = deleting.length;
    } catch (err) {
      if (err instanceof AuditRefusal || err instanceof AuditError) throw err;
      outcome.refused = true;
      outcome.reasons.push(`originals not all deleted (${describeError(err)}): the workflow is kept for a re-run`);
      return outcome;
    }
  }
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
