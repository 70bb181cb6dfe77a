// Full-text searches of an embedded SQLite catalog on worker threads (search-worker.ts), each with a read-only
// connection of its own to the catalog file: a search's SQL and matching never hold the thread that serves requests.
// That thread hands a search over, and reads segment text back from the archive when a compact catalog asks for it.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ConfigError, describeError, StrataError } from '../errors.ts';
import { workerUrl } from '../threads/worker-url.ts';
import type { Catalog, TextHit, WorkflowQuery } from './catalog.ts';
import type { FromSearchWorker, SearchWorkerData, ToSearchWorker } from './search-worker.ts';
import type { SegmentReader } from './sqlite.ts';
import { parseTextQuery } from './text-query.ts';

/** Search threads by default: one per core beside the one serving requests, at least one, at most four. */
export function defaultSearchThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.min(4, cores - 1));
}

/** A search that failed on its thread (the catalog file could not be read, the thread stopped). */
export class SearchThreadError extends StrataError {}

/** How long a cancelled search may take to notice before its thread is replaced by a fresh one. */
const CANCEL_GRACE_MS = 2000;

export interface SearchThreadsOptions {
  /** The catalog file (opened read-write elsewhere first: the threads open it read-only as it is). */
  path: string;
  /** The compact layout's reader of segment text (search-worker.ts asks this thread for each segment it confirms). */
  textFrom?: SegmentReader;
  threads: number;
}

interface Job {
  id: number;
  text: string;
  query: Omit<WorkflowQuery, 'text'>;
  resolve(hits: TextHit[]): void;
  reject(err: unknown): void;
  done(): void;
}

interface Slot {
  worker?: Worker;
  /** Where the thread reads which search to stop (SearchWorkerData.cancel). */
  cancel: Int32Array;
  job?: Job;
  /** A search given up on (cancelled) that the thread has not yet stopped: no new one goes there meanwhile. */
  draining?: number;
  timer?: NodeJS.Timeout;
}

/**
 * A fixed set of search threads, started on first use. Searches beyond them wait in order. A search whose signal
 * aborts is dropped from the wait, or told to stop (it checks between steps of its walk) and answered at once with the
 * signal's reason; a thread that does not stop within CANCEL_GRACE_MS, or that dies, is replaced.
 */
export class SearchThreads {
  private readonly slots: Slot[];
  private readonly waiting: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: SearchThreadsOptions) {
    if (!(Number.isInteger(opts.threads) && opts.threads >= 1))
      throw new ConfigError(`search threads must be a whole number ≥ 1, got ${opts.threads}`, {
        key: 'search-threads',
      });
    this.slots = Array.from({ length: opts.threads }, () => ({ cancel: new Int32Array(new SharedArrayBuffer(4)) }));
  }

  search(text: string, query: Omit<WorkflowQuery, 'text'>, signal?: AbortSignal): Promise<TextHit[]> {
    if (this.closed) return Promise.reject(new SearchThreadError('the catalog was closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<TextHit[]>((resolve, reject) => {
      const onAbort = () => this.abandon(job, signal!.reason);
      const job: Job = {
        id: this.nextId++,
        text,
        query,
        resolve,
        reject,
        done: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(job);
      this.dispatch();
    });
  }

  private settle(job: Job, outcome: { hits: TextHit[] } | { error: unknown }): void {
    job.done();
    if ('hits' in outcome) job.resolve(outcome.hits);
    else job.reject(outcome.error);
  }

  private abandon(job: Job, reason: unknown): void {
    const at = this.waiting.indexOf(job);
    if (at >= 0) this.waiting.splice(at, 1);
    const slot = this.slots.find((s) => s.job === job);
    if (slot) {
      Atomics.store(slot.cancel, 0, job.id);
      slot.job = undefined;
      slot.draining = job.id;
      slot.timer = setTimeout(() => this.replace(slot), CANCEL_GRACE_MS).unref();
    }
    this.settle(job, { error: reason });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (slot.job || slot.draining !== undefined) continue;
      const job = this.waiting.shift()!;
      slot.job = job;
      const worker = (slot.worker ??= this.spawn(slot));
      worker.ref();
      worker.postMessage({ type: 'search', id: job.id, text: job.text, query: job.query } satisfies ToSearchWorker);
    }
  }

  private spawn(slot: Slot): Worker {
    const workerData: SearchWorkerData = {
      path: this.opts.path,
      compact: this.opts.textFrom !== undefined,
      cancel: slot.cancel,
    };
    const worker = new Worker(workerUrl(import.meta.url, 'search-worker'), { workerData, execArgv: [] });
    worker.on('message', (m: FromSearchWorker) => this.heard(slot, worker, m));
    worker.on('error', (err) => this.lost(slot, worker, err.message));
    worker.on('exit', (code) => this.lost(slot, worker, `exit code ${code}`));
    return worker;
  }

  private heard(slot: Slot, worker: Worker, m: FromSearchWorker): void {
    if (slot.worker !== worker) return;
    if (m.type === 'text') return this.readText(worker, m);
    if (slot.draining === m.id) {
      clearTimeout(slot.timer);
      slot.draining = undefined;
    } else if (slot.job?.id === m.id) {
      const job = slot.job;
      slot.job = undefined;
      if (m.type === 'done') this.settle(job, { hits: m.hits });
      else if (m.type === 'failed')
        this.settle(job, {
          error: m.usage ? new ConfigError(m.message) : new SearchThreadError(`full-text search failed: ${m.message}`),
        });
    }
    // An idle thread does not keep the process alive.
    if (!slot.job && slot.draining === undefined) worker.unref();
    this.dispatch();
  }

  private readText(worker: Worker, m: Extract<FromSearchWorker, { type: 'text' }>): void {
    const reply = (answer: ToSearchWorker) => {
      if (this.slots.some((s) => s.worker === worker)) worker.postMessage(answer);
    };
    const textFrom = this.opts.textFrom;
    if (!textFrom) return reply({ type: 'text', req: m.req, error: 'this catalog keeps no reader of the archive' });
    textFrom(m.segment).then(
      (text) => reply({ type: 'text', req: m.req, text }),
      (err: unknown) => reply({ type: 'text', req: m.req, error: describeError(err) }),
    );
  }

  private lost(slot: Slot, worker: Worker, why: string): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    clearTimeout(slot.timer);
    slot.draining = undefined;
    const job = slot.job;
    slot.job = undefined;
    if (job) this.settle(job, { error: new SearchThreadError(`the full-text search thread stopped (${why})`) });
    if (!this.closed) this.dispatch();
  }

  /** A cancelled search that did not stop in time (one long step of SQLite): a fresh thread takes its place. */
  private replace(slot: Slot): void {
    const worker = slot.worker;
    slot.worker = undefined;
    slot.draining = undefined;
    void worker?.terminate();
    this.dispatch();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0))
      this.settle(job, { error: new SearchThreadError('the catalog was closed') });
    await Promise.all(
      this.slots.map(async (slot) => {
        const { worker, job } = slot;
        slot.worker = undefined;
        slot.job = undefined;
        clearTimeout(slot.timer);
        if (job) this.settle(job, { error: new SearchThreadError('the catalog was closed') });
        await worker?.terminate();
      }),
    );
  }
}

/**
 * `catalog` (a SQLite catalog of the file `opts.path`) with its full-text searches on search threads; every other
 * call goes to `catalog` itself. A malformed query is refused here, before any thread is involved.
 */
export function withSearchThreads(catalog: Catalog, opts: SearchThreadsOptions): Catalog {
  const threads = new SearchThreads(opts);
  return {
    manifestIds: () => catalog.manifestIds(),
    upsertManifest: (workflow, entries, segments) => catalog.upsertManifest(workflow, entries, segments),
    upsertManifests: (batch) => catalog.upsertManifests(batch),
    remove: (manifestId) => catalog.remove(manifestId),
    search: (query) => catalog.search(query),
    page: (query) => catalog.page(query),
    namespaces: () => catalog.namespaces(),
    searchText: async (text, query = {}, options = {}) => {
      parseTextQuery(text);
      return threads.search(text, query, options.signal);
    },
    get: (ref) => catalog.get(ref),
    entries: (manifestId) => catalog.entries(manifestId),
    stats: () => catalog.stats(),
    usage: (namespaces) => catalog.usage(namespaces),
    countByDay: (query) => catalog.countByDay(query),
    close: async () => {
      await threads.close();
      await catalog.close();
    },
  };
}
