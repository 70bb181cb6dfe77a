// Extensions asked for past the limit, waiting for another person: write-once request records in the archive store
// (`extension-requests/<uid>/<id>.json`) and a rejection beside one. A request keeps nothing: only the extension
// record written once it is approved (HoldRepository.addExtension, with the approval) does.
import { z } from 'zod';
import { discardAudit, type AuditLog } from '../audit/audit.ts';
import { auditedOperation } from '../audit/write-ahead.ts';
import { NotFoundError } from '../errors.ts';
import { readObject } from '../store/read-whole.ts';
import type { ObjectStore } from '../store/store.ts';
import { checkId, writeOnce } from './hold-store.ts';

const REQUESTS = 'extension-requests/';

export interface ExtensionRequestRecord {
  id: string;
  workflowUid: string;
  /** The workflow's namespace, from the catalog when the request was made (approvers are asked there). */
  namespace: string;
  /** The archive the requester addressed (any archive of the uid names the same workflow). */
  manifestId: string;
  /** The verified caller who asked: the extension's actor once approved. */
  requester: string;
  reason: string;
  until: string;
  created: string;
}

export interface RequestRejection {
  by: string;
  byVerified: boolean;
  reason: string;
  at: string;
}

export interface StoredRequest {
  request: ExtensionRequestRecord;
  rejection?: RequestRejection;
}

const isoDate = z.string().refine((t) => !Number.isNaN(new Date(t).getTime()), 'not a date');
const requestSchema = z
  .object({
    id: z.string(),
    workflowUid: z.string(),
    namespace: z.string(),
    manifestId: z.string(),
    requester: z.string().min(1),
    reason: z.string(),
    until: isoDate,
    created: isoDate,
  })
  .strict();
const rejectionSchema = z
  .object({ by: z.string().min(1), byVerified: z.boolean(), reason: z.string(), at: isoDate })
  .strict();

const key = (uid: string, id: string, suffix = '.json') => `${REQUESTS}${uid}/${id}${suffix}`;

async function readParsed<T>(store: ObjectStore, k: string, schema: z.ZodType<T>): Promise<T | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse((await readObject(store, k)).toString('utf8'));
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof SyntaxError) return undefined;
    throw err;
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

export class ExtensionRequests {
  constructor(
    private readonly store: ObjectStore,
    private readonly audit: AuditLog = discardAudit,
  ) {}

  /**
   * Records the request once, after its audit record (`extend-request`). The same requester asking again with the
   * same id, date and reason gets the stored request back (`created: false`); anything else under that id is refused.
   */
  async request(input: ExtensionRequestRecord): Promise<{ request: ExtensionRequestRecord; created: boolean }> {
    const uid = checkId('workflow uid', input.workflowUid);
    const id = checkId('extension id', input.id);
    const existing = await this.get(uid, id);
    if (existing) {
      const r = existing.request;
      const same = r.requester === input.requester && r.until === input.until && r.reason === input.reason;
      if (same) return { request: existing.request, created: false };
    }
    const request = await auditedOperation(
      this.audit,
      {
        action: 'extend-request',
        actor: input.requester,
        verified: true,
        subject: uid,
        reason: input.reason,
        details: { extension: id, until: input.until, namespace: input.namespace },
      },
      () =>
        writeOnce(
          this.store,
          key(uid, id),
          { ...input, workflowUid: uid, id },
          (a, b) => a.requester === b.requester && a.until === b.until,
        ),
    );
    return { request, created: true };
  }

  /** A request and its rejection, if any; undefined when there is none (or its record does not parse). */
  async get(workflowUid: string, id: string): Promise<StoredRequest | undefined> {
    const uid = checkId('workflow uid', workflowUid);
    checkId('extension id', id);
    const request = await readParsed(this.store, key(uid, id), requestSchema);
    if (!request || request.workflowUid !== uid || request.id !== id) return undefined;
    const rejection = await readParsed(this.store, key(uid, id, '.rejected.json'), rejectionSchema);
    return { request, ...(rejection && { rejection }) };
  }

  /** Turns a request down for good (write-once, audited `reject`); the same rejection again is a no-op. */
  async reject(workflowUid: string, id: string, rejection: RequestRejection): Promise<RequestRejection> {
    const uid = checkId('workflow uid', workflowUid);
    checkId('extension id', id);
    return auditedOperation(
      this.audit,
      {
        action: 'reject',
        actor: rejection.by,
        verified: rejection.byVerified,
        subject: uid,
        reason: rejection.reason,
        details: { extension: id },
      },
      () =>
        writeOnce(
          this.store,
          key(uid, id, '.rejected.json'),
          rejection,
          (a, b) => a.by === b.by && a.reason === b.reason,
        ),
    );
  }

  /** Every request with its rejection (the caller filters by namespace and by what is still pending). */
  async list(): Promise<StoredRequest[]> {
    const out: StoredRequest[] = [];
    for await (const obj of this.store.list(REQUESTS)) {
      if (!obj.key.endsWith('.json') || obj.key.endsWith('.rejected.json')) continue;
      const [uid, file] = obj.key.slice(REQUESTS.length).split('/');
      if (!uid || !file) continue;
      const found = await this.get(uid, file.slice(0, -'.json'.length)).catch(() => undefined);
      if (found) out.push(found);
    }
    return out;
  }
}
