// Approvals kept in the archive's store, for a server without a cluster (embedded mode): the approver is the caller
// the server verified (its token file or OIDC), and the approval is found and checked exactly as a cluster's is
// (findApproval, approvalProblem). Write-once objects `approvals/<digest>/<name>.json`.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { NotFoundError } from '../errors.ts';
import { readObject } from '../store/read-whole.ts';
import type { ObjectStore } from '../store/store.ts';
import { approvalDigest, type Approval, type ApprovalStore, type ApprovedAction } from './approval.ts';

export const APPROVALS_PREFIX = 'approvals/';
const DIGEST = /^[0-9a-f]{40}$/;
const ACTIONS = ['emergency-delete', 'extend'] as const satisfies readonly ApprovedAction[];

const isoDate = z.string().refine((t) => !Number.isNaN(new Date(t).getTime()), 'not a date');
const storedApproval = z
  .object({
    name: z.string(),
    digest: z.string().regex(DIGEST),
    action: z.enum(ACTIONS),
    workflow: z.string().min(1),
    namespace: z.string(),
    reason: z.string(),
    requester: z.string().min(1),
    approver: z.string().min(1),
    breakGlass: z.boolean().optional(),
    created: isoDate,
    expires: isoDate,
    until: isoDate.optional(),
  })
  .strict();

export class StoreApprovals implements ApprovalStore {
  readonly description = `the archive store (${APPROVALS_PREFIX})`;

  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The approvals stored under `digest`; an object that does not parse, or sits under another digest, is none. */
  async find(digest: string): Promise<Approval[]> {
    if (!DIGEST.test(digest)) return [];
    const out: Approval[] = [];
    for await (const obj of this.store.list(`${APPROVALS_PREFIX}${digest}/`)) {
      let raw: unknown;
      try {
        raw = JSON.parse((await readObject(this.store, obj.key)).toString('utf8'));
      } catch (err) {
        if (err instanceof NotFoundError || err instanceof SyntaxError) continue;
        throw err;
      }
      const parsed = storedApproval.safeParse(raw);
      if (!parsed.success || parsed.data.digest !== digest || obj.key !== keyOf(digest, parsed.data.name)) continue;
      const { until, ...a } = parsed.data;
      out.push({
        ...a,
        created: new Date(a.created),
        expires: new Date(a.expires),
        ...(until !== undefined && { until: new Date(until) }),
      });
    }
    return out;
  }

  /** Writes a new approval (never over another): its name and creation time are the server's, as a cluster's are. */
  async create(a: Omit<Approval, 'name' | 'created' | 'digest'>): Promise<Approval> {
    const digest = approvalDigest(a);
    const approval: Approval = {
      ...a,
      name: `strata-approval-${digest.slice(0, 16)}-${randomBytes(4).toString('hex')}`,
      digest,
      created: this.now(),
    };
    const body = new TextEncoder().encode(JSON.stringify(approval, null, 2) + '\n');
    await this.store.put(keyOf(digest, approval.name), body, {
      ifNoneMatch: true,
      contentType: 'application/json',
      contentLength: body.length,
    });
    return approval;
  }
}

function keyOf(digest: string, name: string): string {
  return `${APPROVALS_PREFIX}${digest}/${name}.json`;
}
