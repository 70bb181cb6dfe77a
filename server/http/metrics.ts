// The server's Prometheus metrics: requests and latency by route (a bounded label: the route's name, never the
// path), rate-limited requests, active restore jobs. Rendered in the text exposition format at scrape time.

import type { LiveConfig } from '../service/live-config.ts';
import type { SearchQueue } from '../service/search-queue.ts';

/** Seconds; what a list page, a search and a log's first byte are expected to fall between. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  count: number;
  sum: number;
  buckets: number[];
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class ServerMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Series>();
  private rateLimited = 0;

  /** One answered request: `route` is a route name (or graphql/ui/unmatched), `status` the HTTP status. */
  observe(route: string, method: string, status: number, seconds: number): void {
    const key = `route="${escape(route)}",method="${escape(method)}",code="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const lkey = `route="${escape(route)}"`;
    const s = this.latency.get(lkey) ?? { count: 0, sum: 0, buckets: BUCKETS.map(() => 0) };
    s.count++;
    s.sum += seconds;
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) s.buckets[i]!++;
    });
    this.latency.set(lkey, s);
  }

  limited(): void {
    this.rateLimited++;
  }

  render(gauges: {
    activeRestores: number;
    search?: SearchQueue;
    live?: Record<string, LiveConfig<unknown> | undefined>;
  }): string {
    const out: string[] = [];
    out.push('# HELP strata_server_requests_total Answered HTTP requests by route, method and status code.');
    out.push('# TYPE strata_server_requests_total counter');
    for (const [k, v] of [...this.requests].sort()) out.push(`strata_server_requests_total{${k}} ${v}`);
    out.push('# HELP strata_server_request_duration_seconds Time to the end of the answer, by route.');
    out.push('# TYPE strata_server_request_duration_seconds histogram');
    for (const [k, s] of [...this.latency].sort()) {
      BUCKETS.forEach((b, i) =>
        out.push(`strata_server_request_duration_seconds_bucket{${k},le="${b}"} ${s.buckets[i]}`),
      );
      out.push(`strata_server_request_duration_seconds_bucket{${k},le="+Inf"} ${s.count}`);
      out.push(`strata_server_request_duration_seconds_sum{${k}} ${s.sum}`);
      out.push(`strata_server_request_duration_seconds_count{${k}} ${s.count}`);
    }
    out.push('# HELP strata_server_rate_limited_total Requests refused with 429 (per-caller rate limit).');
    out.push('# TYPE strata_server_rate_limited_total counter');
    out.push(`strata_server_rate_limited_total ${this.rateLimited}`);
    out.push('# HELP strata_server_restores_active Restore jobs pending or running.');
    out.push('# TYPE strata_server_restores_active gauge');
    out.push(`strata_server_restores_active ${gauges.activeRestores}`);
    const search = gauges.search;
    if (search) {
      out.push('# HELP strata_server_search_queue_depth Full-text searches waiting for a turn.');
      out.push('# TYPE strata_server_search_queue_depth gauge');
      out.push(`strata_server_search_queue_depth ${search.depth()}`);
      out.push('# HELP strata_server_search_running Full-text searches running.');
      out.push('# TYPE strata_server_search_running gauge');
      out.push(`strata_server_search_running ${search.active()}`);
      out.push('# HELP strata_server_search_rejected_total Searches refused by admission, by reason.');
      out.push('# TYPE strata_server_search_rejected_total counter');
      for (const [reason, n] of Object.entries(search.rejected))
        out.push(`strata_server_search_rejected_total{reason="${reason}"} ${n}`);
    }
    const live = Object.entries(gauges.live ?? {}).filter(([, c]) => c) as [string, LiveConfig<unknown>][];
    if (live.length) {
      out.push('# HELP strata_server_config_reloads_total Re-readings of policies or prices that changed, by result.');
      out.push('# TYPE strata_server_config_reloads_total counter');
      for (const [name, c] of live)
        for (const [result, n] of Object.entries(c.counts))
          out.push(`strata_server_config_reloads_total{config="${name}",result="${result}"} ${n}`);
      out.push(
        '# HELP strata_server_config_rejected 1 while the newest version of the sources is refused (the last good one serves).',
      );
      out.push('# TYPE strata_server_config_rejected gauge');
      for (const [name, c] of live)
        out.push(`strata_server_config_rejected{config="${name}"} ${c.status().rejected ? 1 : 0}`);
    }
    return out.join('\n') + '\n';
  }
}
