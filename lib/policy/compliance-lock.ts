// How long the store locks a compliance class's archive in COMPLIANCE mode: to the class's floor, or, for a class kept
// indefinitely, a rolling window that every tier run extends before it runs short.
import type { RetentionDecision } from './decide.ts';

/**
 * The window an indefinite compliance class is locked ahead. COMPLIANCE retention can never be shortened, so locking
 * "forever" (a date decades away) would make a later policy change, or an erasure the law requires, impossible for
 * that long; a bounded window commits the store to at most this much beyond what the policy says at any moment.
 */
export const INDEFINITE_LOCK_WINDOW_DAYS = 365;
const DAY_MS = 86_400_000;

export interface ComplianceLock {
  /** Lock to this date when the object's current lock ends before `renewBefore`. */
  until: Date;
  /** A lock ending at or after this is left as it is (a definite floor: the floor itself). */
  renewBefore: Date;
}

/**
 * The lock a compliance floor asks for now: a definite floor in the future → that date; an indefinite one → now +
 * the window, renewed once less than half of it remains (so a daily tier run writes each object about twice a year,
 * and the lock lapses only if tiering stops for half a window). No floor, or one already past → no lock.
 */
export function complianceLock(
  floor: RetentionDecision['complianceFloor'],
  now: Date,
  windowDays = INDEFINITE_LOCK_WINDOW_DAYS,
): ComplianceLock | undefined {
  if (floor instanceof Date) return floor > now ? { until: floor, renewBefore: floor } : undefined;
  if (floor !== 'indefinite') return undefined;
  return {
    until: new Date(now.getTime() + windowDays * DAY_MS),
    renewBefore: new Date(now.getTime() + (windowDays / 2) * DAY_MS),
  };
}
