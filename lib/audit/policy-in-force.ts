// The policy in force, as evidence: the content hash of every policy source (files, ConfigMaps) a step acts under,
// recorded in the audit log whenever it differs from the one last recorded, before anything acts under it.
import { createHash } from 'node:crypto';
import { AuditRefusal, describeError, NotFoundError } from '../errors.ts';
import { readObject } from '../store/read-whole.ts';
import type { ObjectStore } from '../store/store.ts';
import type { AuditLog } from './audit.ts';

/** The hash last recorded (an optimisation only: a lost or stale state object means one more record, never none). */
export const POLICY_STATE_KEY = 'audit/state/policy-in-force.json';

export interface PolicyDigest {
  /** `sha256:<hex>` over the sources' names and hashes, in order. */
  sha256: string;
  sources: Array<{ name: string; sha256: string }>;
}

const sha256 = (data: string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export function policyDigest(sources: readonly { name: string; text: string }[]): PolicyDigest {
  const digests = sources.map((s) => ({ name: s.name, sha256: sha256(s.text) }));
  return { sha256: sha256(digests.map((d) => `${d.name}\0${d.sha256}\n`).join('')), sources: digests };
}

/**
 * Records a policy change when the digest differs from the last recorded one. Throws AuditRefusal when the record
 * cannot be written: the step must then act on nothing.
 */
export async function recordPolicyInForce(
  store: ObjectStore,
  audit: AuditLog,
  digest: PolicyDigest,
  actor: string,
): Promise<'recorded' | 'unchanged'> {
  let previous: PolicyDigest | undefined;
  try {
    previous = JSON.parse((await readObject(store, POLICY_STATE_KEY)).toString('utf8')) as PolicyDigest;
  } catch (err) {
    if (!(err instanceof NotFoundError) && !(err instanceof SyntaxError)) throw err;
  }
  if (previous?.sha256 === digest.sha256) return 'unchanged';
  try {
    await audit.record({
      action: 'policy-change',
      actor,
      subject: 'policy',
      outcome: 'ok',
      reason: previous ? `policy changed from ${previous.sha256}` : 'policy in force first recorded',
      hashes: [digest.sha256, ...digest.sources.map((s) => s.sha256)],
      details: { sources: digest.sources, ...(previous && { previous: previous.sha256 }) },
    });
  } catch (err) {
    throw new AuditRefusal(
      `the policy in force (${digest.sha256}) is not recorded in the audit log, so nothing acts under it: ${describeError(err)}`,
      undefined,
      { cause: err },
    );
  }
  await store.put(POLICY_STATE_KEY, Buffer.from(JSON.stringify(digest, null, 2) + '\n'), {
    contentType: 'application/json',
  });
  return 'recorded';
}
