// The policy a long-running loop decides with: re-read on demand, replaced only when its sources changed.
import { describeError } from '../errors.ts';
import { formatProblem, type PolicyProblem, type PolicySet } from '../policy/index.ts';

export interface LoadedPolicy {
  policySet: PolicySet;
  problems: PolicyProblem[];
  /** Changes exactly when the policy sources (names and texts) change. */
  fingerprint: string;
}

export class PolicyRefresher {
  private loaded: LoadedPolicy;

  constructor(
    private readonly load: () => Promise<LoadedPolicy>,
    initial: LoadedPolicy,
    private readonly log: (line: string) => void,
  ) {
    this.loaded = initial;
  }

  get current(): PolicySet {
    return this.loaded.policySet;
  }

  /**
   * Reads the sources again; true when they changed. An invalid new set replaces the old one (decisions then fail
   * closed and are retried); sources that cannot be read keep the set in force (an outage is not a policy change).
   */
  async refresh(): Promise<boolean> {
    let next: LoadedPolicy;
    try {
      next = await this.load();
    } catch (err) {
      this.log(`policy not re-read (keeping the set in force): ${describeError(err)}`);
      return false;
    }
    if (next.fingerprint === this.loaded.fingerprint) return false;
    this.loaded = next;
    for (const p of next.problems) this.log(formatProblem(p));
    this.log(
      next.policySet.valid
        ? 'policy changed: pending workflows are decided again'
        : 'policy changed and does not validate: nothing is archived until it does (decisions are retried)',
    );
    return true;
  }
}
