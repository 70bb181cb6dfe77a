// Checks the audit log from its first head to its last (pure: reads through a LogReader): every head signed and
// chained, every segment present, whole and in order, every root recomputed. Stops at, and names, the first break.
import type { KeyObject } from 'node:crypto';
import { headSignatureProblem } from './head-signature.ts';
import { appendLeaf, leafHash, rootOfFrontier, sha256, type Hash } from './merkle.ts';
import { parseTreeHead, seqOfHeadKey, type LogEntry, type TreeHead } from './log-format.ts';
import { headHashOf } from './seal.ts';

export interface LogReader {
  /** Keys under the head prefix, in lexicographic (= sequence) order. */
  headKeys(): AsyncIterable<string>;
  /** An object's text, or undefined when it does not exist. */
  read(key: string): Promise<string | undefined>;
}

export interface LogProblem {
  message: string;
  /** The first record the problem concerns (global index), when it concerns records. */
  record?: number;
  head?: number;
}

export interface LogCheck {
  ok: boolean;
  heads: number;
  records: number;
  /** The newest head that checked, with its root: the state the check vouches for. */
  head?: { seq: number; size: number; root: string; at: string };
  /** Every head carries a valid signature by the given public key (false when no key was given). */
  signed: boolean;
  problems: LogProblem[];
  /** The first record that is missing, moved, inserted or changed, when the problem names one. */
  firstBadRecord?: number;
}

export interface CheckOptions {
  /** Every head must be signed by this key; without it signatures are not checked (and `signed` is false). */
  publicKey?: KeyObject;
  /** Heads known from elsewhere (an earlier check, an export): the log must still contain them, unchanged. */
  trustedHeads?: readonly TreeHead[];
  /** Called for each record that checked, in order (for proofs built from a verified log). */
  onRecord?: (index: number, leaf: Hash, entry: LogEntry) => void;
}

class Break extends Error {
  constructor(readonly problem: LogProblem) {
    super(problem.message);
  }
}

export async function checkLog(reader: LogReader, opts: CheckOptions = {}): Promise<LogCheck> {
  let size = 0;
  let frontier: Hash[] = [];
  let last: string | null = null;
  let prevHead: TreeHead | undefined;
  const roots = new Map<number, { size: number; root: string }>();

  const checkSegment = async (head: TreeHead) => {
    const seg = head.segment;
    const range = `records ${seg.first}..${seg.first + seg.count - 1}`;
    const text = await reader.read(seg.key);
    if (text === undefined) {
      throw new Break({ record: seg.first, head: head.seq, message: `segment ${seg.key} (${range}) is missing` });
    }
    const lines = text.split('\n');
    lines.pop(); // after the last newline: empty in a whole segment, a cut-off record in a truncated one
    for (let j = 0; j < Math.max(lines.length, seg.count); j++) {
      const at = size;
      if (j >= seg.count) {
        throw new Break({
          record: at,
          head: head.seq,
          message: `segment ${seg.key} holds more than the ${seg.count} records head ${head.seq} names: a record was inserted`,
        });
      }
      const line = lines[j];
      if (line === undefined) {
        throw new Break({
          record: at,
          head: head.seq,
          message: `segment ${seg.key} is truncated: record ${at} and after are missing (head ${head.seq} names ${seg.count})`,
        });
      }
      let entry: LogEntry;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        throw new Break({ record: at, head: head.seq, message: `record ${at} is not readable JSON (edited)` });
      }
      if (entry.index !== at) {
        const message =
          typeof entry.index === 'number' && entry.index > at
            ? `record ${at} is missing: record ${entry.index} is in its place (deleted, or records reordered)`
            : `record ${at}: found record ${String(entry.index)} in its place (inserted, duplicated or reordered)`;
        throw new Break({ record: at, head: head.seq, message });
      }
      if (entry.prev !== last) {
        throw new Break({
          record: at - 1,
          head: head.seq,
          message: `record ${at - 1} was changed (record ${at} was chained to a different record ${at - 1})`,
        });
      }
      const leaf = leafHash(Buffer.from(line));
      frontier = appendLeaf(frontier, size, leaf);
      last = leaf.toString('hex');
      size++;
      opts.onRecord?.(at, leaf, entry);
    }
    const root = rootOfFrontier(frontier).toString('hex');
    if (head.last !== last) {
      throw new Break({
        record: size - 1,
        head: head.seq,
        message: `record ${size - 1} was changed (head ${head.seq} names a different last record)`,
      });
    }
    if (root !== head.root || size !== head.size) {
      throw new Break({
        record: seg.first,
        head: head.seq,
        message: `${range} do not match head ${head.seq}'s root: records were changed and re-chained`,
      });
    }
    if (sha256(Buffer.from(text)).toString('hex') !== seg.sha256) {
      throw new Break({ head: head.seq, message: `segment ${seg.key} differs from the bytes head ${head.seq} sealed` });
    }
    if (head.frontier.join() !== frontier.map((h) => h.toString('hex')).join()) {
      throw new Break({ head: head.seq, message: `head ${head.seq}'s frontier does not match its records` });
    }
  };

  const checkHead = async (key: string, expected: number) => {
    const seq = seqOfHeadKey(key);
    if (seq === undefined) throw new Break({ message: `${key} is not a tree head name` });
    if (seq !== expected) {
      throw new Break({
        record: size,
        head: expected,
        message:
          seq > expected
            ? `head ${expected} is missing (the next is head ${seq}): a gap in the log`
            : `head ${seq} appears twice`,
      });
    }
    const text = await reader.read(key);
    if (text === undefined) throw new Break({ head: seq, message: `head ${seq} vanished while being read` });
    const head = parseTreeHead(text);
    if (typeof head === 'string') throw new Break({ head: seq, message: `head ${seq} is not a tree head: ${head}` });
    if (opts.publicKey) {
      const why = headSignatureProblem(head, opts.publicKey);
      if (why) throw new Break({ head: seq, record: size, message: `head ${seq} ${why}` });
    }
    if (head.seq !== seq) {
      throw new Break({ head: seq, message: `${key} holds head ${head.seq}: a replayed or moved head` });
    }
    if (head.prev !== (prevHead ? headHashOf(prevHead) : null)) {
      throw new Break({
        head: seq,
        message: `head ${seq} does not chain to head ${seq - 1}: a forged or replaced head`,
      });
    }
    if (head.segment.first !== size || head.size !== size + head.segment.count || head.segment.count < 1) {
      throw new Break({
        head: seq,
        record: size,
        message: `head ${seq} covers records ${head.segment.first}..${head.size - 1}, but the log before it ends at ${size - 1}`,
      });
    }
    await checkSegment(head);
    roots.set(seq, { size: head.size, root: head.root });
    prevHead = head;
  };

  const problems: LogProblem[] = [];
  let heads = 0;
  try {
    for await (const key of reader.headKeys()) {
      await checkHead(key, heads + 1);
      heads++;
    }
    for (const t of opts.trustedHeads ?? []) {
      const mine = roots.get(t.seq);
      if (!mine) {
        throw new Break({
          head: t.seq,
          record: size,
          message: `the log ends at head ${heads}, but head ${t.seq} (size ${t.size}) is known: newer heads were removed (a truncated log, or an old head replayed as the latest)`,
        });
      }
      if (mine.root !== t.root || mine.size !== t.size) {
        throw new Break({ head: t.seq, message: `head ${t.seq} differs from the trusted copy: the log was rewritten` });
      }
    }
  } catch (err) {
    if (!(err instanceof Break)) throw err;
    problems.push(err.problem);
  }
  return {
    ok: problems.length === 0,
    heads,
    records: size,
    head: prevHead && {
      seq: prevHead.seq,
      size: prevHead.size,
      root: prevHead.root,
      at: prevHead.at,
    },
    signed: Boolean(opts.publicKey) && problems.length === 0,
    problems,
    firstBadRecord: problems[0]?.record,
  };
}
