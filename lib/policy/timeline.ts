// Turns a resolved retention action into dates: archive on, each tier move, delete on; and the tier at any time.
import type { RetentionAction } from './compile.ts';
import { addDuration, retentionEnd, type Retention } from './duration.ts';
import type { Tier } from './facts.ts';

export interface TierStay {
  tier: Tier;
  from: Date;
  /** Undefined: stays until deletion, or forever when retention is indefinite. */
  until?: Date;
}

export interface Timeline {
  archiveAt?: Date;
  warmAt?: Date;
  coldAt?: Date;
  deepArchiveAt?: Date;
  deleteAt?: Date;
  /** True when nothing deletes the archive (indefinite retention, a legal hold, or an undecidable workflow). */
  indefinite: boolean;
  stays: TierStay[];
}

export const UNDECIDED_TIMELINE: Timeline = { indefinite: true, stays: [] };

/** The later of two ends, where undefined means never. */
export function laterEnd(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a || !b) return undefined;
  return a >= b ? a : b;
}

export function retentionEndOf(finishedAt: Date, retainFor: Retention): Date | undefined {
  return retentionEnd(finishedAt, retainFor);
}

/**
 * Dates for one workflow. Retention counts from completion; tier stays are consecutive from the archive date.
 * Deletion never comes before archival, and stages that would start after deletion are dropped.
 */
export function buildTimeline(action: RetentionAction, finishedAt: Date, deleteAt: Date | undefined): Timeline {
  const archiveAt = action.immediate ? finishedAt : addDuration(finishedAt, action.archiveAfter);
  const end = deleteAt && deleteAt < archiveAt ? archiveAt : deleteAt;
  const stays: TierStay[] = [];
  let from = archiveAt;
  for (const stage of action.timeline) {
    if (end && from >= end) break;
    let until = stage.stay ? addDuration(from, stage.stay) : end;
    if (end && until && until > end) until = end;
    stays.push({ tier: stage.tier, from, until });
    if (!until) break;
    from = until;
  }
  const at = (tier: Tier) => stays.find((s) => s.tier === tier)?.from;
  return {
    archiveAt,
    warmAt: at('warm'),
    coldAt: at('cold'),
    deepArchiveAt: at('deepArchive'),
    deleteAt: end,
    indefinite: end === undefined,
    stays,
  };
}

/** The tier the archive should be in at `when`; undefined before archival or after deletion. */
export function tierAt(timeline: Timeline, when: Date): Tier | undefined {
  if (!timeline.archiveAt || when < timeline.archiveAt) return undefined;
  if (timeline.deleteAt && when >= timeline.deleteAt) return undefined;
  for (const s of timeline.stays) if (when >= s.from && (!s.until || when < s.until)) return s.tier;
  return timeline.stays[timeline.stays.length - 1]?.tier;
}
