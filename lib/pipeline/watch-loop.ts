// The event loop behind `strata watch`: list, then watch from that version; a finished workflow is archived as soon as
// policy allows — at once, or when its due time comes (a bounded delay queue), with retries for errors.
import { systemClock, type Clock } from '../clock.ts';
import { AuditError, AuditRefusal, describeError } from '../errors.ts';
import type { ArchiveVerdict } from './assess.ts';
import { DelayQueue } from './delay-queue.ts';
import { planWatch, retryAfter, type WatchPlan } from './watch-plan.ts';
import { ARCHIVED_LABEL, skipReason, workflowRef, type WorkflowObject } from './workflow-state.ts';

export interface WatchSource {
  listWorkflows(selection: { namespaces?: string[]; labelSelector?: string }): AsyncIterable<WorkflowObject>;
  lastListVersion(): string | undefined;
  watchWorkflows(opts: {
    namespace?: string;
    labelSelector?: string;
    resourceVersion?: string;
    signal?: AbortSignal;
  }): AsyncIterable<{
    type: string;
    object: WorkflowObject;
  }>;
  getWorkflow(namespace: string, name: string): Promise<WorkflowObject | undefined>;
}

export interface WatchLoopOptions {
  /** Watch these namespaces, one list-and-watch each (the install's tenant namespaces); none: every namespace. */
  namespaces?: readonly string[];
  labelSelector?: string;
  /** Handle the workflows the first list finds, then return (no watch; pending ones are only counted). */
  once?: boolean;
  /** Stop after this many watch events (tests, bounded runs). */
  maxEvents?: number;
  signal?: AbortSignal;
  clock?: Clock;
  /** The retention verdict with the policy in force now (it may change between calls); a throw is a policy error. */
  decide(wf: WorkflowObject, now: Date): ArchiveVerdict | Promise<ArchiveVerdict>;
  /** Archives (and finalizes) a workflow policy allows now; a throw retries it later with backoff. */
  archive(wf: WorkflowObject, verdict: ArchiveVerdict): Promise<void>;
  /**
   * Re-reads the policy; true when it changed, and every pending workflow is then decided again at once. An
   * AuditRefusal (the new policy could not be put on the record) stops the loop.
   */
  refreshPolicy?(): Promise<boolean>;
  /** How often refreshPolicy runs (default 30 s). */
  policyRefreshMs?: number;
  /** How often the pending count and oldest due time are logged while anything is pending (default 5 min). */
  statusEveryMs?: number;
  /** At most this many workflows wait in memory (default 10000); beyond it the sweep archives them. */
  maxPending?: number;
  log(message: string): void;
  /** Hands over, once, a reader of the loop's state as it is at the moment of reading (metrics read it per scrape). */
  expose?(read: () => WatchLoopGauges): void;
}

/** What `strata watch` exposes as metrics. */
export interface WatchLoopGauges {
  /** Workflows waiting for their due time or a retry. */
  pending: number;
  /** The earliest of their due times (epoch ms); undefined while nothing is pending. */
  oldestDueMs?: number;
  handled: number;
  failed: number;
  notQueued: number;
}

export interface WatchLoopStats {
  events: number;
  /** Workflows archived. */
  handled: number;
  /** Archive attempts that failed (each is retried). */
  failed: number;
  relists: number;
  /** Workflows waiting for their due time or a retry when the loop ended. */
  pending: number;
  /** The earliest of their due times. */
  oldestDue?: string;
  /** Workflows not queued because the pending limit was reached. */
  notQueued: number;
}

export const DEFAULT_MAX_PENDING = 10_000;

/** Runs fn after every fn handed in before it: one workflow is handled at a time, whoever asks. */
function serializer(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn);
    tail = run.catch(() => {});
    return run;
  };
}

export async function runWatchLoop(source: WatchSource, opts: WatchLoopOptions): Promise<WatchLoopStats> {
  const clock = opts.clock ?? systemClock;
  const queue = new DelayQueue(opts.maxPending ?? DEFAULT_MAX_PENDING);
  const stats: WatchLoopStats = { events: 0, handled: 0, failed: 0, relists: 0, pending: 0, notQueued: 0 };
  /** Uids this loop archived: a MODIFIED echo (or Argo's own late updates) is not archived twice. */
  const done = new Set<string>();
  const serial = serializer();
  const stopTimer = new AbortController();
  /** Ends the watch from inside (an audit failure in a due-time archive); `fatal` is what the loop then throws. */
  const halt = new AbortController();
  /** Ends every namespace's watch once one of them is done (max events, an error). */
  const finished = new AbortController();
  const signal = AbortSignal.any([...(opts.signal ? [opts.signal] : []), halt.signal, finished.signal]);
  let fatal: unknown;
  let wake = new AbortController();
  let full = false;
  opts.expose?.(() => ({
    pending: queue.size,
    oldestDueMs: queue.nextDue(),
    handled: stats.handled,
    failed: stats.failed,
    notQueued: stats.notQueued,
  }));

  const iso = (ms: number) => new Date(ms).toISOString();
  const statusLine = () => {
    const next = queue.nextDue();
    return `pending: ${queue.size} workflow${queue.size === 1 ? '' : 's'}${next === undefined ? '' : `, oldest due ${iso(next)}`}`;
  };
  const schedule = (wf: WorkflowObject, plan: Extract<WatchPlan, { due: Date }>) => {
    const uid = wf.metadata.uid!;
    const attempts = plan.action === 'retry' ? plan.attempts : 0;
    const outcome = queue.schedule({
      uid,
      namespace: wf.metadata.namespace ?? 'default',
      name: wf.metadata.name,
      due: plan.due.getTime(),
      attempts,
    });
    if (outcome === 'full') {
      stats.notQueued++;
      if (!full)
        opts.log(
          `pending limit ${queue.limit} reached: ${workflowRef(wf)} (due ${plan.due.toISOString()}) is not queued; ` +
            'the sweep (strata-sweep) archives it and any others beyond the limit',
        );
      full = true;
      return;
    }
    full = false;
    wake.abort(); // the timer recomputes its next wake-up
  };

  const consider = async (wf: WorkflowObject, attempts = 0): Promise<void> => {
    const uid = wf.metadata.uid;
    if (!uid || done.has(uid)) return;
    if (skipReason(wf)) {
      queue.remove(uid);
      return;
    }
    const now = clock.now();
    let decision: { verdict: ArchiveVerdict } | { error: string };
    try {
      decision = { verdict: await opts.decide(wf, now) };
    } catch (err) {
      decision = { error: describeError(err) };
    }
    let plan = planWatch({ now, decision, attempts });
    if (plan.action === 'archive') {
      queue.remove(uid);
      done.add(uid);
      try {
        await opts.archive(wf, (decision as { verdict: ArchiveVerdict }).verdict);
        stats.handled++;
        return;
      } catch (err) {
        // Without an audit log nothing more may happen: stop watching rather than archive and delete off the record.
        if (err instanceof AuditError) throw err;
        done.delete(uid);
        stats.failed++;
        plan = retryAfter(clock.now(), attempts + 1, `archive failed: ${describeError(err)}`);
      }
    }
    if (plan.action === 'drop') {
      queue.remove(uid);
      opts.log(`not archived: ${workflowRef(wf)}: ${plan.reason}`);
      return;
    }
    opts.log(
      plan.action === 'wait'
        ? `not now: ${workflowRef(wf)}: ${plan.reason} (queued for ${plan.due.toISOString()})`
        : `retry: ${workflowRef(wf)}: ${plan.reason} (attempt ${plan.attempts}, next at ${plan.due.toISOString()})`,
    );
    schedule(wf, plan);
  };

  /** Looks again at every workflow whose time has come: read it fresh, drop it if it is gone or another one. */
  const processDue = async () => {
    for (const entry of queue.takeDue(clock.now().getTime())) {
      const ref = `${entry.namespace}/${entry.name}`;
      let wf: WorkflowObject | undefined;
      try {
        wf = await source.getWorkflow(entry.namespace, entry.name);
      } catch (err) {
        const plan = retryAfter(clock.now(), entry.attempts + 1, `reading it failed: ${describeError(err)}`);
        queue.schedule({ ...entry, due: plan.due.getTime(), attempts: entry.attempts + 1 });
        opts.log(`retry: ${ref}: ${plan.reason} (next at ${plan.due.toISOString()})`);
        continue;
      }
      if (!wf) opts.log(`dropped: ${ref}: deleted before it was due`);
      else if (wf.metadata.uid !== entry.uid)
        opts.log(`dropped: ${ref}: recreated (uid ${wf.metadata.uid}) before it was due`);
      else await consider(wf, entry.attempts);
    }
  };

  const policyEvery = opts.policyRefreshMs ?? 30_000;
  const statusEvery = opts.statusEveryMs ?? 5 * 60_000;
  /** Wakes for the earliest due workflow, the next policy re-read, and the status line. */
  const runTimer = async () => {
    let nextPolicy = clock.now().getTime() + policyEvery;
    let nextStatus = clock.now().getTime() + statusEvery;
    while (!stopTimer.signal.aborted) {
      const now = clock.now().getTime();
      const at = Math.min(queue.nextDue() ?? Infinity, opts.refreshPolicy ? nextPolicy : Infinity, nextStatus);
      if (at > now) {
        wake = new AbortController();
        await clock.sleep(at - now, AbortSignal.any([wake.signal, stopTimer.signal]));
        continue;
      }
      try {
        await serial(async () => {
          if (opts.refreshPolicy && now >= nextPolicy) {
            nextPolicy = now + policyEvery;
            if (await opts.refreshPolicy()) queue.dueAll(now);
          }
          await processDue();
          if (now >= nextStatus) {
            nextStatus = now + statusEvery;
            if (queue.size) opts.log(statusLine());
          }
        });
      } catch (err) {
        // Without an audit log nothing more may happen: an archive off the record, or a policy it does not name.
        if (err instanceof AuditError || err instanceof AuditRefusal) {
          fatal = err;
          halt.abort();
          return;
        }
        // Whatever failed is still queued or will be listed again: the timer must outlive it.
        opts.log(`watch timer: ${describeError(err)}`);
      }
    }
  };

  // Workflows labelled archived are left out by the API server: a list costs O(unarchived) workflows.
  const labelSelector = [opts.labelSelector, `!${ARCHIVED_LABEL}`].filter(Boolean).join(',');
  /** The client keeps one list version: a namespace's list and the version it ends on must not interleave. */
  const listing = serializer();
  let timer: Promise<void> | undefined;
  const follow = async (namespace: string | undefined): Promise<void> => {
    for (;;) {
      const version = await listing(async () => {
        for await (const wf of source.listWorkflows({ namespaces: namespace ? [namespace] : undefined, labelSelector }))
          await serial(() => consider(wf));
        return source.lastListVersion();
      });
      if (queue.size) opts.log(statusLine());
      if (opts.once) return;
      timer ??= runTimer();
      try {
        for await (const ev of source.watchWorkflows({ namespace, labelSelector, resourceVersion: version, signal })) {
          stats.events++;
          const uid = ev.object.metadata.uid;
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED') await serial(() => consider(ev.object));
          else if (ev.type === 'DELETED' && uid)
            await serial(async () => {
              queue.remove(uid);
              done.delete(uid);
            });
          if (opts.maxEvents !== undefined && stats.events >= opts.maxEvents) return;
        }
      } catch (err) {
        if ((err as { status?: number }).status !== 410) throw err;
        opts.log(`watch expired (410 Gone): listing ${namespace ? `namespace ${namespace}` : 'every namespace'} again`);
      }
      if (fatal) throw fatal;
      if (signal.aborted) return;
      stats.relists++;
    }
  };
  try {
    const namespaces = opts.namespaces?.length ? [...opts.namespaces] : [undefined];
    const outcomes = await Promise.allSettled(namespaces.map((ns) => follow(ns).finally(() => finished.abort())));
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) throw failure.reason;
    return stats;
  } finally {
    stopTimer.abort();
    await timer;
    // Filled in here, after the timer stopped: the caller gets the queue as the loop left it.
    stats.pending = queue.size;
    const next = queue.nextDue();
    if (next !== undefined) stats.oldestDue = iso(next);
  }
}
