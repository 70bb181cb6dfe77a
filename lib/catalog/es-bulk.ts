// Bulk indexing into Elasticsearch with back-pressure (a bounded batch, sent before more is read) and retries (a node
// that refuses for a while, items it rejects as too busy), failing with the document named when a refusal is final.
import type { Client } from '@elastic/elasticsearch';
import { StrataError } from '../errors.ts';

export interface BulkDoc {
  index: string;
  id: string;
  doc: Record<string, unknown>;
  /** Names the document in errors (e.g. "manifest m1, logs/a.log from line 1"). */
  what: string;
}

export interface BulkOptions {
  /** Send a batch once its body reaches this size (bytes of JSON). */
  flushBytes?: number;
  /** Keep retrying a refused request or rejected items for this long before failing. */
  retryForMs?: number;
  /** First wait between tries; doubles up to maxWaitMs. */
  firstWaitMs?: number;
  maxWaitMs?: number;
}

const DEFAULTS: Required<BulkOptions> = {
  flushBytes: 4 * 1024 * 1024,
  retryForMs: 120_000,
  firstWaitMs: 100,
  maxWaitMs: 5_000,
};

// Refusals worth waiting out: too busy, unavailable, gateway trouble, and no answer at all. Every write names its
// document id, so sending a batch again after an unclear failure (a 500, a cut connection) changes nothing.
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_ITEM_STATUS = new Set([429, 503]);

function statusOf(err: unknown): number | undefined {
  const meta = (err as { meta?: { statusCode?: number } }).meta;
  return meta?.statusCode ?? undefined;
}

function retryable(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  if (name === 'ConnectionError' || name === 'TimeoutError' || name === 'NoLivingConnectionsError') return true;
  const status = statusOf(err);
  return status !== undefined && RETRYABLE_STATUS.has(status);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string };
}

/** Writes documents as they are produced; resolves when every one is acknowledged by the node. */
export class BulkWriter {
  private readonly opts: Required<BulkOptions>;
  private batch: BulkDoc[] = [];
  private batchBytes = 0;
  /** Requests that were refused or had items retried, for the tests and the logs. */
  retries = 0;

  constructor(
    private readonly client: Client,
    opts: BulkOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Adds a document; when the batch is full, waits for it to be written (the producer is held meanwhile). */
  async add(d: BulkDoc): Promise<void> {
    this.batch.push(d);
    this.batchBytes += JSON.stringify(d.doc).length + 100;
    if (this.batchBytes >= this.opts.flushBytes) await this.flush();
  }

  async flush(): Promise<void> {
    let pending = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const deadline = Date.now() + this.opts.retryForMs;
    let wait = this.opts.firstWaitMs;
    while (pending.length > 0) {
      let items: BulkItemResult[] | undefined;
      let refusal: unknown;
      try {
        const operations = pending.flatMap((d) => [{ index: { _index: d.index, _id: d.id } }, d.doc]);
        const res = await this.client.bulk({ operations }, { maxRetries: 0 });
        items = res.items.map((i) => Object.values(i)[0] as BulkItemResult);
      } catch (err) {
        if (!retryable(err)) throw new StrataError(`bulk indexing into Elasticsearch failed: ${message(err)}`);
        refusal = err;
      }
      if (items) {
        const again: BulkDoc[] = [];
        items.forEach((item, i) => {
          const d = pending[i]!;
          if (item.status < 300) return;
          if (RETRYABLE_ITEM_STATUS.has(item.status)) again.push(d);
          else {
            throw new StrataError(
              `Elasticsearch refused ${d.what} (index ${d.index}): ${item.error?.type ?? item.status}: ${item.error?.reason ?? ''}`,
            );
          }
        });
        if (again.length === 0) return;
        pending = again;
        refusal = `${again.length} document(s) rejected as too busy`;
      }
      this.retries++;
      if (Date.now() + wait > deadline) {
        throw new StrataError(
          `bulk indexing into Elasticsearch still refused after ${Math.round(this.opts.retryForMs / 1000)} s: ${message(refusal)}`,
        );
      }
      await sleep(wait);
      wait = Math.min(wait * 2, this.opts.maxWaitMs);
    }
  }
}

function message(err: unknown): string {
  if (typeof err === 'string') return err;
  const status = statusOf(err);
  return `${status === undefined ? '' : `HTTP ${status}: `}${(err as Error).message}`;
}
