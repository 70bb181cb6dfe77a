// An approver's approval as their own act: the one they already gave that still approves the request, or a new one
// created where approvals are made as them (audited `approve`) and read back where the core reads approvals, so what
// the extension records is what findApproval would accept.
import type { AuditLog } from '../../lib/audit/audit.ts';
import { auditedOperation } from '../../lib/audit/write-ahead.ts';
import { AccessDeniedError, ClusterError } from '../../lib/errors.ts';
import {
  approvalDigest,
  approvalProblem,
  DEFAULT_APPROVAL_LIFETIME_MS,
  samePerson,
  type Approval,
  type ApprovalStore,
  type ApprovalSubject,
} from '../../lib/identity/approval.ts';
import { HttpError } from '../api/errors.ts';

export type ApprovedRequest = ApprovalSubject & { namespace: string; until?: Date };

export interface ApproverActDeps {
  /** Where approvals are read (the server's view: a cluster's ConfigMaps, or the archive store). */
  lookup: ApprovalStore;
  /** Where this approver's approval is created as theirs (on a cluster: with their own token). */
  createAs(): Promise<ApprovalStore>;
  /** The approver's audit log (their verified identity on each record). */
  audit: AuditLog;
}

export async function approvalBy(
  approver: string,
  request: ApprovedRequest,
  deps: ApproverActDeps,
  now: Date,
  details: Record<string, unknown>,
): Promise<Approval> {
  const given = async () =>
    (await deps.lookup.find(approvalDigest(request))).find(
      (a) => samePerson(a.approver, approver) && !approvalProblem(a, request, now),
    );
  const earlier = await given();
  if (earlier) return earlier;
  await auditedOperation(
    deps.audit,
    { action: 'approve', actor: approver, verified: true, subject: request.workflow, reason: request.reason, details },
    async () => {
      try {
        return await (
          await deps.createAs()
        ).create({ ...request, approver, expires: new Date(now.getTime() + DEFAULT_APPROVAL_LIFETIME_MS) });
      } catch (err) {
        // The cluster said no to the approver (RBAC, admission): their refusal, not the server's failure.
        if (err instanceof ClusterError && /\bHTTP 40[13]\b/.test(err.message))
          throw new AccessDeniedError(`the cluster refused ${approver}'s approval: ${err.message}`);
        throw err;
      }
    },
    (created) => ({ details: { ...details, approval: created.name } }),
  );
  const made = await given();
  if (!made)
    throw new HttpError(
      503,
      `the approval was created but is not found in ${deps.lookup.description}, where approvals are read: retry`,
    );
  return made;
}
