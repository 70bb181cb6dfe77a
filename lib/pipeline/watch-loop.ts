// The event-driven loop behind `strata watch`: list, then watch from that version; each workflow that finishes is handled once.
import { AuditError, describeError } from '../errors.ts';
import { skipReason, workflowRef, type WorkflowObject } from './workflow-state.ts';

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
}

export interface WatchLoopOptions {
  namespace?: string;
  labelSelector?: string;
  /** Handle the workflows the first list finds, then return (no watch). */
  once?: boolean;
  /** Stop after this many watch events (tests, bounded runs). */
  maxEvents?: number;
  signal?: AbortSignal;
  /** Archive (and finalize) one finished workflow; errors are reported, the loop goes on. */
  handle(wf: WorkflowObject): Promise<void>;
  log(message: string): void;
}

export interface WatchLoopStats {
  events: number;
  handled: number;
  failed: number;
  relists: number;
}

export async function runWatchLoop(source: WatchSource, opts: WatchLoopOptions): Promise<WatchLoopStats> {
  const stats: WatchLoopStats = { events: 0, handled: 0, failed: 0, relists: 0 };
  /** uid → resourceVersion handled, so a MODIFIED echo of our own label patch is not archived twice. */
  const done = new Set<string>();
  const consider = async (wf: WorkflowObject) => {
    const uid = wf.metadata.uid;
    if (!uid || done.has(uid) || skipReason(wf)) return;
    done.add(uid);
    try {
      await opts.handle(wf);
      stats.handled++;
    } catch (err) {
      // Without an audit log nothing more may happen: stop watching rather than archive and delete off the record.
      if (err instanceof AuditError) throw err;
      stats.failed++;
      done.delete(uid); // try again on its next event
      opts.log(`failed: ${workflowRef(wf)}: ${describeError(err)}`);
    }
  };
  const selection = { namespaces: opts.namespace ? [opts.namespace] : undefined, labelSelector: opts.labelSelector };
  for (;;) {
    for await (const wf of source.listWorkflows(selection)) await consider(wf);
    if (opts.once) return stats;
    const version = source.lastListVersion();
    try {
      for await (const ev of source.watchWorkflows({
        ...selection,
        namespace: opts.namespace,
        resourceVersion: version,
        signal: opts.signal,
      })) {
        stats.events++;
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED') await consider(ev.object);
        if (opts.maxEvents !== undefined && stats.events >= opts.maxEvents) return stats;
      }
    } catch (err) {
      if ((err as { status?: number }).status !== 410) throw err;
      opts.log('watch expired (410 Gone): listing again');
    }
    if (opts.signal?.aborted) return stats;
    stats.relists++;
  }
}
