// Streams sealed audit records to a webhook as CloudEvents, in log order, each retried with exponential backoff;
// a cursor in the store says how far delivery got, so a re-run resumes there. At least once: a record delivered
// just before a crash is delivered again, and receivers deduplicate by the event id (the record's leaf hash).
import { describeError, NotFoundError, StrataError } from '../errors.ts';
import { readObject } from '../store/read-whole.ts';
import type { ObjectStore } from '../store/store.ts';
import { toCloudEvent, type ExportedRecord } from './export-format.ts';

export const exportCursorKey = (sink: string) => `audit/state/export/${encodeURIComponent(sink)}.json`;

export interface WebhookOptions {
  url: string;
  /** CloudEvents `source`. */
  source: string;
  /** Attempts per record before the run gives up (the cursor keeps what was delivered). */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt, up to 30 s. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  headers?: Record<string, string>;
}

export interface WebhookReport {
  sink: string;
  from: number;
  delivered: number;
  retries: number;
  /** Index of the next record to deliver. */
  next: number;
}

async function readCursor(store: ObjectStore, sink: string): Promise<number> {
  try {
    const v = JSON.parse((await readObject(store, exportCursorKey(sink))).toString('utf8')) as { next?: unknown };
    return typeof v.next === 'number' && v.next >= 0 ? v.next : 0;
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof SyntaxError) return 0;
    throw err;
  }
}

async function post(opts: WebhookOptions, body: string): Promise<void> {
  const res = await fetch(opts.url, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json; charset=utf-8', ...opts.headers },
    body,
  });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
}

/** Delivers every record from the sink's cursor on (`records` in log order). */
export async function deliverToWebhook(
  store: ObjectStore,
  records: readonly ExportedRecord[],
  opts: WebhookOptions,
): Promise<WebhookReport> {
  const sink = opts.url;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((go) => setTimeout(go, ms)));
  const maxAttempts = opts.maxAttempts ?? 8;
  const base = opts.backoffMs ?? 500;
  const from = await readCursor(store, sink);
  const report: WebhookReport = { sink, from, delivered: 0, retries: 0, next: from };
  for (const e of records.filter((r) => r.index >= from)) {
    const body = JSON.stringify(toCloudEvent(e, opts.source));
    for (let attempt = 1; ; attempt++) {
      try {
        await post(opts, body);
        break;
      } catch (err) {
        if (attempt >= maxAttempts) {
          throw new StrataError(
            `webhook ${opts.url} refused record ${e.index} ${maxAttempts} times (last: ${describeError(err)}); ` +
              `${report.delivered} delivered this run, the next run resumes at ${report.next}`,
            undefined,
            { cause: err },
          );
        }
        report.retries++;
        await sleep(Math.min(base * 2 ** (attempt - 1), 30_000));
      }
    }
    report.delivered++;
    report.next = e.index + 1;
    await store.put(exportCursorKey(sink), Buffer.from(JSON.stringify({ next: report.next }) + '\n'), {
      contentType: 'application/json',
    });
  }
  return report;
}
