// The log-aware frame encoding is exact: any bytes, timestamps valid or not, decode to what was encoded.
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { decodeFrame, encodeFrame, FrameEncoding } from '../../lib/archive/frame-codec.ts';
import { IntegrityError } from '../../lib/errors.ts';

const pad = (n: number, w: number) => String(n).padStart(w, '0');
/** Timestamps in every shape: valid, out of range (month 13, second 60), years below 100, 0-9 fraction digits. */
const arbTimestamp = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.integer({ min: 0, max: 24 }),
    fc.integer({ min: 0, max: 60 }),
    fc.integer({ min: 0, max: 60 }),
    fc.option(fc.stringMatching(/^\d{1,9}$/)),
  )
  .map(
    ([y, mo, d, h, mi, s, frac]) =>
      `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${frac === null ? '' : `.${frac}`}Z`,
  );
const arbLine = fc
  .tuple(fc.oneof(arbTimestamp, fc.constant('')), fc.string({ maxLength: 60 }))
  .map(([t, rest]) => `${t} ${rest}\n`);
const arbText = fc.array(arbLine, { maxLength: 200 }).map((lines) => Buffer.from(lines.join(''), 'utf8'));

describe('frame codec', () => {
  test.prop(
    [
      fc.oneof(
        arbText,
        fc.uint8Array({ maxLength: 5000 }).map((b) => Buffer.from(b)),
      ),
    ],
    { numRuns: 200 },
  )('decode(encode(x)) === x', (raw) => {
    const encoded = encodeFrame(raw, 3);
    expect(decodeFrame(encoded, raw.length).equals(raw)).toBe(true);
  });

  test('takes timestamps out of log text, and leaves frames with NUL bytes plain', () => {
    let t = Date.UTC(2026, 0, 5, 21, 6, 36);
    const lines = Array.from(
      { length: 500 },
      (_, i) => `${new Date((t += 17)).toISOString().replace('Z', `${pad(i, 6)}Z`)} level=info msg="step ${i % 5}"\n`,
    );
    const log = Buffer.from(lines.join(''));
    const encoded = encodeFrame(log, 3);
    expect(encoded[0]).toBe(FrameEncoding.Timestamps);
    expect(decodeFrame(encoded, log.length).equals(log)).toBe(true);
    const binary = Buffer.concat([log, Buffer.from([0])]);
    expect(encodeFrame(binary, 3)[0]).toBe(FrameEncoding.Plain);
  });

  test('rejects unknown encodings and wrong lengths', () => {
    expect(() => decodeFrame(Buffer.from([7, 1, 2, 3]), 3)).toThrow(IntegrityError);
    expect(() => decodeFrame(encodeFrame(Buffer.from('abc'), 3), 4)).toThrow(/expected 4/);
  });
});
