// RFC 9162 tree hashing and proofs: against a direct transcription of the RFC's definitions, and known vectors.
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  appendLeaf,
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  nodeHash,
  rootOf,
  rootOfFrontier,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from '../../lib/audit/merkle.ts';

/** MTH exactly as RFC 9162 §2.1.1 writes it. */
function mth(leaves: Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`record ${i}`)));
const arbSize = fc.integer({ min: 1, max: 70 });

describe('Merkle tree', () => {
  test('the empty tree and a one-leaf tree have the RFC roots', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    // RFC 6962 test vector: leaf of the empty string.
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    expect(rootOf(leavesOf(1))).toEqual(leavesOf(1)[0]);
  });

  test.prop([arbSize])('the frontier gives MTH at every size', (n) => {
    const leaves = leavesOf(n);
    let frontier: Hash[] = [];
    leaves.forEach((leaf, i) => {
      frontier = appendLeaf(frontier, i, leaf);
      expect(rootOfFrontier(frontier)).toEqual(mth(leaves.slice(0, i + 1)));
    });
  });

  test.prop([arbSize, fc.nat()])('every inclusion proof checks, and fails for another leaf or index', (n, pick) => {
    const leaves = leavesOf(n);
    const root = rootOf(leaves);
    const i = pick % n;
    const proof = inclusionProof(i, leaves);
    expect(verifyInclusion(i, n, leaves[i]!, proof, root)).toBe(true);
    expect(verifyInclusion(i, n, leafHash(Buffer.from('forged')), proof, root)).toBe(false);
    if (n > 1) expect(verifyInclusion((i + 1) % n, n, leaves[i]!, proof, root)).toBe(false);
  });

  test.prop([arbSize, fc.nat()])('every consistency proof checks, and fails against a different history', (n, pick) => {
    const leaves = leavesOf(n);
    const m = (pick % n) + 1;
    const proof = consistencyProof(m, leaves);
    expect(verifyConsistency(m, n, rootOf(leaves.slice(0, m)), rootOf(leaves), proof)).toBe(true);
    const rewritten = [...leaves];
    rewritten[pick % m] = leafHash(Buffer.from('rewritten'));
    if (m < n) {
      expect(verifyConsistency(m, n, rootOf(rewritten.slice(0, m)), rootOf(leaves), proof)).toBe(false);
      expect(verifyConsistency(m, n, rootOf(leaves.slice(0, m)), rootOf(rewritten), proof)).toBe(false);
    }
  });
});
