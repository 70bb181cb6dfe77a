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

/**
 * Undefined when `until` is within `limit` (configuration extendApprovalBeyond) from now; else another person's
 * approval of exactly this request, or AccessDeniedError after the refusal is audited. Without an approval store
 * (a server in embedded mode) nothing beyond the limit can be approved.
 */
export async function extensionApproval(
  /** Opened only when an approval is needed (on a cluster it is an API client). */
  approvals: () => Promise<ApprovalStore | undefined>,
  audit: AuditLog,
  limit: string,
  req: ExtensionRequest,
): Promise<{ name: string; approver: string } | undefined> {
  const beyond = durationFlag('extend-approval-beyond', limit);
  if (req.until <= addDuration(req.now, beyond)) return undefined;
  let problems: string[];
  const store = await approvals();
  if (store) {
    const found = await findApproval(store, { action: 'extend', ...req }, req.now);
    if ('approval' in found) return { name: found.approval.name, approver: found.approval.approver };
    problems = found.problems;
  } else {
    problems = ['no approval store here (approvals live on the cluster: strata approve)'];
  }
  const message = `an extension beyond ${beyond.text} from now needs another person's approval: ${problems.join('; ')}`;
  await audit.record({
    action: 'extend',
    actor: req.requester,
    verified: true,
    subject: req.workflow,
    outcome: 'refused',
    reason: message,
    details: { until: req.until.toISOString() },
  });
  throw new AccessDeniedError(message);
}
