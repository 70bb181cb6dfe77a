// The audit log's format (docs/audit.md): where records, segments and tree heads live, and what each holds.
import { AUDIT_ACTIONS, type AuditRecord } from './audit.ts';

/** Records as their writers create them, one object each, before the sequencer seals them into the log. */
export const PENDING_PREFIX = 'audit/pending/';
/** Records written by Strata before the log existed (one JSON object each); sealed like pending ones. */
export const LEGACY_PREFIX = 'audit/records/';
export const SEGMENT_PREFIX = 'audit/log/segments/';
export const HEAD_PREFIX = 'audit/log/heads/';

const SEQ_DIGITS = 12;
export const headKey = (seq: number) => `${HEAD_PREFIX}${String(seq).padStart(SEQ_DIGITS, '0')}.json`;
export const segmentKey = (seq: number, sha256: string) =>
  `${SEGMENT_PREFIX}${String(seq).padStart(SEQ_DIGITS, '0')}-${sha256.slice(0, 16)}.jsonl`;

/** The sequence number a head key names, or undefined for a key that is not a head. */
export function seqOfHeadKey(key: string): number | undefined {
  const m = new RegExp(`^${HEAD_PREFIX}(\\d{${SEQ_DIGITS}})\\.json$`).exec(key);
  return m ? Number(m[1]) : undefined;
}

/** A record as its writer stored it: the AuditRecord plus when, and which writer sequence it came from. */
export interface WrittenRecord extends Omit<AuditRecord, 'verified'> {
  at: string;
  verified: boolean;
  /** `<writer>/<seq>`: unique, so a sealed record's pending object can be found and removed. */
  writer?: string;
  seq?: number;
}

/**
 * One line of a segment, and the leaf data of the Merkle tree. `index` and `prev` (the leaf hash of the record
 * before, hex) let a checker name the first record that is missing, moved, inserted or changed; the signed head's
 * root is what makes them trustworthy.
 */
export interface LogEntry {
  index: number;
  prev: string | null;
  /** The key of the pending object the record was sealed from. */
  source: string;
  record: WrittenRecord | { unreadable: string };
}

/** A signed tree head: the log's size and root after sealing one segment, chained to the head before it. */
export interface TreeHead {
  v: 1;
  seq: number;
  size: number;
  /** RFC 9162 root (hex) of all records 0..size-1. */
  root: string;
  /** Leaf hash (hex) of record size-1. */
  last: string | null;
  /** SHA-256 (hex) of the canonical encoding of the previous head, signature included; null for head 1. */
  prev: string | null;
  at: string;
  segment: { key: string; first: number; count: number; sha256: string };
  /** Roots of the tree's perfect subtrees, largest first (hex): the next sealer extends the tree from these. */
  frontier: string[];
  signature?: HeadSignature;
}

export interface HeadSignature {
  alg: 'ed25519';
  /** First 16 hex digits of the SHA-256 of the public key (SPKI DER). */
  keyId: string;
  /** Base64 Ed25519 signature of the canonical encoding of the head without `signature`. */
  value: string;
}

/** JSON with object keys sorted at every level: the bytes a signature or a chain hash covers. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The bytes a head's signature covers. */
export function signedBytesOf(head: TreeHead): Buffer {
  const { signature: _signature, ...unsigned } = head;
  return Buffer.from(canonicalJson(unsigned));
}

const ACTIONS: ReadonlySet<string> = new Set(AUDIT_ACTIONS);

/** A written record parsed from a pending (or legacy) object, or undefined when it is not one. */
export function parseWrittenRecord(text: string): WrittenRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.at !== 'string' || typeof r.action !== 'string' || !ACTIONS.has(r.action)) return undefined;
  if (typeof r.actor !== 'string' || typeof r.subject !== 'string' || typeof r.outcome !== 'string') return undefined;
  return { ...(r as unknown as WrittenRecord), verified: r.verified === true };
}

/** A tree head parsed from its object, or why it is not one. */
export function parseTreeHead(text: string): TreeHead | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  const h = value as Partial<TreeHead> | null;
  if (!h || typeof h !== 'object') return 'not an object';
  if (h.v !== 1) return `unknown version ${JSON.stringify(h.v)}`;
  const isInt = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  const isHex = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);
  if (!isInt(h.seq) || !isInt(h.size)) return 'seq and size must be non-negative integers';
  if (!isHex(h.root)) return 'root must be 64 hex digits';
  if (h.last !== null && !isHex(h.last)) return 'last must be 64 hex digits or null';
  if (h.prev !== null && !isHex(h.prev)) return 'prev must be 64 hex digits or null';
  const s = h.segment;
  if (!s || typeof s.key !== 'string' || !isInt(s.first) || !isInt(s.count) || !isHex(s.sha256)) {
    return 'segment must name key, first, count and sha256';
  }
  if (!Array.isArray(h.frontier) || !h.frontier.every(isHex)) return 'frontier must be a list of hashes';
  if (typeof h.at !== 'string') return 'at must be a time';
  return h as TreeHead;
}
