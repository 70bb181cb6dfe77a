// When an extension needs a second person, and finding their approval: the same rule for the CLI and the server.
import type { AuditLog } from '../audit/audit.ts';
import { AccessDeniedError } from '../errors.ts';
import { findApproval, type ApprovalStore } from '../identity/approval.ts';
import { addDuration, durationFlag } from '../policy/duration.ts';

export interface ExtensionRequest {
  workflow: string;
  reason: string;
  /** The verified requester (a claimed name never needs, nor gets, an approval). */
  requester: string;
  namespace?: string;
  until: Date;
  now: Date;
}

export type ExtensionApprovalCheck =
  | { needed: false }
  | { needed: true; approval: { name: string; approver: string } }
  /** `message`: what is missing, in words (a 403's message, the refusal's audit reason). */
  | { needed: true; approval?: undefined; message: string };

/**
 * Whether `until` is beyond `limit` (configuration extendApprovalBeyond) from now, and if so another person's
 * approval of exactly this request, or why there is none. Without an approval store nothing can be approved.
 */
export async function checkExtensionApproval(
  /** Opened only when an approval is needed (on a cluster it is an API client). */
  approvals: () => Promise<ApprovalStore | undefined>,
  limit: string,
  req: ExtensionRequest,
): Promise<ExtensionApprovalCheck> {
  const beyond = durationFlag('extend-approval-beyond', limit);
  if (req.until <= addDuration(req.now, beyond)) return { needed: false };
  let problems: string[];
  const store = await approvals();
  if (store) {
    const found = await findApproval(store, { action: 'extend', ...req }, req.now);
    if ('approval' in found) {
      return { needed: true, approval: { name: found.approval.name, approver: found.approval.approver } };
    }
    problems = found.problems;
  } else {
    problems = ['no approval store here (approvals live on the cluster: strata approve)'];
  }
  return {
    needed: true,
    message: `an extension beyond ${beyond.text} from now needs another person's approval: ${problems.join('; ')}`,
  };
}

/**
 * Undefined when `until` is within `limit` from now; else another person's approval of exactly this request, or
 * AccessDeniedError after the refusal is audited.
 */
export async function extensionApproval(
  approvals: () => Promise<ApprovalStore | undefined>,
  audit: AuditLog,
  limit: string,
  req: ExtensionRequest,
): Promise<{ name: string; approver: string } | undefined> {
  const check = await checkExtensionApproval(approvals, limit, req);
  if (!check.needed) return undefined;
  if (check.approval) return check.approval;
  await audit.record({
    action: 'extend',
    actor: req.requester,
    verified: true,
    subject: req.workflow,
    outcome: 'refused',
    reason: check.message,
    details: { until: req.until.toISOString() },
  });
  throw new AccessDeniedError(check.message);
}
