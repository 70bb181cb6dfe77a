// The sealed log as of its newest head, read only after the whole log checks: what reports and proofs are built from.
import type { KeyObject } from 'node:crypto';
import { AuditError } from '../errors.ts';
import type { ObjectStore } from '../store/store.ts';
import type { LogEntry, TreeHead } from './log-format.ts';
import type { Hash } from './merkle.ts';
import { checkStoreLog, readHeadBySeq } from './store-log.ts';

export interface VerifiedLog {
  head: TreeHead;
  /** Every sealed entry, in log order (entry i is leaf i). */
  entries: LogEntry[];
  leaves: Hash[];
  /** Every head is signed by the public key given. */
  signed: boolean;
}

/** Throws AuditError when the log does not verify (nothing is built from it) or has no head yet. */
export async function readVerifiedLog(store: ObjectStore, publicKey?: KeyObject): Promise<VerifiedLog> {
  const entries: LogEntry[] = [];
  const leaves: Hash[] = [];
  const check = await checkStoreLog(store, {
    publicKey,
    onRecord: (_i, leaf, entry) => {
      leaves.push(leaf);
      entries.push(entry);
    },
  });
  if (!check.ok) throw new AuditError(`the audit log does not verify: ${check.problems[0]!.message}`);
  if (!check.head) throw new AuditError('the audit log has no tree head yet: run strata audit seal');
  const head = await readHeadBySeq(store, check.head.seq);
  return { head, entries: entries.slice(0, head.size), leaves: leaves.slice(0, head.size), signed: check.signed };
}
