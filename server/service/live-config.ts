// Configuration a running server re-reads (retention policies, prices): validated before it is used, and an invalid
// or unreadable new version keeps the last good one in force and is reported, never half-applied.
import { createHash } from 'node:crypto';
import { ConfigError, describeError } from '../../lib/errors.ts';
import { loadPolicySet, formatProblem, type PolicySet } from '../../lib/policy/index.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';
import { loadPricing } from '../../lib/policy-files/pricing-file.ts';
import { watchPaths, type Watch } from '../../lib/policy-files/watch.ts';
import type { PriceTable } from './storage-usage.ts';

/** One reading of the sources: the value, or why it cannot be used; `fingerprint` changes exactly when they do. */
export type Reading<T> =
  | { fingerprint: string; value: T; warnings?: string[] }
  /** `failClosed`: the invalid version as it fails closed, what a server that has nothing better starts with. */
  | { fingerprint: string; problems: string[]; failClosed?: T };

export type ReloadOutcome = 'unchanged' | 'reloaded' | 'rejected';

export interface LiveConfigStatus {
  /** What is read (files and directories). */
  source: string;
  /** 1 for the start-up reading, +1 for every reading taken since. */
  generation: number;
  /** When the value in force was read. */
  loadedAt: string;
  /** Errors of the version in force: only a start-up version can have any (it then fails closed). */
  problems: string[];
  /** The newest reading that was refused, while the sources still say it (cleared when they change again). */
  rejected?: { at: string; problems: string[] };
}

export class LiveConfig<T> {
  private value: T;
  private fingerprint: string;
  private generation = 1;
  private loadedAt: Date;
  private rejected: { fingerprint: string; at: Date; problems: string[] } | undefined;
  private problems: string[];
  private readonly listeners: Array<(outcome: ReloadOutcome) => void> = [];
  readonly counts: Record<Exclude<ReloadOutcome, 'unchanged'>, number> = { reloaded: 0, rejected: 0 };

  constructor(
    readonly name: string,
    readonly source: string,
    private readonly read: () => Reading<T>,
    initial: Reading<T>,
    private readonly log: (line: string) => void = () => {},
    private readonly now: () => Date = () => new Date(),
  ) {
    if ('problems' in initial && initial.failClosed === undefined)
      throw new ConfigError(`${name}: a start needs a value, valid or failing closed`);
    this.value = 'problems' in initial ? initial.failClosed! : initial.value;
    this.problems = 'problems' in initial ? initial.problems : [];
    this.fingerprint = initial.fingerprint;
    this.loadedAt = this.now();
  }

  current(): T {
    return this.value;
  }

  /** Calls `listener` after every reload attempt, with what it did (tests wait on this, metrics count it). */
  onReload(listener: (outcome: ReloadOutcome) => void): () => void {
    this.listeners.push(listener);
    return () => void this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  /** Reads the sources again and takes them when they changed and are valid. Never throws. */
  reload(): ReloadOutcome {
    const outcome = this.attempt();
    if (outcome !== 'unchanged') this.counts[outcome]++;
    for (const l of [...this.listeners]) l(outcome);
    return outcome;
  }

  private attempt(): ReloadOutcome {
    let next: Reading<T>;
    try {
      next = this.read();
    } catch (err) {
      // An unreadable source is not a new version: keep the one in force, say why, and try again on the next event.
      next = { fingerprint: `unreadable:${describeError(err)}`, problems: [describeError(err)] };
    }
    if (next.fingerprint === this.fingerprint) {
      this.rejected = undefined;
      return 'unchanged';
    }
    if ('problems' in next) {
      if (this.rejected?.fingerprint === next.fingerprint) return 'unchanged';
      this.rejected = { fingerprint: next.fingerprint, at: this.now(), problems: next.problems };
      for (const p of next.problems) this.log(`${this.name}: ${p}`);
      this.log(
        `${this.name}: the new version from ${this.source} is not valid; the one read at ${this.loadedAt.toISOString()} stays in force`,
      );
      return 'rejected';
    }
    this.value = next.value;
    this.fingerprint = next.fingerprint;
    this.problems = [];
    this.generation++;
    this.loadedAt = this.now();
    this.rejected = undefined;
    for (const w of next.warnings ?? []) this.log(`${this.name}: ${w}`);
    this.log(`${this.name}: reloaded from ${this.source} (generation ${this.generation})`);
    return 'reloaded';
  }

  status(): LiveConfigStatus {
    return {
      source: this.source,
      generation: this.generation,
      loadedAt: this.loadedAt.toISOString(),
      problems: this.problems,
      ...(this.rejected && {
        rejected: { at: this.rejected.at.toISOString(), problems: this.rejected.problems },
      }),
    };
  }
}

function fingerprintOf(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(`${p.length}\0${p}`);
  return hash.digest('hex');
}

/**
 * Reads the policy set of `paths` (files and directories as `--policy` takes them), or its errors. Sources whose
 * text did not change since the last reading are not compiled again (a poll costs a read and a hash).
 */
export function policyReader(paths: readonly string[]): () => Reading<PolicySet> {
  let last: Reading<PolicySet> | undefined;
  return () => {
    const sources = readPolicySources(paths);
    const fingerprint = fingerprintOf(sources.flatMap((s) => [s.name, s.text]));
    if (last?.fingerprint === fingerprint) return last;
    const { policySet, problems } = loadPolicySet(sources);
    const errors = problems.filter((p) => p.severity === 'error').map(formatProblem);
    last = policySet.valid
      ? { fingerprint, value: policySet, warnings: problems.map(formatProblem) }
      : { fingerprint, problems: errors.length ? errors : ['the policy set does not validate'], failClosed: policySet };
    return last;
  };
}

/** The prices of a pricing file, or why they cannot be used. */
export function readPrices(file: string): Reading<PriceTable> {
  let pricing;
  try {
    pricing = loadPricing(file);
  } catch (err) {
    return { fingerprint: `invalid:${describeError(err)}`, problems: [describeError(err)] };
  }
  return { fingerprint: fingerprintOf([JSON.stringify(pricing)]), value: { pricing, source: file } };
}

/**
 * Keeps `config` following `paths`: reloads after a change under them (debounced), and every `pollMs` as well, for
 * filesystems whose changes raise no event (a re-reading that finds nothing new changes nothing).
 */
export function followSources(
  config: LiveConfig<unknown>,
  paths: readonly string[],
  opts: { debounceMs?: number; pollMs?: number; log?: (line: string) => void } = {},
): Watch {
  const watch = watchPaths(paths, () => config.reload(), {
    ...(opts.debounceMs !== undefined && { debounceMs: opts.debounceMs }),
    onError: (dir, err) => opts.log?.(`${config.name}: cannot watch ${dir} (${describeError(err)}); polling only`),
  });
  const poll = opts.pollMs ? setInterval(() => config.reload(), opts.pollMs) : undefined;
  poll?.unref();
  return {
    close() {
      watch.close();
      clearInterval(poll);
    },
  };
}
