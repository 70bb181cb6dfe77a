// RFC 9162 Merkle tree hashing (leaf = SHA-256(0x00||data), node = SHA-256(0x01||left||right)), the compact
// frontier that lets a log grow without re-reading it, and inclusion and consistency proofs with their checks.
import { createHash } from 'node:crypto';

export type Hash = Buffer;

export function sha256(...parts: Uint8Array[]): Hash {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

export const leafHash = (data: Uint8Array): Hash => sha256(LEAF, data);
export const nodeHash = (left: Uint8Array, right: Uint8Array): Hash => sha256(NODE, left, right);
/** MTH({}) = SHA-256 of the empty string. */
export const EMPTY_ROOT: Hash = sha256();

/** Largest power of two strictly less than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[0:n]) over leaf hashes. */
export function rootOf(leaves: readonly Hash[]): Hash {
  return rootOfFrontier(leaves.reduce<Hash[]>((f, leaf, i) => appendLeaf(f, i, leaf), []));
}

/**
 * The frontier of a tree of `size` leaves: the roots of its perfect subtrees, largest first (one per set bit of
 * size). Appending a leaf is a binary increment: equal-sized subtrees at the right edge merge.
 */
export function appendLeaf(frontier: readonly Hash[], size: number, leaf: Hash): Hash[] {
  const next = [...frontier, leaf];
  for (let s = size; s & 1; s >>= 1) {
    const right = next.pop()!;
    const left = next.pop()!;
    next.push(nodeHash(left, right));
  }
  return next;
}

/** The tree's root from its frontier: subtrees folded right to left, as MTH splits at the largest power of two. */
export function rootOfFrontier(frontier: readonly Hash[]): Hash {
  if (frontier.length === 0) return EMPTY_ROOT;
  let root = frontier[frontier.length - 1]!;
  for (let i = frontier.length - 2; i >= 0; i--) root = nodeHash(frontier[i]!, root);
  return root;
}

/** Number of frontier entries a tree of `size` leaves has (its set bits). */
export function frontierLength(size: number): number {
  let n = 0;
  for (let s = size; s > 0; s = Math.floor(s / 2)) n += s % 2;
  return n;
}

/** PATH(m, D[0:n]): the audit path of leaf m. */
export function inclusionProof(index: number, leaves: readonly Hash[]): Hash[] {
  if (index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`);
  const path = (m: number, lo: number, hi: number): Hash[] => {
    const n = hi - lo;
    if (n <= 1) return [];
    const k = splitPoint(n);
    return m < k
      ? [...path(m, lo, lo + k), rootOf(leaves.slice(lo + k, hi))]
      : [...path(m - k, lo + k, hi), rootOf(leaves.slice(lo, lo + k))];
  };
  return path(index, 0, leaves.length);
}

/** PROOF(m, D[0:n]): that the tree of the first m leaves is a prefix of the tree of all n. */
export function consistencyProof(oldSize: number, leaves: readonly Hash[]): Hash[] {
  if (oldSize < 0 || oldSize > leaves.length) {
    throw new RangeError(`a tree of ${oldSize} is not a prefix of a tree of ${leaves.length}`);
  }
  if (oldSize === 0 || oldSize === leaves.length) return [];
  const sub = (m: number, lo: number, hi: number, whole: boolean): Hash[] => {
    const n = hi - lo;
    if (m === n) return whole ? [] : [rootOf(leaves.slice(lo, hi))];
    const k = splitPoint(n);
    return m <= k
      ? [...sub(m, lo, lo + k, whole), rootOf(leaves.slice(lo + k, hi))]
      : [...sub(m - k, lo + k, hi, false), rootOf(leaves.slice(lo, lo + k))];
  };
  return sub(oldSize, 0, leaves.length, true);
}

/** RFC 9162 §2.1.3.2. */
export function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): boolean {
  if (index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2 (an empty old tree is a prefix of every tree). */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Hash,
  newRoot: Hash,
  proof: readonly Hash[],
): boolean {
  if (oldSize < 0 || oldSize > newSize) return false;
  if (oldSize === 0) return proof.length === 0 && oldRoot.equals(EMPTY_ROOT);
  if (oldSize === newSize) return proof.length === 0 && oldRoot.equals(newRoot);
  if (proof.length === 0) return false;
  const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr.equals(oldRoot) && sr.equals(newRoot) && sn === 0;
}
