// Legal holds and extensions kept in the archive repository (ObjectStore port): write-once records, never deleted.
import { randomBytes } from 'node:crypto';
import { discardAudit, type AuditLog } from '../audit/audit.ts';
import { AlreadyExistsError, InputError, NotFoundError } from '../errors.ts';
import type { ObjectStore } from '../store/store.ts';
import type { ExtensionRecord, HoldRecord, HoldsAndExtensions } from '../policy/holds.ts';

const HOLDS = 'holds/';
const EXTENSIONS = 'extensions/';
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function checkId(what: string, id: string): string {
  if (!SAFE.test(id) || id.includes('..'))
    throw new InputError(`${what} "${id}" must be 1-128 characters of A-Z a-z 0-9 . _ -`);
  return id;
}

export function newRecordId(prefix: string, now: Date): string {
  return `${prefix}-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
}

async function readJson<T>(store: ObjectStore, key: string): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(Buffer.from(c as Uint8Array));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

/**
 * Writes a record once. A retry that finds the same record already there succeeds (idempotent); a different
 * record under the same id is refused, so history is never overwritten.
 */
async function writeOnce<T extends object>(
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

/** Every change (hold set, release, extension) is audited here, so each caller — CLI, Argo step, server — does it alike. */
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
    const written = await writeOnce(
      this.store,
      `${HOLDS}${uid}/${id}.json`,
      record,
      (a, b) => a.actor === b.actor && a.reason === b.reason,
    );
    await this.audit.record({
      action: 'hold-set',
      actor: input.actor,
      verified: Boolean(input.actorVerified),
      subject: uid,
      outcome: 'ok',
      reason: input.reason,
      details: { hold: id },
    });
    return written;
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
    const written = await writeOnce(
      this.store,
      `${HOLDS}${uid}/${id}.release.json`,
      release,
      (a, b) => a.actor === b.actor && a.reason === b.reason,
    );
    await this.audit.record({
      action: 'hold-release',
      actor: input.actor,
      verified: Boolean(input.actorVerified),
      subject: uid,
      outcome: 'ok',
      reason: input.reason,
      details: { hold: id },
    });
    return { ...hold, released: written };
  }

  /** Every hold (released ones included, with their release), for one workflow or all. */
  async listHolds(workflowUid?: string): Promise<HoldRecord[]> {
    const prefix = workflowUid ? `${HOLDS}${checkId('workflow uid', workflowUid)}/` : HOLDS;
    const holds = new Map<string, HoldRecord>();
    const releases = new Map<string, ReleaseRecord>();
    for await (const obj of this.store.list(prefix)) {
      if (obj.key.endsWith('.release.json'))
        releases.set(obj.key.slice(0, -'.release.json'.length), await readJson(this.store, obj.key));
      else if (obj.key.endsWith('.json'))
        holds.set(obj.key.slice(0, -'.json'.length), await readJson(this.store, obj.key));
    }
    return [...holds].map(([k, h]) => (releases.has(k) ? { ...h, released: releases.get(k)! } : h));
  }

  async addExtension(input: {
    workflowUid: string;
    id: string;
    actor: string;
    actorVerified?: boolean;
    reason: string;
    until: Date;
    created: Date;
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
    };
    const written = await writeOnce(
      this.store,
      `${EXTENSIONS}${uid}/${id}.json`,
      record,
      (a, b) => a.until === b.until && a.actor === b.actor,
    );
    await this.audit.record({
      action: 'extend',
      actor: input.actor,
      verified: Boolean(input.actorVerified),
      subject: uid,
      outcome: 'ok',
      reason: input.reason,
      details: { extension: written.id, until: written.until },
    });
    return written;
  }

  async listExtensions(workflowUid?: string): Promise<ExtensionRecord[]> {
    const prefix = workflowUid ? `${EXTENSIONS}${checkId('workflow uid', workflowUid)}/` : EXTENSIONS;
    const out: ExtensionRecord[] = [];
    for await (const obj of this.store.list(prefix))
      if (obj.key.endsWith('.json')) out.push(await readJson(this.store, obj.key));
    return out;
  }

  async forWorkflow(workflowUid: string): Promise<HoldsAndExtensions> {
    return { holds: await this.listHolds(workflowUid), extensions: await this.listExtensions(workflowUid) };
  }
}
