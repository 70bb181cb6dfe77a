// Adapts the policy engine's retention decision to what assess and finalize need (fail closed on anything unclear).
import {
  complianceLock,
  decideRetention,
  workflowFacts,
  NO_HOLDS,
  type HoldsAndExtensions,
  type PolicySet,
  type RetentionDecision,
} from '../policy/index.ts';
import { PolicyError } from '../errors.ts';
import type { Manifest, RetainUntil } from '../archive/index.ts';
import { manifestInput } from '../policy/inputs.ts';
import type { ArchiveVerdict, DecideArchive } from './assess.ts';
import type { WorkflowObject } from './workflow-state.ts';

/**
 * The policy names groups `<retention class>/<archive month>`; the archive engine wants one key segment
 * ([A-Za-z0-9._=-]), so the slash (and anything else outside that alphabet) becomes `-`.
 */
export function archiveGroup(policyGroup: string): string {
  const g = policyGroup.replace(/[^A-Za-z0-9._=-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (g || 'default').slice(0, 128);
}

export function verdictOf(d: RetentionDecision): ArchiveVerdict {
  const reason = d.reasons.join('; ');
  if (d.action === 'archive') {
    return {
      archive: true,
      reason,
      group: archiveGroup(d.group),
      deleteSourceAfterArchive: d.deleteSourceAfterArchive && d.holds.length === 0,
      ...(d.timeline.archiveAt && { dueAt: d.timeline.archiveAt }),
    };
  }
  // Without an archive date the policy will never archive this workflow (until the policy changes).
  const never = !d.failedClosed && !d.timeline.archiveAt;
  return {
    archive: false,
    reason: reason || `policy action ${d.action}`,
    group: archiveGroup(d.group),
    deleteSourceAfterArchive: false,
    final: never,
    ...(d.timeline.archiveAt && { dueAt: d.timeline.archiveAt }),
    ...(d.failedClosed && { policyError: true }),
  };
}

export function policyDecider(policySet: PolicySet, holds: HoldsAndExtensions = NO_HOLDS): DecideArchive {
  return (wf: WorkflowObject, now: Date) => verdictOf(decideRetention(policySet, workflowFacts(wf), now, holds));
}

/** For finalize: whether policy deletes the source now, with the holds that forbid it. */
export function deletionVerdict(
  policySet: PolicySet,
  wf: WorkflowObject,
  now: Date,
  holds: HoldsAndExtensions = NO_HOLDS,
): { deleteSourceAfterArchive: boolean | undefined; policyError?: string; held: boolean } {
  const d = decideRetention(policySet, workflowFacts(wf), now, holds);
  if (d.failedClosed)
    return { deleteSourceAfterArchive: undefined, policyError: d.reasons.join('; '), held: d.holds.length > 0 };
  return { deleteSourceAfterArchive: d.deleteSourceAfterArchive, held: d.holds.length > 0 };
}

/** The timeline group policy gives a workflow (for archiving it by hand); a policy that cannot decide throws. */
export function policyGroup(policySet: PolicySet, now: Date): (wf: WorkflowObject) => string {
  return (wf) => {
    const d = decideRetention(policySet, workflowFacts(wf), now, NO_HOLDS);
    if (d.failedClosed) throw new PolicyError(`policy cannot decide: ${d.reasons.join('; ')}`);
    return archiveGroup(d.group);
  };
}

/**
 * A compliance class's lock for an archive, decided as the tier run decides it (on what the manifest recorded), so
 * the archive is written under COMPLIANCE retention: to the class's floor, or for a class kept indefinitely to the
 * rolling window the tier run then extends (complianceLock). No lock when policy cannot decide (the tier run fails
 * closed on that workflow too) or the floor is past.
 */
export function complianceRetention(policySet: PolicySet, now: () => Date = () => new Date()): RetainUntil {
  return (manifest: Manifest) => {
    const at = now();
    const { facts } = manifestInput(manifest, `manifest of ${manifest.workflow.namespace}/${manifest.workflow.name}`);
    const d = decideRetention(policySet, facts, at, NO_HOLDS);
    return d.failedClosed ? undefined : complianceLock(d.complianceFloor, at)?.until;
  };
}
