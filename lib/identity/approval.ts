// Two-person approval as a second authenticated act: what an approval says, what it is bound to, and when it holds.
import { createHash } from 'node:crypto';

/** The acts that need a second person: emergency deletion, and retention extensions beyond the configured limit. */
export type ApprovedAction = 'emergency-delete' | 'extend';

/** The request an approval names. Two requests that differ in any field need two approvals. */
export interface ApprovalSubject {
  action: ApprovedAction;
  /** The workflow uid. */
  workflow: string;
  reason: string;
  /** The requester's verified username, exactly as Kubernetes gives it. */
  requester: string;
  /** Emergency deletion over a legal hold is a different request from one without. */
  breakGlass?: boolean;
}

/** An approval as it is stored (a ConfigMap in Strata's namespace; see kube-approvals.ts). */
export interface Approval extends ApprovalSubject {
  /** Where it is stored (the ConfigMap's name), for records and errors. */
  name: string;
  /** The approver, pinned by admission to the username of whoever created the object. */
  approver: string;
  /** The archived workflow's namespace: the approver's permission (`create approvals.strata.dev`) is asked there. */
  namespace: string;
  /** The digest the object is labelled with (approvalDigest of its subject). */
  digest: string;
  /** The API server's creation time (not the approver's word). */
  created: Date;
  expires: Date;
  /** For `extend`: the latest date the approval allows keeping the workflow until. */
  until?: Date;
}

/** No approval outlives this, whatever its `expires` says: counted from the API server's creation time. */
export const MAX_APPROVAL_LIFETIME_MS = 7 * 86_400_000;
export const DEFAULT_APPROVAL_LIFETIME_MS = 86_400_000;

/** The request's fingerprint: an approval is found by it (a label) and bound to it (compared in full on use). */
export function approvalDigest(s: ApprovalSubject): string {
  const canonical = JSON.stringify([
    'strata.dev/approval/v1',
    s.action,
    s.workflow,
    s.reason.trim(),
    s.requester,
    Boolean(s.breakGlass),
  ]);
  // 40 hex characters fit a label value (63 at most) and leave no practical room for a collision.
  return createHash('sha256').update(canonical).digest('hex').slice(0, 40);
}

/**
 * Usernames name the same person when they match ignoring case (`Alice@corp`, `alice@corp`): identity providers
 * often fold case, so for "someone else" Strata does too. Never equal to an empty name, which is nobody.
 */
export function samePerson(a: string, b: string): boolean {
  const fold = (s: string) => s.trim().toLowerCase();
  return fold(a) === fold(b);
}

/** Why this approval does not approve this request at `now`, or undefined when it does. */
export function approvalProblem(
  approval: Approval,
  request: ApprovalSubject & { namespace?: string; until?: Date },
  now: Date,
): string | undefined {
  const a = approval;
  if (a.digest !== approvalDigest(request) || a.digest !== approvalDigest(a)) {
    return `${a.name} approves a different request`;
  }
  if (
    a.action !== request.action ||
    a.workflow !== request.workflow ||
    a.reason.trim() !== request.reason.trim() ||
    a.requester !== request.requester ||
    Boolean(a.breakGlass) !== Boolean(request.breakGlass)
  ) {
    return `${a.name} approves a different request`;
  }
  if (!a.approver.trim()) return `${a.name} names no approver`;
  if (samePerson(a.approver, request.requester)) {
    return `${a.name} is by the requester (${a.approver}): the approver must be someone else`;
  }
  if (request.namespace !== undefined && a.namespace !== request.namespace) {
    return `${a.name} is for namespace ${a.namespace}, the workflow is in ${request.namespace}`;
  }
  if (Number.isNaN(a.expires.getTime()) || Number.isNaN(a.created.getTime())) {
    return `${a.name} has no valid creation or expiry time`;
  }
  if (now >= a.expires) return `${a.name} expired at ${a.expires.toISOString()}`;
  if (a.expires.getTime() - a.created.getTime() > MAX_APPROVAL_LIFETIME_MS) {
    return `${a.name} claims to last more than ${MAX_APPROVAL_LIFETIME_MS / 86_400_000} days`;
  }
  if (request.action === 'extend') {
    if (!a.until || !request.until) return `${a.name} names no date to extend until`;
    if (request.until > a.until) {
      return `${a.name} allows keeping until ${a.until.toISOString()}, not ${request.until.toISOString()}`;
    }
  }
  return undefined;
}

/** Where approvals are kept: found by digest, created by the approver under their own identity. */
export interface ApprovalStore {
  readonly description: string;
  find(digest: string): Promise<Approval[]>;
  create(approval: Omit<Approval, 'name' | 'created' | 'digest'>): Promise<Approval>;
}

/** The first approval that approves the request, or every reason none does. */
export async function findApproval(
  store: ApprovalStore,
  request: ApprovalSubject & { namespace?: string; until?: Date },
  now: Date,
): Promise<{ approval: Approval } | { problems: string[] }> {
  const candidates = await store.find(approvalDigest(request));
  const problems: string[] = [];
  for (const a of candidates) {
    const problem = approvalProblem(a, request, now);
    if (!problem) return { approval: a };
    problems.push(problem);
  }
  if (!candidates.length) {
    problems.push(
      `no approval of ${request.action} ${request.workflow} for ${request.requester} in ${store.description}` +
        ` (another person runs: strata approve ${request.action} ${request.workflow} --requested-by ${request.requester} --reason …)`,
    );
  }
  return { problems };
}
