// Encrypt/decrypt framing: any plaintext, cut into any pieces, seals and opens back byte for byte; any range opens
// to the same bytes as slicing; every single-byte change or cut at a segment boundary is refused.
import { fc, test } from '@fast-check/vitest';
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import {
  HEADER_SIZE,
  newHeader,
  openStream,
  plainSize,
  sealBuffer,
  sealedSize,
  sealStream,
  SEGMENT_SIZE,
  segmentOffset,
  TAG_SIZE,
} from '../../lib/crypto/segments.ts';

const key = randomBytes(32);
const header = newHeader(randomBytes(16));
const sizes = fc.oneof(
  fc.integer({ min: 0, max: 3 * SEGMENT_SIZE + 7 }),
  fc.constantFrom(0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 2 * SEGMENT_SIZE),
);

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

async function* pieces(b: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let o = 0;
  for (const c of cuts) {
    const n = Math.min(c, b.length - o);
    yield b.subarray(o, o + n);
    o += n;
  }
  if (o < b.length) yield b.subarray(o);
}

test.prop([sizes, fc.array(fc.integer({ min: 1, max: 100_000 }), { maxLength: 8 })], { numRuns: 40 })(
  'seals a stream in any pieces to the same bytes as a buffer, and opens it back',
  async (size, cuts) => {
    const plain = randomBytes(size);
    const streamed = await collect(sealStream(pieces(plain, cuts), key, header));
    expect(streamed.equals(sealBuffer(plain, key, header))).toBe(true);
    expect(streamed.length).toBe(sealedSize(size));
    expect(plainSize(streamed.length)).toBe(size);
    const opened = await collect(
      openStream(pieces(streamed.subarray(HEADER_SIZE), cuts), key, { firstSegment: 0, toEnd: true, key: 'k' }),
    );
    expect(opened.equals(plain)).toBe(true);
  },
);

test.prop([sizes.filter((s) => s > 0), fc.nat(), fc.nat()], { numRuns: 60 })(
  'opens any byte range from the segments it touches alone',
  async (size, a, b) => {
    const plain = randomBytes(size);
    const sealed = sealBuffer(plain, key, header);
    const start = a % size;
    const end = start + (b % (size - start));
    const first = Math.floor(start / SEGMENT_SIZE);
    const last = Math.floor(end / SEGMENT_SIZE);
    const slice = sealed.subarray(segmentOffset(first), Math.min(sealed.length, segmentOffset(last + 1)));
    const opened = await collect(
      openStream(pieces(slice, [1000]), key, {
        firstSegment: first,
        toEnd: false,
        key: 'k',
        skip: start - first * SEGMENT_SIZE,
        take: end - start + 1,
      }),
    );
    expect(opened.equals(plain.subarray(start, end + 1))).toBe(true);
  },
);

test.prop([sizes, fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 40 })(
  'refuses any flipped byte and any cut at a segment boundary',
  async (size, at, flip) => {
    const sealed = sealBuffer(randomBytes(size), key, header);
    const body = Buffer.from(sealed.subarray(HEADER_SIZE));
    body[at % body.length]! ^= flip;
    const open = (b: Buffer) => collect(openStream(pieces(b, []), key, { firstSegment: 0, toEnd: true, key: 'k' }));
    await expect(open(body)).rejects.toThrow(/wrong key, or the object was altered/);
    const segments = Math.ceil((sealed.length - HEADER_SIZE) / (SEGMENT_SIZE + TAG_SIZE));
    if (segments > 1) {
      const cut = sealed.subarray(HEADER_SIZE, segmentOffset(segments - 1));
      await expect(open(cut)).rejects.toThrow(/truncated/);
    }
    await expect(
      collect(
        openStream(pieces(sealed.subarray(HEADER_SIZE), []), randomBytes(32), {
          firstSegment: 0,
          toEnd: true,
          key: 'k',
        }),
      ),
    ).rejects.toThrow(/does not authenticate/);
  },
);
