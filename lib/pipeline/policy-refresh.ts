// The policy a long-running loop decides with: re-read on demand, replaced only when its sources changed, and put
// on the audit record (its content hash) before anything is decided under it.
import type { PolicyDigest } from '../audit/policy-in-force.ts';
import { describeError } from '../errors.ts';
import { formatProblem, type PolicyProblem, type PolicySet } from '../policy/index.ts';

export interface LoadedPolicy {
  policySet: PolicySet;
  problems: PolicyProblem[];
  /** Changes exactly when the policy sources (names and texts) change. */
  fingerprint: string;
  /** The sources' content hashes, as the audit log records the policy in force. */
  digest: PolicyDigest;
}

/**
 * Writes the audit record of the policy in force when it differs from the last recorded one (recordPolicyInForce);
 * throws when it cannot, and the policy then is not used.
 */
export type RecordPolicy = (digest: PolicyDigest) => Promise<unknown>;

export class PolicyRefresher {
  private loaded: LoadedPolicy;

  constructor(
    private readonly load: () => Promise<LoadedPolicy>,
    initial: LoadedPolicy,
    private readonly log: (line: string) => void,
    private readonly record?: RecordPolicy,
  ) {
    this.loaded = initial;
  }

  get current(): PolicySet {
    return this.loaded.policySet;
  }

  /** Records the policy the loop starts with (before its first decision); throws when the record cannot be written. */
  async recordInForce(): Promise<void> {
    await this.record?.(this.loaded.digest);
  }

  /**
   * Reads the sources again; true when they changed. An invalid new set replaces the old one (decisions then fail
   * closed and are retried); sources that cannot be read keep the set in force (an outage is not a policy change).
   * A changed policy whose audit record cannot be written is not adopted, and the error is thrown: nothing may be
   * decided under a policy the log does not name.
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
    await this.record?.(next.digest);
    this.loaded = next;
    for (const p of next.problems) this.log(formatProblem(p));
    this.log(
      next.policySet.valid
        ? `policy changed: pending workflows are decided again (policy ${next.digest.sha256})`
        : 'policy changed and does not validate: nothing is archived until it does (decisions are retried)',
    );
    return true;
  }
}
