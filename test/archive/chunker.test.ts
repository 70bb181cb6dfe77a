// The chunker: sizes within bounds, cuts independent of how the stream is split, and local effect of an insertion.
import { createHash, randomBytes } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { Chunker, type ChunkerParams } from '../../lib/archive/chunker.ts';
import { ChunkIndex } from '../../lib/archive/chunk-index.ts';

const P: ChunkerParams = { minSize: 256, avgSize: 1024, maxSize: 4096, seed: 't' };

function chunk(data: Uint8Array, splits: number[] = [], p = P): Buffer[] {
  const c = new Chunker(p);
  const out: Buffer[] = [];
  let at = 0;
  for (const s of [...splits.filter((x) => x > 0 && x < data.length)].sort((a, b) => a - b)) {
    out.push(...c.push(data.subarray(at, s)));
    at = s;
  }
  out.push(...c.push(data.subarray(at)));
  const last = c.finish();
  if (last) out.push(last);
  return out;
}

const ids = (cs: Buffer[]) => cs.map((c) => createHash('sha256').update(c).digest('hex'));

describe('chunker', () => {
  test.prop([fc.uint8Array({ minLength: 0, maxLength: 30_000 }), fc.array(fc.nat(30_000), { maxLength: 8 })])(
    'chunks concatenate to the input, respect the bounds and do not depend on buffer splits',
    (data, splits) => {
      const whole = chunk(data);
      expect(Buffer.concat(whole).equals(Buffer.from(data))).toBe(true);
      whole.slice(0, -1).forEach((c) => expect(c.length).toBeGreaterThanOrEqual(P.minSize));
      whole.forEach((c) => expect(c.length).toBeLessThanOrEqual(P.maxSize));
      expect(ids(chunk(data, splits))).toEqual(ids(whole));
    },
  );

  test.prop([fc.uint8Array({ minLength: 0, maxLength: 30_000 }), fc.array(fc.nat(30_000), { maxLength: 8 })])(
    'pushViews gives the same chunks as push, each valid until the next call',
    (data, splits) => {
      const c = new Chunker(P);
      const got: string[] = [];
      let at = 0;
      for (const s of [...splits.filter((x) => x > 0 && x < data.length), data.length].sort((a, b) => a - b)) {
        got.push(...ids(c.pushViews(data.subarray(at, s)))); // hashed before the next call, as the archiver does
        at = s;
      }
      const last = c.finish(false);
      if (last) got.push(...ids([last]));
      expect(got).toEqual(ids(chunk(data)));
    },
  );

  // Long runs of one byte never match the mask: cuts fall at maxSize, often exactly where buffered data ends,
  // and a whole file pushed at once spans the chunker's buffer many times (the archiver's read-ahead does that).
  test.prop([
    fc.array(fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 12_000 })), { minLength: 1, maxLength: 12 }),
    fc.array(fc.nat(60_000), { maxLength: 3 }),
  ])('pushViews of runs spanning the buffer many times gives the chunks of push', (runs, splits) => {
    const data = Buffer.concat(runs.map(([byte, length]) => Buffer.alloc(length, byte)));
    const c = new Chunker(P);
    const got: string[] = [];
    let at = 0;
    for (const s of [...splits.filter((x) => x > 0 && x < data.length), data.length].sort((a, b) => a - b)) {
      got.push(...ids(c.pushViews(data.subarray(at, s))));
      at = s;
    }
    const last = c.finish(false);
    if (last) got.push(...ids([last]));
    expect(got).toEqual(ids(chunk(data)));
  });

  test('cut points are those of format v1 (they decide dedup against existing repositories)', () => {
    const data = Buffer.concat(
      Array.from({ length: 2000 }, (_, i) => createHash('sha256').update(`golden:${i}`).digest()),
    );
    // Recorded with the first implementation of the chunker.
    expect(chunk(data, [30_000]).map((c) => c.length)).toEqual([
      1312, 1278, 1178, 1249, 1465, 1224, 1076, 1054, 1110, 1512, 1272, 1494, 665, 1119, 1120, 1159, 1226, 972, 1296,
      1107, 1370, 1494, 1300, 1170, 1248, 1181, 1716, 1029, 1221, 1343, 1338, 1663, 1146, 1076, 1497, 1331, 1115, 1242,
      1245, 1249, 1045, 1331, 628, 1186, 429, 1381, 1044, 1431, 1059, 677, 1188, 1163, 1084, 492,
    ]);
  });

  test.prop([fc.nat(199_000), fc.uint8Array({ minLength: 1, maxLength: 100 })], { numRuns: 30 })(
    'an insertion changes only the chunks around it',
    (at, insert) => {
      const data = randomBytes(200_000);
      const before = new Set(ids(chunk(data)));
      const edited = Buffer.concat([data.subarray(0, at), insert, data.subarray(at)]);
      const after = ids(chunk(edited));
      const changed = after.filter((id) => !before.has(id)).length;
      // ~195 chunks in all; cut points resynchronise within a few chunks of the edit.
      expect(changed).toBeLessThanOrEqual(10);
    },
  );

  test('average chunk size is near the configured one on random data', () => {
    const cs = chunk(randomBytes(2_000_000));
    const avg = 2_000_000 / cs.length;
    expect(avg).toBeGreaterThan(P.avgSize * 0.7);
    expect(avg).toBeLessThan(P.avgSize * 1.6);
  });
});

describe('chunk index', () => {
  test('finds every added chunk across growth and nothing else', () => {
    const index = new ChunkIndex(16);
    const added = Array.from({ length: 5000 }, (_, i) => [randomBytes(32), `${i % 7}`.padStart(64, '0')] as const);
    for (const [id, pack] of added) index.add(id, pack);
    expect(index.size).toBe(5000);
    for (const [id, pack] of added) expect(index.lookup(id)).toBe(pack);
    for (let i = 0; i < 1000; i++) expect(index.lookup(randomBytes(32))).toBeUndefined();
    index.add(added[0]![0], 'f'.repeat(64));
    expect(index.lookup(added[0]![0])).toBe(added[0]![1]);
    expect(index.memoryBytes / index.size).toBeLessThan(64);
  });
});
