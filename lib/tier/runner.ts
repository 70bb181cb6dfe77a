// Carries out a tier plan: each move sets the pack's storage class (where the store has classes), then records the
// tier and audits it. Re-running after a crash converges: a pack already in its class is not copied again, and
// the plan of the next run no longer lists what is done.
import type { AuditLog } from '../audit/audit.ts';
import { recordIntent } from '../audit/write-ahead.ts';
import type { Progress } from '../progress.ts';
import { mapLimit } from '../concurrency.ts';
import { describeError } from '../errors.ts';
import type { Tier } from '../policy/facts.ts';
import { packKey, type Repository } from '../archive/repository.ts';
import { storageClassesOf, type StorageClass } from '../store/store.ts';
import { writeTierRecord } from './placement.ts';
import type { PackMove, TierPlan } from './plan.ts';

export interface TierRunOptions {
  /** The class of each tier when the store has storage classes; undefined: the tier is only recorded. */
  classes: Record<Tier, StorageClass> | undefined;
  audit: AuditLog;
  now: Date;
  actor?: string;
  progress?: Progress;
  concurrency?: number;
  /** Tier records whose pack is gone, to remove. */
  orphanRecords?: readonly string[];
}

export interface MoveOutcome {
  pack: string;
  from: Tier;
  to: Tier;
  bytes: number;
  /**
   * 'moved': class changed (or, without classes, recorded); 'already': a previous run had changed it; 'gone': the
   * pack was deleted meanwhile; 'locked': under Object Lock, so not copied (it moves once the lock ends).
   */
  outcome: 'moved' | 'already' | 'gone' | 'locked' | 'failed';
  error?: string;
}

export interface TierRunReport {
  moves: MoveOutcome[];
  failed: number;
  orphanRecordsRemoved: number;
}

export async function applyTierPlan(repo: Repository, plan: TierPlan, opts: TierRunOptions): Promise<TierRunReport> {
  const actor = opts.actor ?? 'strata/tier';
  // The whole plan is recorded before the first move: a run that cannot record it moves nothing.
  if (plan.moves.length) {
    await recordIntent(opts.audit, {
      action: 'tier-move',
      actor,
      subject: repo.store.url,
      reason: `${plan.moves.length} pack(s) along their timelines`,
      details: { moves: plan.moves.map((m) => ({ pack: packKey(m.group, m.packId), from: m.from, to: m.to })) },
    });
  }
  opts.progress?.start(plan.moves.length, 'tier');
  const moves = await mapLimit(plan.moves, opts.concurrency ?? 4, async (m) => {
    const outcome = await applyMove(repo, m, opts);
    await opts.audit.record({
      action: 'tier-move',
      actor,
      subject: packKey(m.group, m.packId),
      outcome: outcome.outcome === 'failed' ? 'failed' : 'ok',
      reason: outcome.error ?? m.reason,
      details: {
        from: m.from,
        to: m.to,
        storageClass: opts.classes?.[m.to],
        bytes: m.bytes,
        workflows: m.workflows,
        result: outcome.outcome,
      },
    });
    opts.progress?.advance();
    return outcome;
  });
  opts.progress?.done();
  if (opts.orphanRecords?.length) await repo.store.delete([...opts.orphanRecords]);
  return {
    moves,
    failed: moves.filter((m) => m.outcome === 'failed').length,
    orphanRecordsRemoved: opts.orphanRecords?.length ?? 0,
  };
}

async function applyMove(repo: Repository, m: PackMove, opts: TierRunOptions): Promise<MoveOutcome> {
  const key = packKey(m.group, m.packId);
  const base = { pack: `${m.group}/${m.packId}`, from: m.from, to: m.to, bytes: m.bytes };
  try {
    const info = await repo.store.head(key);
    if (!info) return { ...base, outcome: 'gone' };
    let outcome: MoveOutcome['outcome'] = 'moved';
    const storageClass = opts.classes?.[m.to];
    const store = storageClassesOf(repo.store);
    if (storageClass && store) {
      // S3 refuses a copy onto itself that changes nothing: a pack a crashed run already moved is left alone.
      if (info.storageClass === storageClass) outcome = 'already';
      else if (info.legalHold || (info.retainUntil && info.retainUntil > opts.now)) {
        return { ...base, outcome: 'locked' };
      } else await store.setStorageClass(key, storageClass);
    }
    await writeTierRecord(repo, {
      group: m.group,
      packId: m.packId,
      tier: m.to,
      storageClass,
      reason: m.reason,
      at: opts.now,
    });
    return { ...base, outcome };
  } catch (err) {
    return { ...base, outcome: 'failed', error: describeError(err) };
  }
}
