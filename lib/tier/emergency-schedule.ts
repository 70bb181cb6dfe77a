// Emergency deletions with a cancellation window: an approved deletion is recorded with the time it may run, can be
// cancelled until then, and is carried out by the first tier run after it. Records are write-once: the schedule,
// then at most one cancellation or one completion beside it, so history stays.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ARCHIVE_PREFIX, readObject, type Repository } from '../archive/repository.ts';
import { AlreadyExistsError, describeError, InputError } from '../errors.ts';

/** `archive/emergency/<id>.json`, `<id>.cancel.json`, `<id>.done.json` */
export const EMERGENCY_PREFIX = `${ARCHIVE_PREFIX}emergency/`;

const scheduleSchema = z
  .object({
    v: z.literal(1),
    id: z.string().regex(/^[0-9TZ]+-[0-9a-f]{8}$/),
    uid: z.string().min(1),
    reason: z.string().min(1),
    actor: z.string().min(1),
    actorVerified: z.boolean(),
    approver: z.string().min(1),
    breakGlass: z.boolean(),
    scheduledAt: z.string(),
    /** Cancellable until then; carried out by the first tier run after it. */
    runAfter: z.string(),
  })
  .strict();
const stampSchema = z.object({ actor: z.string(), reason: z.string(), at: z.string() }).strict();
const doneSchema = z.object({ at: z.string(), outcome: z.string() }).strict();

export type ScheduledDeletion = z.infer<typeof scheduleSchema>;

export interface ScheduleState {
  record: ScheduledDeletion;
  cancelled?: z.infer<typeof stampSchema>;
  done?: z.infer<typeof doneSchema>;
}

const key = (id: string, suffix = '') => `${EMERGENCY_PREFIX}${id}${suffix}.json`;

async function writeOnce(repo: Repository, k: string, body: object): Promise<boolean> {
  const bytes = Buffer.from(JSON.stringify(body, null, 2) + '\n');
  try {
    await repo.store.put(k, bytes, { ifNoneMatch: true, contentType: 'application/json' });
    return true;
  } catch (err) {
    if (err instanceof AlreadyExistsError) return false;
    throw err;
  }
}

export async function scheduleDeletion(
  repo: Repository,
  req: Omit<ScheduledDeletion, 'v' | 'id' | 'scheduledAt' | 'runAfter'>,
  now: Date,
  windowMs: number,
): Promise<ScheduledDeletion> {
  const record: ScheduledDeletion = {
    v: 1,
    id: `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`,
    ...req,
    scheduledAt: now.toISOString(),
    runAfter: new Date(now.getTime() + windowMs).toISOString(),
  };
  await writeOnce(repo, key(record.id), record);
  return record;
}

/**
 * Every scheduled deletion with its cancellation or completion. A schedule that does not verify is returned in
 * `unreadable` and never carried out (a deletion nobody can read the approval of does not happen).
 */
export async function listScheduled(repo: Repository): Promise<{ schedules: ScheduleState[]; unreadable: string[] }> {
  const records = new Map<string, ScheduleState>();
  const stamps: Array<{ id: string; kind: 'cancel' | 'done'; body: unknown }> = [];
  const unreadable: string[] = [];
  for await (const o of repo.store.list(EMERGENCY_PREFIX)) {
    const name = o.key.slice(EMERGENCY_PREFIX.length);
    const m = /^([^/]+?)(\.cancel|\.done)?\.json$/.exec(name);
    if (!m) continue;
    let body: unknown;
    try {
      body = JSON.parse((await readObject(repo.store, o.key)).toString('utf8'));
    } catch (err) {
      unreadable.push(`${o.key} (${describeError(err)})`);
      continue;
    }
    if (m[2]) {
      stamps.push({ id: m[1]!, kind: m[2] === '.cancel' ? 'cancel' : 'done', body });
      continue;
    }
    const parsed = scheduleSchema.safeParse(body);
    if (!parsed.success || parsed.data.id !== m[1]) {
      unreadable.push(`${o.key} (${parsed.success ? 'id does not match its key' : parsed.error.issues[0]!.message})`);
      continue;
    }
    records.set(parsed.data.id, { record: parsed.data });
  }
  for (const s of stamps) {
    const state = records.get(s.id);
    if (!state) continue;
    if (s.kind === 'cancel') {
      const c = stampSchema.safeParse(s.body);
      // A cancellation that does not verify still cancels: when in doubt, nothing is deleted.
      state.cancelled = c.success ? c.data : { actor: '(unverified record)', reason: 'unreadable', at: '' };
    } else {
      const d = doneSchema.safeParse(s.body);
      state.done = d.success ? d.data : { at: '', outcome: 'unreadable' };
    }
  }
  return { schedules: [...records.values()], unreadable };
}

/** Pure: which scheduled deletions run now (window over, neither cancelled nor done) and which still wait. */
export function dueDeletions(
  schedules: readonly ScheduleState[],
  now: Date,
): { due: ScheduledDeletion[]; waiting: ScheduledDeletion[] } {
  const open = schedules.filter((s) => !s.cancelled && !s.done).map((s) => s.record);
  return {
    due: open.filter((r) => new Date(r.runAfter) <= now),
    waiting: open.filter((r) => new Date(r.runAfter) > now),
  };
}

/**
 * Cancels every scheduled deletion of the workflow still in its window. One whose window has ended is not
 * cancellable (the tier run may be carrying it out): refused, saying so.
 */
export async function cancelScheduled(
  repo: Repository,
  uid: string,
  by: { actor: string; reason: string; at: Date },
): Promise<ScheduledDeletion[]> {
  const { schedules } = await listScheduled(repo);
  const open = schedules.filter((s) => s.record.uid === uid && !s.cancelled && !s.done).map((s) => s.record);
  if (!open.length) throw new InputError(`no scheduled emergency deletion of workflow ${uid} to cancel`);
  const late = open.filter((r) => new Date(r.runAfter) <= by.at);
  if (late.length)
    throw new InputError(
      `the cancellation window of ${late.map((r) => `${r.id} (ended ${r.runAfter})`).join(', ')} is over: the next tier run carries it out`,
    );
  for (const r of open) {
    await writeOnce(repo, key(r.id, '.cancel'), { actor: by.actor, reason: by.reason, at: by.at.toISOString() });
  }
  return open;
}

/** Records that the tier run carried out (or refused) a scheduled deletion, so it is not run again. */
export async function markDone(repo: Repository, id: string, outcome: string, at: Date): Promise<void> {
  await writeOnce(repo, key(id, '.done'), { at: at.toISOString(), outcome });
}
