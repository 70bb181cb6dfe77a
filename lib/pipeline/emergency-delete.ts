// Emergency delete of one workflow (leaked secret, court order): its data from every pack (shared packs repacked),
// its manifests, refs and catalog rows, and its cluster object, now; refused under a legal hold unless break-glass.
import { listManifests, readManifest } from '../archive/manifest-lookup.ts';
import { manifestKey, type Repository } from '../archive/repository.ts';
import type { AuditLog } from '../audit/audit.ts';
import { recordIntent } from '../audit/write-ahead.ts';
import { describeError } from '../errors.ts';
import { findApproval, samePerson, type ApprovalStore } from '../identity/approval.ts';
import { describeCheck, type AccessCheck, type AccessDecision } from '../identity/identity.ts';
import { activeHolds, type HoldsAndExtensions } from '../policy/holds.ts';
import {
  deleteArchives,
  enforceLocks,
  type CatalogRows,
  type DeletionOutcome,
  type LockTarget,
} from '../tier/index.ts';
import type { FinalizeCluster } from './finalize-run.ts';
import {
  dueDeletions,
  listScheduled,
  markDone,
  scheduleDeletion,
  type ScheduledDeletion,
} from '../tier/emergency-schedule.ts';

export interface EmergencyDeleteRequest {
  uid: string;
  reason: string;
  /**
   * Local mode only: the approver's name, taken on the caller's word (recorded unverified). On a cluster the approval
   * is a separate act by the approver (deps.approvals) and this must be absent.
   */
  approver?: string;
  actor: string;
  /** True when the actor is the identity the Kubernetes API server verified (cluster mode). */
  actorVerified?: boolean;
  breakGlass: boolean;
  dryRun: boolean;
  /** namespace/name to delete from the cluster as well (uid-guarded), when known. */
  workflow?: { namespace: string; name: string };
  /**
   * Cancellation window: when above 0 the approved deletion is only scheduled (cancellable until the window ends),
   * and the first tier run after it carries it out, checking holds and retention again.
   */
  windowMs?: number;
}

export interface EmergencyDeleteResult {
  uid: string;
  refused: boolean;
  reasons: string[];
  manifests: string[];
  deletedManifests: number;
  /** What the deletion did and proved (absent on a dry run or a refusal). */
  deletion?: Pick<DeletionOutcome, 'outcome' | 'packsDeleted' | 'repacked' | 'chunksDeleted' | 'stillPresent'>;
  cluster: 'deleted' | 'pending' | 'absent' | 'skipped' | 'failed';
  /** Set when the deletion was scheduled (a cancellation window) rather than carried out now. */
  scheduled?: { id: string; runAfter: string };
}

export interface EmergencyDeleteDeps {
  repo: Repository;
  /** Every hold and extension record (a deletion a crashed run left for another workflow is finished too, or undone). */
  holds: HoldsAndExtensions;
  cluster?: FinalizeCluster;
  audit: AuditLog;
  now: Date;
  /** See SweepOptions.settleMs. */
  settleMs: number;
  catalog?: CatalogRows;
  /** Asks whether the actor may (RBAC on strata.dev); absent in local mode, where nobody can be asked. */
  authorize?: (check: AccessCheck) => Promise<AccessDecision>;
  /** Where approvers' approvals are (cluster mode): one by another verified person must approve this exact request. */
  approvals?: ApprovalStore;
}

export async function emergencyDelete(
  req: EmergencyDeleteRequest,
  deps: EmergencyDeleteDeps,
): Promise<EmergencyDeleteResult> {
  const result: EmergencyDeleteResult = {
    uid: req.uid,
    refused: false,
    reasons: [],
    manifests: [],
    deletedManifests: 0,
    cluster: 'skipped',
  };
  const details: Record<string, unknown> = { breakGlass: req.breakGlass, dryRun: req.dryRun };
  if (req.approver !== undefined) Object.assign(details, { approver: req.approver, approverVerified: false });
  const refuse = async (reason: string) => {
    result.refused = true;
    result.reasons.push(reason);
    await deps.audit.record({
      action: 'emergency-delete',
      actor: req.actor,
      verified: Boolean(req.actorVerified),
      subject: req.uid,
      outcome: 'refused',
      reason,
      details,
    });
    return result;
  };
  if (!req.reason.trim()) return refuse('a reason is required');
  if (deps.approvals && req.approver !== undefined) {
    return refuse('an approver is not named on a cluster: the approver approves as themselves (strata approve)');
  }
  if (!deps.approvals) {
    if (!req.approver?.trim()) return refuse('an approver is required (local mode: --approver, recorded unverified)');
    if (samePerson(req.approver, req.actor)) {
      return refuse(`the approver must be someone else than the requester (${req.actor})`);
    }
  }
  const targets: LockTarget[] = [];
  for await (const info of listManifests(deps.repo)) {
    const m = await readManifest(deps.repo, info.id);
    targets.push({ manifestId: info.id, uid: m.workflow.uid, group: m.group, packs: m.packs });
    if (m.workflow.uid === req.uid) {
      result.manifests.push(info.id);
      req.workflow ??= { namespace: m.workflow.namespace, name: m.workflow.name };
    }
  }
  // Asked in the workflow's namespace (learnt from its archives); a workflow with none needs the permission everywhere.
  const denied = async (check: AccessCheck): Promise<string | undefined> => {
    if (!deps.authorize) return undefined;
    const decision = await deps.authorize(check);
    if (decision.allowed) return undefined;
    return `${req.actor} may not ${describeCheck(check)}${decision.reason ? ` (${decision.reason})` : ''}`;
  };
  const scope = { namespace: req.workflow?.namespace, name: req.uid };
  const mayDelete = await denied({ verb: 'create', resource: 'emergencydeletions', ...scope });
  if (mayDelete) return refuse(mayDelete);
  const held = activeHolds(deps.holds.holds, req.uid, deps.now);
  if (held.length && !req.breakGlass)
    return refuse(
      `under legal hold ${held.map((h) => `${h.id} (${h.reason})`).join(', ')}: set break-glass to override`,
    );
  if (req.breakGlass) {
    // Break-glass is its own permission, asked whether or not a hold is in force: asking for it is the act.
    const mayBreakGlass = await denied({
      verb: 'create',
      resource: 'emergencydeletions',
      subresource: 'breakglass',
      ...scope,
    });
    if (mayBreakGlass) return refuse(mayBreakGlass);
  }
  let approver = req.approver;
  if (deps.approvals) {
    const found = await findApproval(
      deps.approvals,
      {
        action: 'emergency-delete',
        workflow: req.uid,
        reason: req.reason,
        requester: req.actor,
        breakGlass: req.breakGlass,
        namespace: req.workflow?.namespace,
      },
      deps.now,
    );
    if ('problems' in found) {
      // A dry run is how a requester learns what to have approved; it deletes nothing, so it needs no approval.
      if (!req.dryRun) return refuse(`not approved: ${found.problems.join('; ')}`);
      result.reasons.push(`needs an approval: ${found.problems.join('; ')}`);
    } else {
      approver = found.approval.approver;
      Object.assign(details, {
        approver,
        approverVerified: true,
        approval: found.approval.name,
        approvalExpires: found.approval.expires.toISOString(),
      });
      result.reasons.push(`approved by ${approver} (${found.approval.name})`);
    }
  }
  if (held.length) result.reasons.push(`BREAK-GLASS over legal hold ${held.map((h) => h.id).join(', ')}`);
  // COMPLIANCE retention binds everyone, break-glass included: the store would refuse, so do not start.
  for (const t of targets.filter((x) => x.uid === req.uid)) {
    const info = await deps.repo.store.head(manifestKey(t.manifestId));
    if (info?.retainUntil && info.retainUntil > deps.now) {
      return refuse(
        `manifest ${t.manifestId} is under Object Lock retention until ${info.retainUntil.toISOString()}: the store refuses deletion before then`,
      );
    }
  }
  if (req.windowMs && req.windowMs > 0 && !req.dryRun) {
    const record = await scheduleDeletion(
      deps.repo,
      {
        uid: req.uid,
        reason: req.reason,
        actor: req.actor,
        actorVerified: Boolean(req.actorVerified),
        // The approval found now (verified on a cluster) is what the tier run carries out later.
        approver: approver!,
        breakGlass: req.breakGlass,
      },
      deps.now,
      req.windowMs,
    );
    result.scheduled = { id: record.id, runAfter: record.runAfter };
    result.reasons.push(
      `scheduled ${record.id}: cancellable until ${record.runAfter} (strata emergency-delete ${req.uid} --cancel), then the next strata tier run deletes`,
    );
    await deps.audit.record({
      action: 'emergency-delete',
      actor: req.actor,
      verified: Boolean(req.actorVerified),
      subject: req.uid,
      outcome: 'ok',
      reason: req.reason,
      details: { ...details, scheduled: record.id, runAfter: record.runAfter, manifests: result.manifests },
    });
    return result;
  }
  if (!req.dryRun) {
    // Recorded before anything changes (locks lifted, manifests deleted): unrecorded, it does not happen.
    await recordIntent(deps.audit, {
      action: 'emergency-delete',
      actor: req.actor,
      verified: Boolean(req.actorVerified),
      subject: req.uid,
      reason: req.reason,
      ...(approver && { approver }),
      details: { ...details, manifests: result.manifests, holdsOverridden: held.map((h) => h.id) },
    });
  }
  if (!req.dryRun) {
    // The store's legal holds follow the records first (a release whose unlock was lost to a crash); break-glass over
    // a hold lifts them on this workflow's objects too (not on those another hold needs).
    const locks = await enforceLocks(deps.repo, targets, deps.holds, deps.now, held.length ? [req.uid] : []);
    if (locks.problems.length) return refuse(`cannot lift the store's legal holds: ${locks.problems.join('; ')}`);
  }
  if (!req.dryRun) {
    const { outcomes } = await deleteArchives(
      deps.repo,
      [
        {
          kind: 'emergency',
          uid: req.uid,
          namespace: req.workflow?.namespace ?? '',
          name: req.workflow?.name ?? '',
          manifests: result.manifests,
          reason: req.reason,
          actor: req.actor,
          approver,
          breakGlass: req.breakGlass,
          intentRecorded: true,
        },
      ],
      { audit: deps.audit, now: deps.now, holds: deps.holds, settleMs: deps.settleMs, catalog: deps.catalog },
    );
    const mine = outcomes.find((o) => o.uid === req.uid && o.kind === 'emergency');
    if (mine) {
      const { outcome, packsDeleted, repacked, chunksDeleted, stillPresent } = mine;
      result.deletion = { outcome, packsDeleted, repacked, chunksDeleted, stillPresent };
      result.deletedManifests = outcome === 'undone' ? 0 : mine.manifests.length;
      result.reasons.push(describeOutcome(mine));
    }
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
  if (req.dryRun)
    result.reasons.push(`would delete ${result.manifests.length} manifests and every chunk only they use`);
  await deps.audit.record({
    action: 'emergency-delete',
    actor: req.actor,
    verified: Boolean(req.actorVerified),
    subject: req.uid,
    outcome: result.cluster === 'failed' || (result.deletion && result.deletion.outcome !== 'done') ? 'failed' : 'ok',
    reason: req.reason,
    ...(approver && { approver }),
    details: {
      ...details,
      manifests: result.manifests,
      cluster: result.cluster,
      deletion: result.deletion?.outcome,
      holdsOverridden: held.map((h) => h.id),
    },
  });
  return result;
}

function describeOutcome(o: DeletionOutcome): string {
  const what =
    `${o.manifests.length} manifest(s), ${o.packsDeleted.length} pack(s) deleted, ${o.repacked.length} repacked, ` +
    `${o.chunksDeleted.length} chunk(s) gone`;
  switch (o.outcome) {
    case 'done':
      return `deleted ${what}; every deleted key checked absent`;
    case 'pending':
      return `manifests deleted; ${o.reason}: the next strata tier run finishes it`;
    case 'unproven':
      return `deleted ${what}, but still present: ${o.stillPresent.join(', ')}`;
    default:
      return o.reason;
  }
}

export interface ScheduledRun {
  ran: Array<{ schedule: ScheduledDeletion; result: EmergencyDeleteResult }>;
  waiting: ScheduledDeletion[];
  unreadable: string[];
}

/**
 * Carries out the scheduled emergency deletions whose window has ended (the tier run calls it): each is checked
 * again as if asked now (holds, retention), then marked done with its outcome so it never runs twice. A crash
 * between the two runs it again, which finds nothing left to delete.
 */
export async function runScheduledDeletions(
  deps: Omit<EmergencyDeleteDeps, 'authorize' | 'approvals'>,
): Promise<ScheduledRun> {
  const { schedules, unreadable } = await listScheduled(deps.repo);
  const { due, waiting } = dueDeletions(schedules, deps.now);
  const ran: ScheduledRun['ran'] = [];
  for (const s of due) {
    const result = await emergencyDelete(
      {
        uid: s.uid,
        reason: s.reason,
        approver: s.approver,
        actor: s.actor,
        actorVerified: s.actorVerified,
        breakGlass: s.breakGlass,
        dryRun: false,
      },
      // Permission and approval were checked when it was scheduled; the record names the approver.
      { ...deps, authorize: undefined, approvals: undefined },
    );
    const outcome = result.refused
      ? `refused: ${result.reasons.join('; ')}`
      : (result.deletion?.outcome ?? 'nothing left to delete');
    await markDone(deps.repo, s.id, outcome, deps.now);
    ran.push({ schedule: s, result });
  }
  return { ran, waiting, unreadable };
}
