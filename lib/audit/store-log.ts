// The audit log in the object store: the sequencer that seals pending records into segments under a new tree head
// (the head's create-only write is the one commit point, so concurrent sealers never fork the log), and reading it.
import type { KeyObject } from 'node:crypto';
import { AlreadyExistsError, AuditError, ConfigError, describeError, NotFoundError } from '../errors.ts';
import { lockUntil } from '../store/compliance-lock.ts';
import { addDuration, type PolicyDuration } from '../policy/duration.ts';
import { objectLockOf, type ObjectStore, type PutOptions } from '../store/store.ts';
import { checkLog, type CheckOptions, type LogCheck, type LogReader } from './check-log.ts';
import { signHead } from './head-signature.ts';
import {
  HEAD_PREFIX,
  headKey,
  LEGACY_PREFIX,
  parseTreeHead,
  parseWrittenRecord,
  PENDING_PREFIX,
  seqOfHeadKey,
  type LogEntry,
  type TreeHead,
  type WrittenRecord,
} from './log-format.ts';
import { sealSegment, type PendingObject } from './seal.ts';
import { readObject } from '../store/read-whole.ts';

/** Records per segment: bounds a sealer's and a checker's memory. */
export const SEGMENT_RECORDS = 5000;

async function readText(store: ObjectStore, key: string): Promise<string | undefined> {
  try {
    return (await readObject(store, key)).toString('utf8');
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export function storeLogReader(store: ObjectStore): LogReader {
  return {
    async *headKeys() {
      for await (const o of store.list(HEAD_PREFIX)) yield o.key;
    },
    read: (key) => readText(store, key),
  };
}

/** The newest tree head, or undefined for a log with none yet. Throws when the newest head object is unreadable. */
export async function latestHead(store: ObjectStore): Promise<TreeHead | undefined> {
  let last: string | undefined;
  for await (const o of store.list(HEAD_PREFIX)) if (seqOfHeadKey(o.key) !== undefined) last = o.key;
  if (!last) return undefined;
  return readHead(store, last);
}

export async function readHead(store: ObjectStore, key: string): Promise<TreeHead> {
  const text = await readText(store, key);
  if (text === undefined) throw new NotFoundError('no such tree head', { key });
  const head = parseTreeHead(text);
  if (typeof head === 'string') throw new AuditError(`not a tree head: ${head}`, { key });
  return head;
}

export const readHeadBySeq = (store: ObjectStore, seq: number) => readHead(store, headKey(seq));

/** The entries of a segment (whatever parses; checking is checkLog's job). */
export async function segmentEntries(store: ObjectStore, key: string): Promise<LogEntry[]> {
  const text = (await readText(store, key)) ?? '';
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogEntry];
      } catch {
        return [];
      }
    });
}

async function pendingObjects(store: ObjectStore, limit: number): Promise<PendingObject[]> {
  const found: PendingObject[] = [];
  for (const prefix of [PENDING_PREFIX, LEGACY_PREFIX]) {
    for await (const o of store.list(prefix)) {
      if (found.length >= limit) return found;
      const text = await readText(store, o.key);
      if (text !== undefined) found.push({ key: o.key, text });
    }
  }
  return found;
}

export interface SealOptions {
  signingKey?: KeyObject;
  now?: () => Date;
  segmentRecords?: number;
  /**
   * COMPLIANCE retention for each segment and head, from when it is sealed: written locked, so the store refuses
   * their deletion (to anyone) from the moment they exist. Needs a store with Object Lock.
   */
  retainFor?: PolicyDuration;
}

export interface SealReport {
  /** Records sealed by this run. */
  sealed: number;
  /** Heads this run committed. */
  heads: number[];
  /** The newest head after the run (possibly another sealer's). */
  head?: { seq: number; size: number; root: string; signed: boolean };
  /** Times this run lost the race for a head to another sealer and started again from the newer head. */
  retries: number;
}

const MAX_LOST_RACES = 20;

/**
 * Seals every pending record into the log. Each round: finish the previous round's clean-up (remove the pending
 * objects the newest head's segment holds — a sealer may have crashed before), read what is pending, write the
 * segment (content-addressed, so a duplicate is harmless), then create the next head with If-None-Match. Losing
 * that race means another sealer committed first: start over from its head. Crash-safe and idempotent.
 */
export async function sealLog(store: ObjectStore, opts: SealOptions = {}): Promise<SealReport> {
  const now = opts.now ?? (() => new Date());
  const report: SealReport = { sealed: 0, heads: [], retries: 0 };
  if (opts.retainFor && !objectLockOf(store))
    throw new ConfigError(`audit.retainFor: ${store.url} has no Object Lock to keep the audit log with`);
  for (;;) {
    const prev = await latestHead(store);
    if (prev) await store.delete((await segmentEntries(store, prev.segment.key)).map((e) => e.source));
    const pending = await pendingObjects(store, opts.segmentRecords ?? SEGMENT_RECORDS);
    if (pending.length === 0) {
      report.head = prev && { seq: prev.seq, size: prev.size, root: prev.root, signed: Boolean(prev.signature) };
      return report;
    }
    const sealedAt = now();
    const sealed = sealSegment(prev, pending, sealedAt.toISOString());
    const head = opts.signingKey ? signHead(sealed.head, opts.signingKey) : sealed.head;
    const until = opts.retainFor && addDuration(sealedAt, opts.retainFor);
    const locked: Pick<PutOptions, 'retention'> = until ? { retention: { mode: 'COMPLIANCE', until } } : {};
    try {
      await store.put(head.segment.key, Buffer.from(sealed.text), {
        ifNoneMatch: true,
        contentType: 'application/jsonl',
        ...locked,
      });
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw sealError(err, head.segment.key, until);
      // Written by a sealer that crashed before its head (or without retainFor): locked now, before the head.
      if (until)
        await lockUntil(store, [head.segment.key], until).catch((e: unknown) => {
          throw sealError(e, head.segment.key, until);
        });
    }
    try {
      await store.put(headKey(head.seq), Buffer.from(JSON.stringify(head, null, 2) + '\n'), {
        ifNoneMatch: true,
        contentType: 'application/json',
        ...locked,
      });
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw sealError(err, headKey(head.seq), until);
      if (++report.retries > MAX_LOST_RACES) {
        throw new AuditError(`lost the race for the next tree head ${MAX_LOST_RACES} times; try again`, {
          key: headKey(head.seq),
        });
      }
      continue;
    }
    report.sealed += sealed.sealed.length;
    report.heads.push(head.seq);
    await store.delete(sealed.sealed);
  }
}

function sealError(err: unknown, key: string, lockedUntil?: Date): AuditError {
  const lock = lockedUntil
    ? ` (written under COMPLIANCE retention, audit.retainFor: the bucket needs Object Lock)`
    : '';
  return new AuditError(`cannot seal the audit log: ${describeError(err)}${lock}`, { key }, { cause: err });
}

export const checkStoreLog = (store: ObjectStore, opts?: CheckOptions): Promise<LogCheck> =>
  checkLog(storeLogReader(store), opts);

/** Every record, sealed (in log order) then pending: for reports and tests that look for what was audited. */
export async function* auditRecords(store: ObjectStore): AsyncIterable<WrittenRecord & { index?: number }> {
  // Only the newest segment's pending objects can still exist (sealLog removes them before sealing more).
  let newest = new Set<string>();
  for await (const o of store.list(HEAD_PREFIX)) {
    if (seqOfHeadKey(o.key) === undefined) continue;
    const head = await readHead(store, o.key);
    const entries = await segmentEntries(store, head.segment.key);
    newest = new Set(entries.map((e) => e.source));
    for (const e of entries) if (!('unreadable' in e.record)) yield { ...e.record, index: e.index };
  }
  for (const prefix of [PENDING_PREFIX, LEGACY_PREFIX]) {
    for await (const o of store.list(prefix)) {
      if (newest.has(o.key)) continue;
      const r = parseWrittenRecord((await readText(store, o.key)) ?? '');
      if (r) yield r;
    }
  }
}
