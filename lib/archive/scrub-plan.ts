// The scrub's rotation (pure: pack list, last reads, clock, period and cadence in; the packs to read and why out), so
// that every pack is read whole, hashes checked, at least once per period while each run reads only its share.
import { createHash } from 'node:crypto';
import type { StorageClass } from '../store/store.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_SCRUB_PERIOD_MS = 90 * DAY_MS;
export const DEFAULT_SCRUB_CADENCE_MS = 7 * DAY_MS;

/** Storage classes whose objects cannot be read without a restore request (hours, and a retrieval fee). */
const COLD_CLASSES: ReadonlySet<StorageClass> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

export interface ScrubPack {
  key: string;
  size: number;
  /** When the pack was written (the store's last-modified time): a pack never read is due a period after it. */
  writtenAt: Date;
  storageClass?: StorageClass;
}

/** The last time a pack was read whole and checked, and whether it passed. */
export interface ScrubRead {
  at: Date;
  ok: boolean;
}

export interface ScrubFacts {
  packs: readonly ScrubPack[];
  lastRead: ReadonlyMap<string, ScrubRead>;
  now: Date;
  /** Every pack is read at least once within this. */
  periodMs: number;
  /** How often the scrub runs: a pack that would pass its period before the next run is read now. */
  cadenceMs: number;
  /** Bytes one run may read; what is due beyond it is deferred (and coverage drops, which is alerted on). */
  maxBytes?: number;
}

export interface PlannedRead {
  key: string;
  size: number;
  reason: string;
}

export interface ScrubPlan {
  read: PlannedRead[];
  /** Due, but over maxBytes: read by a later run. */
  deferred: PlannedRead[];
  /** In a storage class that cannot be read without a restore: not scrubbed, not counted in coverage. */
  cold: PlannedRead[];
  /** Packs each run reads at least, so that the rotation goes round once within the period. */
  share: number;
  bytes: number;
}

export interface ScrubCoverage {
  /** Packs that can be read (not in a cold storage class). */
  packs: number;
  /** Of those, read within the period. */
  readWithinPeriod: number;
  /** readWithinPeriod / packs (1 when there is no pack). */
  coverage: number;
  /** Packs neither read nor written within the period: the guarantee broken (0 when the scrub keeps up). */
  overdue: number;
  /** Seconds since the least recently read pack was read (or written, if never read); 0 when there is no pack. */
  oldestUnreadSeconds: number;
  /** Packs whose last read found them corrupt. */
  failedLastRead: number;
}

/**
 * Runs that a rotation must fit in: a pack read at one run is due again at the last run before it would pass the
 * period, which is this many runs later (at least 1).
 */
export function runsPerPeriod(periodMs: number, cadenceMs: number): number {
  return Math.max(1, Math.ceil(periodMs / cadenceMs) - 1);
}

const days = (ms: number) => `${(ms / DAY_MS).toFixed(1)}d`;

/** Since when a pack has gone unread: its last read, else its writing. */
const sinceOf = (p: ScrubPack, lastRead: ReadonlyMap<string, ScrubRead>): number =>
  (lastRead.get(p.key)?.at ?? p.writtenAt).getTime();

/** A stable, spread-out order among packs that tie (a fresh archive's packs all written in one night). */
const tieBreak = (key: string) => createHash('sha256').update(key).digest('hex');

export function planScrub(f: ScrubFacts): ScrubPlan {
  if (!(f.periodMs > 0) || !(f.cadenceMs > 0)) throw new RangeError('scrub period and cadence must be positive');
  const now = f.now.getTime();
  const cold: PlannedRead[] = [];
  const readable: ScrubPack[] = [];
  for (const p of f.packs) {
    if (p.storageClass && COLD_CLASSES.has(p.storageClass))
      cold.push({ key: p.key, size: p.size, reason: `in ${p.storageClass}: not readable without a restore` });
    else readable.push(p);
  }
  // Oldest first: never read before read, then by the time since, then the spread-out tie break.
  const order = readable
    .map((p) => ({ p, since: sinceOf(p, f.lastRead), read: f.lastRead.get(p.key), tie: tieBreak(p.key) }))
    .sort(
      (a, b) =>
        Number(Boolean(a.read)) - Number(Boolean(b.read)) ||
        a.since - b.since ||
        (a.tie < b.tie ? -1 : a.tie > b.tie ? 1 : 0),
    );
  const share = Math.ceil(readable.length / runsPerPeriod(f.periodMs, f.cadenceMs));
  const must: PlannedRead[] = [];
  const rotation: PlannedRead[] = [];
  for (const { p, since, read } of order) {
    const age = `${read ? 'last read' : 'never read, written'} ${days(now - since)} ago`;
    if (read && !read.ok) must.push({ key: p.key, size: p.size, reason: `failed its last read: read again (${age})` });
    else if (since + f.periodMs <= now + f.cadenceMs)
      must.push({
        key: p.key,
        size: p.size,
        reason: `due: ${age}, the ${days(f.periodMs)} period ends before the next run`,
      });
    else rotation.push({ key: p.key, size: p.size, reason: `rotation: ${age}` });
  }
  const read: PlannedRead[] = [];
  const deferred: PlannedRead[] = [];
  let bytes = 0;
  const fits = (r: PlannedRead) => f.maxBytes === undefined || bytes + r.size <= f.maxBytes || read.length === 0;
  for (const r of must) {
    if (fits(r)) {
      read.push(r);
      bytes += r.size;
    } else deferred.push({ ...r, reason: `deferred (over the ${f.maxBytes}-byte budget): ${r.reason}` });
  }
  for (const r of rotation) {
    if (read.length + deferred.length >= share || !fits(r)) break;
    read.push(r);
    bytes += r.size;
  }
  return { read, deferred, cold, share, bytes };
}

/** How much of the archive has been read within the period, as of `now` (after a run's reads are merged in). */
export function scrubCoverage(
  packs: readonly ScrubPack[],
  lastRead: ReadonlyMap<string, ScrubRead>,
  now: Date,
  periodMs: number,
): ScrubCoverage {
  let readable = 0;
  let within = 0;
  let failed = 0;
  let overdue = 0;
  let oldest = now.getTime();
  for (const p of packs) {
    if (p.storageClass && COLD_CLASSES.has(p.storageClass)) continue;
    readable++;
    const r = lastRead.get(p.key);
    if (r && now.getTime() - r.at.getTime() <= periodMs) within++;
    if (r && !r.ok) failed++;
    const since = sinceOf(p, lastRead);
    if (now.getTime() - since > periodMs) overdue++;
    oldest = Math.min(oldest, since);
  }
  return {
    packs: readable,
    readWithinPeriod: within,
    coverage: readable === 0 ? 1 : within / readable,
    overdue,
    oldestUnreadSeconds: Math.max(0, Math.floor((now.getTime() - oldest) / 1000)),
    failedLastRead: failed,
  };
}
