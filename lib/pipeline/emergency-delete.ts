// Emergency delete of one workflow (leaked secret, court order): its manifests and cluster object, refused under a legal hold unless break-glass.
import { listManifests, readManifest } from '../archive/manifest-lookup.ts';
import { manifestKey, type Repository } from '../archive/repository.ts';
import type { AuditLog } from '../audit/audit.ts';
import { describeError } from '../errors.ts';
import { activeHolds, type HoldRecord } from '../policy/holds.ts';
import type { FinalizeCluster } from './finalize-run.ts';

export interface EmergencyDeleteRequest {
  uid: string;
  reason: string;
  approver: string;
  actor: string;
  breakGlass: boolean;
  dryRun: boolean;
  /** namespace/name to delete from the cluster as well (uid-guarded), when known. */
  workflow?: { namespace: string; name: string };
}

export interface EmergencyDeleteResult {
  uid: string;
  refused: boolean;
  reasons: string[];
  manifests: string[];
  deletedManifests: number;
  cluster: 'deleted' | 'pending' | 'absent' | 'skipped' | 'failed';
}

export async function emergencyDelete(
  req: EmergencyDeleteRequest,
  deps: { repo: Repository; holds: HoldRecord[]; cluster?: FinalizeCluster; audit: AuditLog; now: Date },
): Promise<EmergencyDeleteResult> {
  const result: EmergencyDeleteResult = {
    uid: req.uid,
    refused: false,
    reasons: [],
    manifests: [],
    deletedManifests: 0,
    cluster: 'skipped',
  };
  const details = { approver: req.approver, breakGlass: req.breakGlass, dryRun: req.dryRun };
  const refuse = async (reason: string) => {
    result.refused = true;
    result.reasons.push(reason);
    await deps.audit.record({
      action: 'emergency-delete',
      actor: req.actor,
      subject: req.uid,
      outcome: 'refused',
      reason,
      details,
    });
    return result;
  };
  if (!req.reason.trim() || !req.approver.trim()) return refuse('a reason and an approver are required');
  if (req.approver === req.actor) return refuse(`the approver must be someone else than the requester (${req.actor})`);
  const held = activeHolds(deps.holds, req.uid, deps.now);
  if (held.length && !req.breakGlass)
    return refuse(
      `under legal hold ${held.map((h) => `${h.id} (${h.reason})`).join(', ')}: set break-glass to override`,
    );
  if (held.length) result.reasons.push(`BREAK-GLASS over legal hold ${held.map((h) => h.id).join(', ')}`);

  for await (const info of listManifests(deps.repo)) {
    const m = await readManifest(deps.repo, info.id);
    if (m.workflow.uid === req.uid) {
      result.manifests.push(info.id);
      req.workflow ??= { namespace: m.workflow.namespace, name: m.workflow.name };
    }
  }
  if (!req.dryRun) {
    // Manifests first: their packs become unreferenced and `strata gc` removes them after its grace period.
    await deps.repo.store.delete(result.manifests.map(manifestKey));
    result.deletedManifests = result.manifests.length;
    if (deps.cluster && req.workflow) {
      try {
        const wf = await deps.cluster.getWorkflow(req.workflow.namespace, req.workflow.name);
        result.cluster =
          wf?.metadata.uid === req.uid
            ? await deps.cluster.deleteWorkflow(req.workflow.namespace, req.workflow.name, req.uid)
            : 'absent';
      } catch (err) {
        result.cluster = 'failed';
        result.reasons.push(`cluster delete failed: ${describeError(err)}`);
      }
    }
  }
  result.reasons.push(
    `${req.dryRun ? 'would delete' : 'deleted'} ${result.manifests.length} manifests; packs go with the next gc`,
  );
  await deps.audit.record({
    action: 'emergency-delete',
    actor: req.actor,
    subject: req.uid,
    outcome: result.cluster === 'failed' ? 'failed' : 'ok',
    reason: req.reason,
    details: {
      ...details,
      manifests: result.manifests,
      cluster: result.cluster,
      holdsOverridden: held.map((h) => h.id),
    },
  });
  return result;
}
