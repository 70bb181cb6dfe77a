// Admission for full-text searches: a few run at once, a few more wait, none waits past a deadline, one caller holds
// only so many places, and a query whose cost is over the limit is refused before it runs. Everything else is
// answered at once with 429 (this caller) or 503 (the server) and Retry-After, so 50 concurrent clients get a fast
// "come back later" instead of queueing behind one another into their own timeouts. A search that runs past its
// deadline, or whose client went away, is stopped through the signal its work is given.
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
  /** Longest a search may run before it is stopped and answered 503 (milliseconds). */
  maxRunMs: number;
}

export const DEFAULT_SEARCH_LIMITS: SearchLimits = {
  concurrency: 2,
  maxQueued: 8,
  maxWaitMs: 2000,
  perCaller: 4,
  maxCost: 64,
  maxRunMs: 5000,
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

export type Rejection = 'queue-full' | 'wait-timeout' | 'per-caller' | 'cost' | 'run-timeout';

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
  /** Takes the turn handed over: from then on the wait's deadline and the client's leaving no longer apply. */
  begin(): void;
}

const noop = () => {};

export class SearchQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly held = new Map<string, number>();
  /** Recent search time (seconds, moving average): what a Retry-After estimate is made of. */
  private averageSeconds = 0.25;
  readonly rejected: Record<Rejection, number> = {
    'queue-full': 0,
    'wait-timeout': 0,
    'per-caller': 0,
    cost: 0,
    'run-timeout': 0,
  };
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

  /**
   * Runs `work` when a turn comes, or throws RetryLater at once (or after maxWaitMs in the queue). `work` is given a
   * signal that aborts when it runs past maxRunMs (the answer is then a 503 at once) or when `opts.signal` aborts (the
   * client went away: the answer is that signal's reason, from the queue too). The turn is held until `work` ends.
   */
  async run<T>(
    caller: string,
    work: (signal: AbortSignal) => Promise<T>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const gone = opts.signal;
    gone?.throwIfAborted();
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
          // A waiter leaves the queue once: by its deadline, by its client going away, or by taking a turn.
          let settled = false;
          const leave = (err: unknown) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            gone?.removeEventListener('abort', onGone);
            this.waiting.splice(this.waiting.indexOf(waiter), 1);
            fail(err);
          };
          const onGone = () => leave(gone!.reason);
          const timer = setTimeout(() => {
            this.rejected['wait-timeout']++;
            leave(
              new RetryLater(
                503,
                `the server is busy with searches: no turn within ${this.limits.maxWaitMs} ms`,
                this.retryAfter(),
              ),
            );
          }, this.limits.maxWaitMs);
          const waiter: Waiter = {
            caller,
            begin: () => {
              settled = true;
              clearTimeout(timer);
              gone?.removeEventListener('abort', onGone);
              // The search starts after the event loop has polled I/O, so that requests that arrived meanwhile
              // (which admission refuses in a millisecond) are read first.
              setImmediate(start);
            },
          };
          gone?.addEventListener('abort', onGone, { once: true });
          this.waiting.push(waiter);
        });
      } catch (err) {
        this.release(caller);
        throw err;
      }
    } else {
      this.held.set(caller, mine + 1);
      this.running++;
      // Start on a later turn of the event loop, so that every request already read is admitted, queued or refused
      // before this one's work begins (a backend that holds the thread while its query runs would keep them waiting).
      await new Promise<void>((r) => setImmediate(r));
    }
    if (gone?.aborted) {
      // The client left before its search began: the turn goes to the next at once.
      this.endTurn(caller);
      throw gone.reason;
    }
    const started = performance.now();
    const stop = new AbortController();
    const deadline = setTimeout(() => {
      this.rejected['run-timeout']++;
      stop.abort(
        new RetryLater(
          503,
          `the search ran for ${this.limits.maxRunMs} ms and was stopped: narrow it (a namespace, rarer words, ` +
            'fewer alternatives)',
          this.retryAfter(),
        ),
      );
    }, this.limits.maxRunMs);
    const onGone = () => stop.abort(gone!.reason);
    gone?.addEventListener('abort', onGone, { once: true });
    const stopped = new Promise<never>((_, fail) => {
      stop.signal.addEventListener('abort', () => fail(stop.signal.reason), { once: true });
    });
    stopped.catch(noop);
    let job: Promise<T>;
    try {
      job = work(stop.signal);
    } catch (err) {
      job = Promise.reject(err);
    }
    // The turn is the backend's until the work ends, even when its answer was given up on (a backend that ignores the
    // signal is still busy).
    void job.then(noop, noop).finally(() => {
      clearTimeout(deadline);
      gone?.removeEventListener('abort', onGone);
      this.averageSeconds = 0.8 * this.averageSeconds + 0.2 * ((performance.now() - started) / 1000);
      this.endTurn(caller);
    });
    return Promise.race([job, stopped]);
  }

  /** A turn ends: the caller's place is given back and the next waiter, if any, takes the turn. */
  private endTurn(caller: string): void {
    this.running--;
    this.release(caller);
    const next = this.waiting.shift();
    if (next) {
      this.running++;
      next.begin();
    }
  }

  private release(caller: string): void {
    const n = (this.held.get(caller) ?? 1) - 1;
    if (n > 0) this.held.set(caller, n);
    else this.held.delete(caller);
  }
}
