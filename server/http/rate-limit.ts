// Per-caller rate limits: a token bucket per verified identity (after authentication, so one tenant's burst does
// not starve another's). The clock is a parameter so tests step it instead of sleeping.

export interface RateLimit {
  /** Requests per second, sustained. */
  perSecond: number;
  /** Requests allowed at once after a quiet period. */
  burst: number;
}

/** Identities remembered at most; the least recently seen are forgotten first (they start with a full bucket). */
const MAX_KEYS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {}

  /** Takes one token for `key`: undefined when allowed, else the seconds until one is available. */
  take(key: string): number | undefined {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.limit.burst, at: t };
    this.buckets.delete(key); // re-inserted below: Map order is recency
    b.tokens = Math.min(this.limit.burst, b.tokens + (t - b.at) * this.limit.perSecond);
    b.at = t;
    let wait: number | undefined;
    if (b.tokens >= 1) b.tokens -= 1;
    else wait = (1 - b.tokens) / this.limit.perSecond;
    this.buckets.set(key, b);
    if (this.buckets.size > MAX_KEYS) this.buckets.delete(this.buckets.keys().next().value!);
    return wait;
  }
}
