// The checker against every kind of tampering: random logs, random tamperings, each one found and the first bad
// record named.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { checkLog, type LogReader } from '../../lib/audit/check-log.ts';
import { signHead } from '../../lib/audit/head-signature.ts';
import { canonicalJson, HEAD_PREFIX, headKey, type LogEntry, type TreeHead } from '../../lib/audit/log-format.ts';
import { leafHash } from '../../lib/audit/merkle.ts';
import { sealSegment } from '../../lib/audit/seal.ts';

const logKey = generateKeyPairSync('ed25519');
const attackerKey = generateKeyPairSync('ed25519');

interface MemoryLog {
  objects: Map<string, string>;
  heads: TreeHead[];
}

const recordText = (i: number) =>
  JSON.stringify({
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    action: 'archive',
    actor: `user-${i % 3}`,
    verified: i % 2 === 0,
    subject: `uid-${i}`,
    outcome: 'ok',
    reason: `reason ${i}`,
  });

function buildLog(segments: number[], key: KeyObject = logKey.privateKey): MemoryLog {
  const objects = new Map<string, string>();
  const heads: TreeHead[] = [];
  let n = 0;
  for (const count of segments) {
    const pending = Array.from({ length: count }, () => ({
      key: `audit/pending/w/${String(n).padStart(10, '0')}.json`,
      text: recordText(n++),
    }));
    const sealed = sealSegment(heads.at(-1), pending, `2026-02-01T00:00:0${heads.length % 10}Z`);
    const head = signHead(sealed.head, key);
    objects.set(head.segment.key, sealed.text);
    objects.set(headKey(head.seq), JSON.stringify(head));
    heads.push(head);
  }
  return { objects, heads };
}

const readerOf = (objects: Map<string, string>): LogReader => ({
  async *headKeys() {
    yield* [...objects.keys()].filter((k) => k.startsWith(HEAD_PREFIX)).sort();
  },
  read: async (k) => objects.get(k),
});

const check = (log: MemoryLog, trusted: TreeHead[] = []) =>
  checkLog(readerOf(log.objects), { publicKey: logKey.publicKey, trustedHeads: trusted });

/** The segment holding record i, with its lines. */
function segmentOf(log: MemoryLog, i: number) {
  const head = log.heads.find((h) => i >= h.segment.first && i < h.size)!;
  const lines = log.objects.get(head.segment.key)!.split('\n').slice(0, -1);
  const write = (ls: string[]) => log.objects.set(head.segment.key, ls.map((l) => l + '\n').join(''));
  return { head, lines, j: i - head.segment.first, write };
}

const arbSegments = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 });
const sizeOf = (segments: number[]) => segments.reduce((a, b) => a + b, 0);

describe('audit log check', () => {
  test.prop([arbSegments])('an untouched log checks, signed, with every record', async (segments) => {
    const log = buildLog(segments);
    const result = await check(log, [log.heads.at(-1)!]);
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ ok: true, signed: true, heads: segments.length, records: sizeOf(segments) });
  });

  test.prop([arbSegments, fc.nat()])('an edited record is named', async (segments, pick) => {
    const log = buildLog(segments);
    const i = pick % sizeOf(segments);
    const { lines, j, write } = segmentOf(log, i);
    const entry = JSON.parse(lines[j]!) as LogEntry;
    lines[j] = canonicalJson({ ...entry, record: { ...entry.record, reason: 'nothing to see' } });
    write(lines);
    const result = await check(log);
    expect(result.ok).toBe(false);
    expect(result.firstBadRecord).toBe(i);
  });

  test.prop([arbSegments, fc.nat()])('a deleted record is named', async (segments, pick) => {
    const log = buildLog(segments);
    const i = pick % sizeOf(segments);
    const { lines, j, write } = segmentOf(log, i);
    lines.splice(j, 1);
    write(lines);
    const result = await check(log);
    expect(result.ok).toBe(false);
    expect(result.firstBadRecord).toBe(i);
  });

  test.prop([arbSegments, fc.nat()])('two records swapped are found at the first', async (segments, pick) => {
    fc.pre(segments.some((s) => s >= 2));
    const log = buildLog(segments);
    const candidates = log.heads.flatMap((h) =>
      Array.from({ length: h.segment.count - 1 }, (_, k) => h.segment.first + k),
    );
    const i = candidates[pick % candidates.length]!;
    const { lines, j, write } = segmentOf(log, i);
    [lines[j], lines[j + 1]] = [lines[j + 1]!, lines[j]!];
    write(lines);
    const result = await check(log);
    expect(result.ok).toBe(false);
    expect(result.firstBadRecord).toBe(i);
  });

  test.prop([arbSegments, fc.nat()])(
    'an inserted record, even correctly chained, is found where it was put',
    async (segments, pick) => {
      const log = buildLog(segments);
      const i = pick % sizeOf(segments);
      const { lines, j, write } = segmentOf(log, i);
      const before =
        j > 0 ? leafHash(Buffer.from(lines[j - 1]!)).toString('hex') : (JSON.parse(lines[j]!) as LogEntry).prev;
      const forged: LogEntry = {
        index: i,
        prev: before,
        source: 'audit/pending/x/0.json',
        record: JSON.parse(recordText(999)),
      };
      lines.splice(j, 0, canonicalJson(forged));
      write(lines);
      const result = await check(log);
      expect(result.ok).toBe(false);
      expect([i, i + 1]).toContain(result.firstBadRecord);
    },
  );

  test.prop([arbSegments, fc.nat(), fc.nat()])(
    'a truncated segment names the first record cut',
    async (segments, pickSeg, cut) => {
      const log = buildLog(segments);
      const head = log.heads[pickSeg % log.heads.length]!;
      const text = log.objects.get(head.segment.key)!;
      const at = cut % text.length; // strictly shorter
      log.objects.set(head.segment.key, text.slice(0, at));
      const whole = text.slice(0, at).split('\n').length - 1; // complete lines kept
      const result = await check(log);
      expect(result.ok).toBe(false);
      expect(result.firstBadRecord).toBe(head.segment.first + whole);
    },
  );

  test.prop([arbSegments, fc.nat()])('a deleted segment is named by its first record', async (segments, pick) => {
    const log = buildLog(segments);
    const head = log.heads[pick % log.heads.length]!;
    log.objects.delete(head.segment.key);
    const result = await check(log);
    expect(result.ok).toBe(false);
    expect(result.firstBadRecord).toBe(head.segment.first);
  });

  test.prop([arbSegments, fc.nat()])('a head removed from the middle is a gap', async (segments, pick) => {
    fc.pre(segments.length >= 2);
    const log = buildLog(segments);
    const head = log.heads[pick % (log.heads.length - 1)]!;
    log.objects.delete(headKey(head.seq));
    const result = await check(log);
    expect(result.ok).toBe(false);
    expect(result.problems[0]!.message).toMatch(new RegExp(`head ${head.seq} is missing`));
    expect(result.firstBadRecord).toBe(head.segment.first);
  });

  test.prop([arbSegments, fc.nat(), fc.boolean()])(
    'a forged head is refused, re-signed or not',
    async (segments, pick, resign) => {
      const log = buildLog(segments);
      const head = log.heads[pick % log.heads.length]!;
      const forged = { ...head, at: '2030-01-01T00:00:00.000Z' };
      log.objects.set(headKey(head.seq), JSON.stringify(resign ? signHead(forged, attackerKey.privateKey) : forged));
      const result = await check(log);
      expect(result.ok).toBe(false);
      expect(result.problems[0]!.head).toBe(head.seq);
    },
  );

  test.prop([arbSegments])('a log rewritten and re-signed by another key does not check', async (segments) => {
    const log = buildLog(segments, attackerKey.privateKey);
    const result = await check(log);
    expect(result.ok).toBe(false);
    expect(result.problems[0]!.message).toMatch(/head 1 is signed by key/);
  });

  test.prop([arbSegments, fc.nat()])(
    "an old head replayed in a newer one's place is refused",
    async (segments, pick) => {
      fc.pre(segments.length >= 2);
      const log = buildLog(segments);
      const newer = log.heads[1 + (pick % (log.heads.length - 1))]!;
      const older = log.heads[newer.seq - 2]!;
      log.objects.set(headKey(newer.seq), JSON.stringify(older));
      const result = await check(log);
      expect(result.ok).toBe(false);
      expect(result.problems[0]!.head).toBe(newer.seq);
    },
  );

  test.prop([arbSegments, fc.nat()])(
    'newest heads removed (an old head passed off as the latest) are found against a known head',
    async (segments, pick) => {
      const log = buildLog(segments);
      const known = log.heads.at(-1)!;
      const keep = pick % log.heads.length;
      for (const h of log.heads.slice(keep)) {
        log.objects.delete(headKey(h.seq));
        log.objects.delete(h.segment.key);
      }
      const result = await check(log, [known]);
      expect(result.ok).toBe(false);
      expect(result.problems[0]!.message).toMatch(/newer heads were removed/);
      expect(result.firstBadRecord).toBe(log.heads[keep]!.segment.first);
    },
  );
});
