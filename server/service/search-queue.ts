// Admission for full-text searches: a few run at once, a few more wait, none waits past a deadline, one caller holds
// only so many places, and a query whose cost is over the limit is refused before it runs. Everything else is
// answered at once with 429 (this caller) or 503 (the server) and Retry-After, so 50 concurrent clients get a fast
// "come back later" instead of queueing behind one another into their own timeouts.
import { HttpError } from '../api/errors.ts';
import type { TextQuery } from '../../lib/catalog/text-query.ts';

export interface SearchLimits {
  /** Searches running at once. */
  concurrency: number;
  /** Searches waiting for a turn; past it, 503. */
  maxQueued: number;
  /** Longest wait for a turn before 503 (milliseconds). */
  maxWaitMs: number;
  /** Places (running + waiting) one caller may hold; past it, 429. */
  perCaller: number;
  /** Largest query cost (searchCost) accepted; past it, 400. */
  maxCost: number;
}

export const DEFAULT_SEARCH_LIMITS: SearchLimits = {
  concurrency: 2,
  maxQueued: 8,
  maxWaitMs: 2000,
  perCaller: 4,
  maxCost: 64,
};

/** Answered with a Retry-After header (seconds). */
export class RetryLater extends HttpError {
  constructor(
    status: 429 | 503,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(status, message);
  }
}

export type Rejection = 'queue-full' | 'wait-timeout' | 'per-caller' | 'cost';

/**
 * What a query costs an index, roughly in posting lists read: one per token, and a short prefix (`a*`, `ab*`)
 * stands for every token it starts, so it counts as many.
 */
export function searchCost(q: TextQuery): number {
  switch (q.kind) {
    case 'phrase': {
      const last = q.tokens[q.tokens.length - 1] ?? '';
      const prefixCost = !q.prefix ? 0 : last.length <= 1 ? 32 : last.length === 2 ? 8 : 1;
      return q.tokens.length + prefixCost;
    }
    case 'and':
    case 'or':
      return q.of.reduce((n, sub) => n + searchCost(sub), 0);
    case 'not':
      return searchCost(q.include) + searchCost(q.exclude);
  }
}

interface Waiter {
  caller: string;
  start(): void;
  timer: NodeJS.Timeout;
}

export class SearchQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly held = new Map<string, number>();
  /** Recent search time (seconds, moving average): what a Retry-After estimate is made of. */
  private averageSeconds = 0.25;
  readonly rejected: Record<Rejection, number> = { 'queue-full': 0, 'wait-timeout': 0, 'per-caller': 0, cost: 0 };
  readonly limits: SearchLimits;

  constructor(limits: Partial<SearchLimits> = {}) {
    this.limits = { ...DEFAULT_SEARCH_LIMITS, ...limits };
    for (const [k, v] of Object.entries(this.limits))
      if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`search limit ${k} must be a whole number ≥ 1`);
  }

  depth(): number {
    return this.waiting.length;
  }

  active(): number {
    return this.running;
  }

  /** Refuses a query over the cost limit (400, not worth retrying). */
  checkCost(q: TextQuery, text: string): void {
    const cost = searchCost(q);
    if (cost > this.limits.maxCost) {
      this.rejected.cost++;
      throw new HttpError(
        400,
        `q: ${JSON.stringify(text.slice(0, 80))} costs ${cost}, over the limit of ${this.limits.maxCost} ` +
          '(each word counts 1, a prefix of one or two letters 32 or 8): use fewer terms or longer prefixes',
        'q',
      );
    }
  }

  private retryAfter(): number {
    const turns = (this.waiting.length + this.running) / this.limits.concurrency;
    return Math.max(1, Math.ceil(turns * this.averageSeconds));
  }

  /** Runs `work` when a turn comes, or throws RetryLater at once (or after maxWaitMs in the queue). */
  async run<T>(caller: string, work: () => Promise<T>): Promise<T> {
    const mine = this.held.get(caller) ?? 0;
    if (mine >= this.limits.perCaller) {
      this.rejected['per-caller']++;
      throw new RetryLater(
        429,
        `${caller} already has ${mine} searches running or waiting (at most ${this.limits.perCaller})`,
        this.retryAfter(),
      );
    }
    if (this.running >= this.limits.concurrency) {
      if (this.waiting.length >= this.limits.maxQueued) {
        this.rejected['queue-full']++;
        throw new RetryLater(
          503,
          `the server is busy with searches (${this.running} running, ${this.waiting.length} waiting)`,
          this.retryAfter(),
        );
      }
      this.held.set(caller, mine + 1);
      try {
        await new Promise<void>((start, fail) => {
          const waiter: Waiter = {
            caller,
            start,
            timer: setTimeout(() => {
              this.waiting.splice(this.waiting.indexOf(waiter), 1);
              this.rejected['wait-timeout']++;
              fail(
                new RetryLater(
                  503,
                  `the server is busy with searches: no turn within ${this.limits.maxWaitMs} ms`,
                  this.retryAfter(),
                ),
              );
            }, this.limits.maxWaitMs),
          };
          this.waiting.push(waiter);
        });
      } catch (err) {
        this.release(caller);
        throw err;
      }
    } else {
      this.held.set(caller, mine + 1);
      this.running++;
      // Start on a later turn of the event loop: a search on the embedded SQLite catalog holds the thread while it
      // runs, so starting it here would keep the requests already read from reaching admission until it ends; this
      // way every request in hand is admitted, queued or refused first.
      await new Promise<void>((r) => setImmediate(r));
    }
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.averageSeconds = 0.8 * this.averageSeconds + 0.2 * ((performance.now() - started) / 1000);
      this.running--;
      this.release(caller);
      const next = this.waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        this.running++;
        // The next search starts after the event loop has polled I/O: a search on the embedded SQLite catalog holds
        // the thread while its query runs, and handing over in a microtask would run them back to back while new
        // requests (which admission would refuse in a millisecond) wait unread on their sockets.
        setImmediate(next.start);
      }
    }
  }

  private release(caller: string): void {
    const n = (this.held.get(caller) ?? 1) - 1;
    if (n > 0) this.held.set(caller, n);
    else this.held.delete(caller);
  }
}
