// The metrics of `strata watch` (issue 19): how many workflows wait for their due time, the oldest due time, and
// what the loop archived (workflows and bytes), failed or could not queue. Read at scrape time from the running loop.
import type { WatchGauges } from '../pipeline/watch-run.ts';
import type { Metric } from './prometheus.ts';

/** The metrics, given a reader of the loop's state (undefined until the loop runs: no samples then). */
export function watchMetrics(read: () => WatchGauges | undefined): Metric[] {
  const field = (f: (g: WatchGauges) => number | undefined) => () => {
    const g = read();
    return g ? f(g) : undefined;
  };
  return [
    {
      name: 'strata_watch_pending_workflows',
      help: 'Finished workflows waiting for their archive due time or a retry.',
      type: 'gauge',
      value: field((g) => g.pending),
    },
    {
      name: 'strata_watch_oldest_due_timestamp_seconds',
      help: 'When the earliest pending workflow is due (Unix time); absent while nothing is pending.',
      type: 'gauge',
      value: field((g) => (g.oldestDueMs === undefined ? undefined : g.oldestDueMs / 1000)),
    },
    {
      name: 'strata_watch_archived_total',
      help: 'Workflows this watch archived.',
      type: 'counter',
      value: field((g) => g.handled),
    },
    {
      name: 'strata_watch_archived_bytes_total',
      help: 'Bytes of the workflows this watch archived (objects, logs, artifacts), before dedup and compression.',
      type: 'counter',
      value: field((g) => g.archivedBytes),
    },
    {
      name: 'strata_watch_archived_stored_bytes_total',
      help: 'Bytes this watch wrote to the store for them (new packs), after dedup and compression.',
      type: 'counter',
      value: field((g) => g.storedBytes),
    },
    {
      name: 'strata_watch_archive_failures_total',
      help: 'Archive attempts that failed (each is retried with backoff).',
      type: 'counter',
      value: field((g) => g.failed),
    },
    {
      name: 'strata_watch_not_queued_total',
      help: 'Workflows not queued because the pending limit was reached (the sweep archives them).',
      type: 'counter',
      value: field((g) => g.notQueued),
    },
  ];
}
