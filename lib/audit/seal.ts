// Sealing (pure): pending records in, one segment (JSON Lines) and the tree head that commits to it out.
import { appendLeaf, leafHash, rootOfFrontier, sha256, type Hash } from './merkle.ts';
import {
  canonicalJson,
  parseWrittenRecord,
  segmentKey,
  type LogEntry,
  type TreeHead,
  type WrittenRecord,
} from './log-format.ts';

export interface PendingObject {
  /** Its key in the store. */
  key: string;
  text: string;
}

export interface SealedSegment {
  text: string;
  /** Unsigned; the sealer signs it when it has a key. */
  head: TreeHead;
  /** Keys of the pending objects now in the log, to remove once the head is committed. */
  sealed: string[];
}

/** The hash a head's successor names as `prev`. */
export const headHashOf = (head: TreeHead): string => sha256(Buffer.from(canonicalJson(head))).toString('hex');

const timeOf = (r: WrittenRecord | undefined) => r?.at ?? '';

/**
 * Orders pending records by time (then key, so every sealer orders alike) and appends them after `prev`. A pending
 * object that is not a record is sealed as `unreadable` with its text: nothing a writer stored is dropped.
 */
export function sealSegment(prev: TreeHead | undefined, pending: readonly PendingObject[], at: string): SealedSegment {
  if (pending.length === 0) throw new RangeError('nothing to seal');
  const parsed = pending
    .map((p) => ({ key: p.key, text: p.text, record: parseWrittenRecord(p.text) }))
    .sort((a, b) => timeOf(a.record).localeCompare(timeOf(b.record)) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const first = prev?.size ?? 0;
  let frontier: Hash[] = (prev?.frontier ?? []).map((h) => Buffer.from(h, 'hex'));
  let last: string | null = prev?.last ?? null;
  const lines: string[] = [];
  parsed.forEach((p, i) => {
    const entry: LogEntry = {
      index: first + i,
      prev: last,
      source: p.key,
      record: p.record ?? { unreadable: p.text },
    };
    const line = canonicalJson(entry);
    const leaf = leafHash(Buffer.from(line));
    frontier = appendLeaf(frontier, first + i, leaf);
    last = leaf.toString('hex');
    lines.push(line);
  });
  const text = lines.map((l) => l + '\n').join('');
  const digest = sha256(Buffer.from(text)).toString('hex');
  const seq = (prev?.seq ?? 0) + 1;
  const head: TreeHead = {
    v: 1,
    seq,
    size: first + lines.length,
    root: rootOfFrontier(frontier).toString('hex'),
    last,
    prev: prev ? headHashOf(prev) : null,
    at,
    segment: { key: segmentKey(seq, digest), first, count: lines.length, sha256: digest },
    frontier: frontier.map((h) => h.toString('hex')),
  };
  return { text, head, sealed: parsed.map((p) => p.key) };
}
