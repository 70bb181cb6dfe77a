// Inclusion and consistency proofs as self-contained documents, and their check with the public key alone.
import type { KeyObject } from 'node:crypto';
import { headSignatureProblem } from './head-signature.ts';
import { canonicalJson, parseTreeHead, type LogEntry, type TreeHead } from './log-format.ts';
import { consistencyProof, inclusionProof, leafHash, verifyConsistency, verifyInclusion, type Hash } from './merkle.ts';

export interface InclusionProofDoc {
  kind: 'inclusion';
  /** The record as sealed: its canonical JSON is the leaf. */
  entry: LogEntry;
  head: TreeHead;
  /** RFC 9162 audit path, hex. */
  path: string[];
}

export interface ConsistencyProofDoc {
  kind: 'consistency';
  old: TreeHead;
  new: TreeHead;
  path: string[];
}

export type ProofDoc = InclusionProofDoc | ConsistencyProofDoc;

const hex = (hs: Hash[]) => hs.map((h) => h.toString('hex'));
const unhex = (hs: string[]) => hs.map((h) => Buffer.from(h, 'hex'));

/** `leaves` are the log's leaf hashes up to at least head.size. */
export function proveInclusion(entry: LogEntry, head: TreeHead, leaves: readonly Hash[]): InclusionProofDoc {
  return { kind: 'inclusion', entry, head, path: hex(inclusionProof(entry.index, leaves.slice(0, head.size))) };
}

export function proveConsistency(old: TreeHead, next: TreeHead, leaves: readonly Hash[]): ConsistencyProofDoc {
  return { kind: 'consistency', old, new: next, path: hex(consistencyProof(old.size, leaves.slice(0, next.size))) };
}

/** Why a proof document does not hold, or undefined when it does. Without a public key signatures are not checked. */
export function proofProblem(doc: unknown, publicKey?: KeyObject): string | undefined {
  const d = doc as Partial<ProofDoc> | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.path) || !d.path.every((h) => /^[0-9a-f]{64}$/.test(h))) {
    return 'not a proof document (kind, heads and a path of hashes)';
  }
  const headOf = (h: unknown, name: string): TreeHead | string => {
    const parsed = parseTreeHead(JSON.stringify(h));
    if (typeof parsed === 'string') return `${name} head: ${parsed}`;
    const why = publicKey && headSignatureProblem(parsed, publicKey);
    return why ? `${name} head ${parsed.seq} ${why}` : parsed;
  };
  if (d.kind === 'inclusion') {
    const head = headOf(d.head, 'the');
    if (typeof head === 'string') return head;
    const entry = d.entry as LogEntry;
    if (!entry || typeof entry.index !== 'number') return 'the proof carries no record';
    const leaf = leafHash(Buffer.from(canonicalJson(entry)));
    return verifyInclusion(entry.index, head.size, leaf, unhex(d.path), Buffer.from(head.root, 'hex'))
      ? undefined
      : `record ${entry.index} is not in the log of head ${head.seq} as given (record or path altered)`;
  }
  if (d.kind === 'consistency') {
    const old = headOf(d.old, 'the old');
    if (typeof old === 'string') return old;
    const next = headOf(d.new, 'the new');
    if (typeof next === 'string') return next;
    return verifyConsistency(
      old.size,
      next.size,
      Buffer.from(old.root, 'hex'),
      Buffer.from(next.root, 'hex'),
      unhex(d.path),
    )
      ? undefined
      : `head ${next.seq} does not extend head ${old.seq}: the log was rewritten between them`;
  }
  return `unknown proof kind ${JSON.stringify(d.kind)}`;
}
