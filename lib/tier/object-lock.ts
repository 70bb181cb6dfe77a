// Holds the store enforces: S3 Object Lock legal holds on the manifests and packs of every held workflow (cleared
// when no hold needs them any more), and COMPLIANCE retention up to a compliance class's floor (or, kept
// indefinitely, a rolling window extended here), so not even an administrator can delete them early. Stores
// without Object Lock rely on Strata's own checks.
import { listManifests, readManifest } from '../archive/manifest-lookup.ts';
import { manifestKey, packKey, type Repository } from '../archive/repository.ts';
import { describeError } from '../errors.ts';
import { activeHolds, type HoldsAndExtensions } from '../policy/holds.ts';
import { objectLockOf } from '../store/store.ts';

/** One archived copy of a workflow, as far as locking is concerned. */
export interface LockTarget {
  manifestId: string;
  uid: string;
  group: string;
  packs: readonly string[];
  /** Compliance lock: the store must keep the objects at least until then (COMPLIANCE retention). */
  retainUntil?: Date;
  /** A lock already ending at or after this is left alone (default `retainUntil`): an indefinite class's window. */
  renewBefore?: Date;
}

export interface LockReport {
  /** False when the store has no Object Lock (a local directory): holds are Strata's checks only. */
  enforced: boolean;
  legalHoldsSet: string[];
  legalHoldsCleared: string[];
  retentionSet: string[];
  /** Why locking failed (e.g. a bucket created without Object Lock): the records still hold, the store does not. */
  problems: string[];
}

/** Every manifest's workflow and packs, read from the store (for steps that have no tier facts at hand). */
export async function lockTargets(repo: Repository): Promise<LockTarget[]> {
  const out: LockTarget[] = [];
  for await (const info of listManifests(repo)) {
    const m = await readManifest(repo, info.id);
    out.push({ manifestId: info.id, uid: m.workflow.uid, group: m.group, packs: m.packs });
  }
  return out;
}

const keysOf = (t: LockTarget) => [manifestKey(t.manifestId), ...t.packs.map((p) => packKey(t.group, p))];

/**
 * Brings the store's locks in line with the records: a legal hold on every manifest and pack of each workflow under
 * an active hold (unverified records count), none on the objects of workflows whose holds were all released unless
 * another held workflow shares them; COMPLIANCE retention extended (never shortened) to each target's floor.
 * `overridden`: workflows whose holds a break-glass deletion overrides (their objects are released too).
 */
export async function enforceLocks(
  repo: Repository,
  targets: readonly LockTarget[],
  holds: HoldsAndExtensions,
  now: Date,
  overridden: readonly string[] = [],
): Promise<LockReport> {
  const report: LockReport = {
    enforced: false,
    legalHoldsSet: [],
    legalHoldsCleared: [],
    retentionSet: [],
    problems: [],
  };
  const lock = objectLockOf(repo.store);
  if (!lock) return report;
  report.enforced = true;
  const skip = new Set(overridden);
  const held = new Set(
    holds.holds.map((h) => h.workflowUid).filter((u) => !skip.has(u) && activeHolds(holds.holds, u, now).length),
  );
  const everHeld = new Set([...holds.holds.map((h) => h.workflowUid), ...overridden]);
  const want = new Set(targets.filter((t) => held.has(t.uid)).flatMap(keysOf));
  const candidates = new Set(targets.filter((t) => everHeld.has(t.uid)).flatMap(keysOf));
  const fail = (key: string, err: unknown) => report.problems.push(`${key}: ${describeError(err)}`);

  for (const key of [...candidates].sort()) {
    try {
      const info = await repo.store.head(key);
      if (!info) continue;
      const on = want.has(key);
      if (Boolean(info.legalHold) === on) continue;
      await lock.setLegalHold(key, on);
      (on ? report.legalHoldsSet : report.legalHoldsCleared).push(key);
    } catch (err) {
      fail(key, err);
      if (report.problems.length >= 3) return report; // a bucket without Object Lock fails every call alike
    }
  }

  // A pack shared by several targets gets the latest lock any of them asks for.
  const floors = new Map<string, { until: Date; renewBefore: Date }>();
  for (const t of targets) {
    if (!t.retainUntil || t.retainUntil <= now) continue;
    const renewBefore = t.renewBefore ?? t.retainUntil;
    for (const key of keysOf(t)) {
      const was = floors.get(key);
      floors.set(key, {
        until: !was || t.retainUntil > was.until ? t.retainUntil : was.until,
        renewBefore: !was || renewBefore > was.renewBefore ? renewBefore : was.renewBefore,
      });
    }
  }
  for (const [key, { until, renewBefore }] of [...floors].sort(([a], [b]) => (a < b ? -1 : 1))) {
    try {
      const info = await repo.store.head(key);
      if (!info || (info.retainUntil && info.retainUntil >= renewBefore)) continue;
      await lock.setRetention(key, 'COMPLIANCE', until);
      report.retentionSet.push(key);
    } catch (err) {
      fail(key, err);
      if (report.problems.length >= 3) return report;
    }
  }
  return report;
}
