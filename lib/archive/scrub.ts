// The scrub: verify with --read-data over the rotation's packs (scrub-plan.ts), each read recorded in the store as it
// is checked (scrub-state.ts), and the coverage after the run.
import type { Progress } from '../progress.ts';
import type { ObjectInfo } from '../store/store.ts';
import { verifyRepository, type VerifyReport } from './checker.ts';
import { PACKS_PREFIX, parseGroupKey, type Repository } from './repository.ts';
import {
  DEFAULT_SCRUB_CADENCE_MS,
  DEFAULT_SCRUB_PERIOD_MS,
  planScrub,
  scrubCoverage,
  type ScrubCoverage,
  type ScrubPack,
  type ScrubPlan,
  type ScrubRead,
} from './scrub-plan.ts';
import { loadScrubState, newerRead, recordScrubReads } from './scrub-state.ts';

export interface ScrubOptions {
  /**
   * `rotation`: the planner's packs; a number: that percent of packs at random; a list: those packs (a heal's
   * second look). Every read is recorded, whichever chose it.
   */
  select: 'rotation' | number | readonly string[];
  periodMs?: number;
  cadenceMs?: number;
  maxBytes?: number;
  now?: () => Date;
  /** Reads recorded in the store every this many packs (and at the end): a killed run loses at most these. */
  recordEvery?: number;
  progress?: Progress;
}

export interface ScrubSummary {
  periodDays: number;
  cadenceDays: number;
  /** The rotation's plan (undefined for a random sample): what it read, deferred and could not read, and why. */
  plan?: ScrubPlan;
  /** Packs read whole this run, and those of them that failed a check. */
  read: number;
  failed: number;
  /** Packs whose last read was this run or earlier, within the period, after this run. */
  coverage: ScrubCoverage;
  /** Scrub state objects that did not read: ignored (their packs count as never read). */
  stateWarnings: string[];
}

const DEFAULT_RECORD_EVERY = 16;

const scrubPackOf = (o: ObjectInfo): ScrubPack => ({
  key: o.key,
  size: o.size,
  writtenAt: o.lastModified,
  ...(o.storageClass && { storageClass: o.storageClass }),
});

/** What a `rotation` run would read now, and why, and the coverage before it: nothing is read or written. */
export async function planRepositoryScrub(
  repo: Repository,
  opts: Omit<ScrubOptions, 'select' | 'recordEvery' | 'progress'>,
): Promise<{ plan: ScrubPlan; coverage: ScrubCoverage; stateWarnings: string[] }> {
  const now = (opts.now ?? (() => new Date()))();
  const periodMs = opts.periodMs ?? DEFAULT_SCRUB_PERIOD_MS;
  const state = await loadScrubState(repo.store);
  const packs: ScrubPack[] = [];
  for await (const o of repo.store.list(PACKS_PREFIX))
    if (parseGroupKey(PACKS_PREFIX, o.key)) packs.push(scrubPackOf(o));
  const plan = planScrub({
    packs,
    lastRead: state.reads,
    now,
    periodMs,
    cadenceMs: opts.cadenceMs ?? DEFAULT_SCRUB_CADENCE_MS,
    ...(opts.maxBytes !== undefined && { maxBytes: opts.maxBytes }),
  });
  return { plan, coverage: scrubCoverage(packs, state.reads, now, periodMs), stateWarnings: state.warnings };
}

export async function scrubRepository(
  repo: Repository,
  opts: ScrubOptions,
): Promise<{ report: VerifyReport; scrub: ScrubSummary }> {
  const now = opts.now ?? (() => new Date());
  const periodMs = opts.periodMs ?? DEFAULT_SCRUB_PERIOD_MS;
  const cadenceMs = opts.cadenceMs ?? DEFAULT_SCRUB_CADENCE_MS;
  const recordEvery = Math.max(1, opts.recordEvery ?? DEFAULT_RECORD_EVERY);
  const state = await loadScrubState(repo.store);
  let listed: ScrubPack[] = [];
  let live: Set<string> | undefined;
  let plan: ScrubPlan | undefined;
  const choosePacks = (infos: readonly ObjectInfo[]): readonly string[] => {
    listed = infos.map(scrubPackOf);
    live = new Set(listed.map((p) => p.key));
    const select = opts.select;
    if (typeof select === 'number') {
      const percent = Math.min(100, Math.max(0, select));
      return listed.filter(() => percent >= 100 || Math.random() * 100 < percent).map((p) => p.key);
    }
    if (select !== 'rotation') {
      const wanted = new Set(select);
      return listed.filter((p) => wanted.has(p.key)).map((p) => p.key);
    }
    plan = planScrub({
      packs: listed,
      lastRead: state.reads,
      now: now(),
      periodMs,
      cadenceMs,
      ...(opts.maxBytes !== undefined && { maxBytes: opts.maxBytes }),
    });
    return plan.read.map((r) => r.key);
  };
  const pending = new Map<string, ScrubRead>();
  let read = 0;
  let failed = 0;
  const flush = async () => {
    if (pending.size === 0) return;
    await recordScrubReads(repo.store, pending, live);
    pending.clear();
  };
  const onPackRead = async (key: string, ok: boolean) => {
    const r = { at: now(), ok };
    read++;
    if (!ok) failed++;
    pending.set(key, r);
    state.reads.set(key, newerRead(state.reads.get(key), r));
    if (pending.size >= recordEvery) await flush();
  };
  let report: VerifyReport;
  try {
    report = await verifyRepository(repo, {
      readData: true,
      choosePacks,
      onPackRead,
      ...(opts.progress && { progress: opts.progress }),
    });
  } finally {
    // Also when the run stops early: what was read is not read again for nothing.
    await flush();
  }
  return {
    report,
    scrub: {
      periodDays: periodMs / 86_400_000,
      cadenceDays: cadenceMs / 86_400_000,
      ...(plan && { plan }),
      read,
      failed,
      // A repository that could not be opened listed no pack: nothing of it is known to be covered.
      coverage: live
        ? scrubCoverage(listed, state.reads, now(), periodMs)
        : { packs: 0, readWithinPeriod: 0, coverage: 0, overdue: 0, oldestUnreadSeconds: 0, failedLastRead: 0 },
      stateWarnings: state.warnings,
    },
  };
}
