// Legal holds and extensions kept in the archive repository (ObjectStore port): write-once records, never deleted.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { discardAudit, type AuditLog } from '../audit/audit.ts';
import { auditedOperation } from '../audit/write-ahead.ts';
import { AlreadyExistsError, describeError, InputError, NotFoundError } from '../errors.ts';
import type { ObjectStore } from '../store/store.ts';
import type { ExtensionRecord, HoldRecord, HoldsAndExtensions } from '../policy/holds.ts';
import { readObject } from '../store/read-whole.ts';

const HOLDS = 'holds/';
const EXTENSIONS = 'extensions/';
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkId(what: string, id: string): string {
  if (!SAFE.test(id) || id.includes('..'))
    throw new InputError(`${what} "${id}" must be 1-128 characters of A-Z a-z 0-9 . _ -`);
  return id;
}

export function newRecordId(prefix: string, now: Date): string {
  return `${prefix}-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
}

async function readJson<T>(store: ObjectStore, key: string): Promise<T> {
  return JSON.parse((await readObject(store, key)).toString('utf8')) as T;
}

/**
 * Writes a record once. A retry that finds the same record already there succeeds (idempotent); a different
 * record under the same id is refused, so history is never overwritten.
 */
export async function writeOnce<T extends object>(
  store: ObjectStore,
  key: string,
  record: T,
  same: (a: T, b: T) => boolean,
): Promise<T> {
  const body = new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n');
  try {
    await store.put(key, body, { ifNoneMatch: true, contentType: 'application/json', contentLength: body.length });
    return record;
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    const existing = await readJson<T>(store, key);
    if (same(existing, record)) return existing;
    throw new InputError(
      `a different record already exists at ${key}; records are write-once`,
      { key },
      { cause: err },
    );
  }
}

type ReleaseRecord = NonNullable<HoldRecord['released']>;

const isoDate = z.string().refine((t) => !Number.isNaN(new Date(t).getTime()), 'not a date');
const holdSchema = z.object({
  id: z.string(),
  workflowUid: z.string(),
  actor: z.string(),
  actorVerified: z.boolean().optional(),
  reason: z.string(),
  created: isoDate,
});
const releaseSchema = z.object({
  actor: z.string(),
  actorVerified: z.boolean().optional(),
  reason: z.string(),
  at: isoDate,
});
const extensionSchema = holdSchema.extend({
  until: isoDate,
  approval: z.object({ name: z.string(), approver: z.string() }).optional(),
});

/** Far enough to keep anything: what an extension that does not verify is taken to extend to. */
const FOREVER = '9999-12-31T23:59:59.999Z';

/** `<prefix><uid>/<id><suffix>` → uid and id, or undefined for keys of another shape. */
function keyParts(prefix: string, key: string, suffix: string): { uid: string; id: string } | undefined {
  const rest = key.slice(prefix.length, key.length - suffix.length);
  const slash = rest.indexOf('/');
  if (!key.startsWith(prefix) || !key.endsWith(suffix) || slash <= 0 || rest.indexOf('/', slash + 1) >= 0) return;
  return { uid: rest.slice(0, slash), id: rest.slice(slash + 1) };
}

/**
 * Reads a record and checks it against its key: the body must parse, and name the workflow and id the key names.
 * Returns the record, or why it does not verify (never throws for bad content: the caller fails closed).
 */
async function readVerified<T extends object>(
  store: ObjectStore,
  key: string,
  schema: z.ZodType<T>,
  expect: Partial<Record<keyof T, string>>,
): Promise<{ record: T } | { problem: string }> {
  let raw: unknown;
  try {
    raw = await readJson(store, key);
  } catch (err) {
    if (err instanceof SyntaxError) return { problem: 'not JSON' };
    if (err instanceof NotFoundError) return { problem: 'vanished while listed' };
    return { problem: describeError(err) };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    return { problem: `${i.path.join('.') || '(root)'}: ${i.message}` };
  }
  for (const [field, want] of Object.entries(expect) as [keyof T, string][]) {
    if (parsed.data[field] !== want) {
      return { problem: `${String(field)} "${String(parsed.data[field])}" does not match its key ("${want}")` };
    }
  }
  return { record: parsed.data };
}

export interface RecordProblem {
  key: string;
  message: string;
}

/**
 * Every change (hold set, release, extension) is audited here, so each caller — CLI, Argo step, server — does it
 * alike; its record is written before the change, and a change that cannot be recorded is not made.
 */
export class HoldRepository {
  constructor(
    private readonly store: ObjectStore,
    private readonly audit: AuditLog = discardAudit,
  ) {}

  async setHold(input: {
    workflowUid: string;
    id: string;
    actor: string;
    /** True when the actor is the identity the Kubernetes API server verified (cluster mode). */
    actorVerified?: boolean;
    reason: string;
    created: Date;
  }): Promise<HoldRecord> {
    const uid = checkId('workflow uid', input.workflowUid);
    const id = checkId('hold id', input.id);
    const record: HoldRecord = {
      id,
      workflowUid: uid,
      actor: input.actor,
      actorVerified: Boolean(input.actorVerified),
      reason: input.reason,
      created: input.created.toISOString(),
    };
    return this.writeHoldAct('hold-set', input, `${HOLDS}${uid}/${id}.json`, record);
  }

  /** Writes a release record beside the hold; the hold record itself stays as history. */
  async releaseHold(input: {
    workflowUid: string;
    id: string;
    actor: string;
    actorVerified?: boolean;
    reason: string;
    at: Date;
  }): Promise<HoldRecord> {
    const uid = checkId('workflow uid', input.workflowUid);
    const id = checkId('hold id', input.id);
    let hold: HoldRecord;
    try {
      hold = await readJson<HoldRecord>(this.store, `${HOLDS}${uid}/${id}.json`);
    } catch (err) {
      if (err instanceof NotFoundError)
        throw new InputError(`no hold ${id} on workflow ${uid}`, { workflow: uid }, { cause: err });
      throw err;
    }
    const release: ReleaseRecord = {
      actor: input.actor,
      actorVerified: Boolean(input.actorVerified),
      reason: input.reason,
      at: input.at.toISOString(),
    };
    const written = await this.writeHoldAct('hold-release', input, `${HOLDS}${uid}/${id}.release.json`, release);
    return { ...hold, released: written };
  }

  /**
   * Writes a hold's or release's record once, after its audit record (write before act). A retry by the same actor
   * for the same reason finds its record and succeeds.
   */
  private writeHoldAct<T extends { actor: string; reason: string }>(
    action: 'hold-set' | 'hold-release',
    input: { workflowUid: string; id: string; actor: string; actorVerified?: boolean; reason: string },
    key: string,
    record: T,
  ): Promise<T> {
    return auditedOperation(
      this.audit,
      {
        action,
        actor: input.actor,
        verified: Boolean(input.actorVerified),
        subject: input.workflowUid,
        reason: input.reason,
        details: { hold: input.id },
      },
      () => writeOnce(this.store, key, record, (a, b) => a.actor === b.actor && a.reason === b.reason),
    );
  }

  /**
   * Every hold (released ones included, with their release), for one workflow or all. A hold record that does not
   * verify is returned as an active hold of the workflow its key names (`unverified` says why); a release that
   * does not verify releases nothing.
   */
  async listHolds(workflowUid?: string): Promise<HoldRecord[]> {
    const prefix = workflowUid ? `${HOLDS}${checkId('workflow uid', workflowUid)}/` : HOLDS;
    const holds = new Map<string, HoldRecord>();
    const releases = new Map<string, ReleaseRecord | { problem: string }>();
    for await (const obj of this.store.list(prefix)) {
      if (obj.key.endsWith('.release.json')) {
        const at = keyParts(HOLDS, obj.key, '.release.json');
        if (!at) continue;
        const r = await readVerified(this.store, obj.key, releaseSchema, {});
        releases.set(`${at.uid}/${at.id}`, 'record' in r ? r.record : r);
      } else if (obj.key.endsWith('.json')) {
        const at = keyParts(HOLDS, obj.key, '.json');
        if (!at) continue;
        const r = await readVerified(this.store, obj.key, holdSchema, { workflowUid: at.uid, id: at.id });
        holds.set(
          `${at.uid}/${at.id}`,
          'record' in r
            ? r.record
            : {
                id: at.id,
                workflowUid: at.uid,
                actor: '(unverified record)',
                reason: `${obj.key}: ${r.problem}`,
                created: new Date(0).toISOString(),
                unverified: r.problem,
              },
        );
      }
    }
    return [...holds].map(([k, h]) => {
      const release = releases.get(k);
      if (!release || h.unverified) return h;
      if ('problem' in release) return { ...h, unverified: `release record: ${release.problem}` };
      return { ...h, released: release };
    });
  }

  async addExtension(input: {
    workflowUid: string;
    id: string;
    actor: string;
    actorVerified?: boolean;
    reason: string;
    until: Date;
    created: Date;
    /** The second person's approval (cluster mode, extensions beyond the configured limit). */
    approval?: { name: string; approver: string };
  }): Promise<ExtensionRecord> {
    const uid = checkId('workflow uid', input.workflowUid);
    const id = checkId('extension id', input.id);
    const record: ExtensionRecord = {
      id,
      workflowUid: uid,
      actor: input.actor,
      actorVerified: Boolean(input.actorVerified),
      reason: input.reason,
      created: input.created.toISOString(),
      until: input.until.toISOString(),
      ...(input.approval && { approval: input.approval }),
    };
    return auditedOperation(
      this.audit,
      {
        action: 'extend',
        actor: input.actor,
        verified: Boolean(input.actorVerified),
        subject: uid,
        reason: input.reason,
        ...(input.approval && { approver: input.approval.approver }),
        details: { extension: id, until: record.until, ...(input.approval && { approval: input.approval.name }) },
      },
      () =>
        writeOnce(
          this.store,
          `${EXTENSIONS}${uid}/${id}.json`,
          record,
          (a, b) => a.until === b.until && a.actor === b.actor,
        ),
    );
  }

  /** Every extension; one that does not verify keeps the workflow its key names indefinitely (`unverified`). */
  async listExtensions(workflowUid?: string): Promise<ExtensionRecord[]> {
    const prefix = workflowUid ? `${EXTENSIONS}${checkId('workflow uid', workflowUid)}/` : EXTENSIONS;
    const out: ExtensionRecord[] = [];
    for await (const obj of this.store.list(prefix)) {
      const at = keyParts(EXTENSIONS, obj.key, '.json');
      if (!at) continue;
      const r = await readVerified(this.store, obj.key, extensionSchema, { workflowUid: at.uid, id: at.id });
      out.push(
        'record' in r
          ? r.record
          : {
              id: at.id,
              workflowUid: at.uid,
              actor: '(unverified record)',
              reason: `${obj.key}: ${r.problem}`,
              created: new Date(0).toISOString(),
              until: FOREVER,
              unverified: r.problem,
            },
      );
    }
    return out;
  }

  /** Hold, release and extension records that do not verify (for `strata verify`). */
  async recordProblems(): Promise<RecordProblem[]> {
    const out: RecordProblem[] = [];
    for (const h of await this.listHolds()) {
      if (h.unverified)
        out.push({ key: `${HOLDS}${h.workflowUid}/${h.id}.json`, message: `${h.unverified} (kept as an active hold)` });
    }
    for (const e of await this.listExtensions()) {
      if (e.unverified)
        out.push({
          key: `${EXTENSIONS}${e.workflowUid}/${e.id}.json`,
          message: `${e.unverified} (kept as an extension without end)`,
        });
    }
    return out;
  }

  async forWorkflow(workflowUid: string): Promise<HoldsAndExtensions> {
    return { holds: await this.listHolds(workflowUid), extensions: await this.listExtensions(workflowUid) };
  }
}
