// After a hold is set or released: the store's Object Lock legal holds brought in line with every hold record.
import { openRepository } from '../archive/repository.ts';
import { ConfigError } from '../errors.ts';
import type { ObjectStore } from '../store/store.ts';
import { enforceLocks, lockTargets, type LockReport } from '../tier/object-lock.ts';
import { HoldRepository } from './hold-store.ts';

export interface HoldLockOutcome {
  /** What the store did, in one phrase (printed by the CLI, answered by the server). */
  storeLocks: string;
  /** Why the store did not lock: the hold record is written and holds, the store's lock does not. */
  problems: string[];
}

/**
 * All records and all manifests, not just the workflow's: a pack shared with another held workflow stays locked when
 * one of them is released.
 */
export async function syncHoldLocks(store: ObjectStore, now: Date): Promise<HoldLockOutcome> {
  let report: LockReport;
  try {
    const repo = await openRepository(store);
    const holds = await new HoldRepository(store).listHolds();
    report = await enforceLocks(repo, await lockTargets(repo), { holds, extensions: [] }, now);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err; // no repository yet: nothing archived to lock
    return { storeLocks: 'no archive yet', problems: [] };
  }
  return {
    storeLocks: report.enforced
      ? `${report.legalHoldsSet.length} object(s) locked, ${report.legalHoldsCleared.length} released`
      : 'not offered by this store (the record alone holds)',
    problems: report.problems,
  };
}
