// The log-aware frame encoding is exact: any bytes, timestamps valid or not, decode to what was encoded.
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  decodeFrame,
  encodeFrame,
  encodeFrameStyles,
  encodeFrameV1,
  FrameEncoding,
} from '../../lib/archive/frame-codec.ts';
import { civilFromDays, daysFromCivil, timestampAt } from '../../lib/archive/timestamps.ts';
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

  test.prop([arbText], { numRuns: 100 })('frames of encoding 1 (older packs) still decode', (raw) => {
    expect(decodeFrame(encodeFrameV1(raw, 3), raw.length).equals(raw)).toBe(true);
  });

  test.prop([fc.array(arbTimestamp, { minLength: 16, maxLength: 80 }), fc.string({ maxLength: 8 })], { numRuns: 200 })(
    'timestamps back to back, any gaps between them, decode exactly',
    (stamps, sep) => {
      const raw = Buffer.from(stamps.join(sep), 'utf8');
      expect(decodeFrame(encodeFrame(raw, 3), raw.length).equals(raw)).toBe(true);
    },
  );

  test.prop([fc.integer({ min: -719528, max: 2932896 })])('civil dates agree with Date', (days) => {
    const iso = new Date(Date.UTC(2000, 0, 1) + (days - 10957) * 86400000).toISOString();
    const year = iso.startsWith('+') || iso.startsWith('-') ? +iso.slice(0, 7) : +iso.slice(0, 4);
    const [y, m, d] = civilFromDays(days);
    expect([y, m, d]).toEqual([year, +iso.slice(-19, -17), +iso.slice(-16, -14)]);
    expect(daysFromCivil(y, m, d)).toBe(days);
  });

  test('takes only real times: month 13, day 31 of a 30-day month, Feb 29 of a common year, second 60 stay text', () => {
    for (const bad of [
      '2026-13-01T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-01-01T00:00:60Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:00:00.Z',
      '2026-01-01T00:00:00.1234567890Z',
    ]) {
      expect(timestampAt(Buffer.from(bad), 0)).toBeUndefined();
    }
    expect(timestampAt(Buffer.from('2024-02-29T23:59:59.000000001Z'), 0)).toMatchObject({ frac: 1, fracDigits: 9 });
  });

  test('a corrupted timestamp column or text is an IntegrityError, never wrong bytes', () => {
    let t = Date.UTC(2026, 0, 5, 21, 6, 36);
    const log = Buffer.from(
      Array.from({ length: 100 }, (_, i) => `${new Date((t += 1017)).toISOString()} line ${i}\n`).join(''),
    );
    const encoded = encodeFrame(log, 3);
    expect(encoded[0]).toBe(FrameEncoding.TimestampPlanes);
    expect(() => decodeFrame(encoded.subarray(0, encoded.length - 3), log.length)).toThrow(IntegrityError);
    expect(() => decodeFrame(encoded, log.length + 1)).toThrow(IntegrityError);
    const fewer = Buffer.from(encoded);
    fewer.writeUInt32BE(99, 1);
    expect(() => decodeFrame(fewer, log.length)).toThrow(IntegrityError);
  });

  test('takes timestamps out of log text, and leaves frames with NUL bytes plain', () => {
    let t = Date.UTC(2026, 0, 5, 21, 6, 36);
    const lines = Array.from(
      { length: 500 },
      (_, i) => `${new Date((t += 17)).toISOString().replace('Z', `${pad(i, 6)}Z`)} level=info msg="step ${i % 5}"\n`,
    );
    const log = Buffer.from(lines.join(''));
    const encoded = encodeFrame(log, 3);
    expect(encoded[0]).toBe(FrameEncoding.TimestampPlanes);
    expect(decodeFrame(encoded, log.length).equals(log)).toBe(true);
    const binary = Buffer.concat([log, Buffer.from([0])]);
    expect(encodeFrame(binary, 3)[0]).toBe(FrameEncoding.Plain);
  });

  test('rejects unknown encodings and wrong lengths', () => {
    expect(() => decodeFrame(Buffer.from([7, 1, 2, 3]), 3)).toThrow(IntegrityError);
    expect(() => decodeFrame(encodeFrame(Buffer.from('abc'), 3), 4)).toThrow(/expected 4/);
  });
});

/** Every style encoding 3 takes (and near misses of each): ISO 8601 variants, klog, Go's log, epoch milliseconds. */
const arbStamp = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.integer({ min: 0, max: 24 }),
    fc.integer({ min: 0, max: 60 }),
    fc.integer({ min: 0, max: 60 }),
    fc.option(fc.stringMatching(/^\d{1,10}$/)),
    fc.constantFrom('T', ' '),
    fc.constantFrom('.', ','),
    fc.constantFrom('Z', '', '+01:00', '-05:30', '+00:00', '-00:00', '+24:00', 'z'),
    fc.constantFrom('iso', 'iso', 'klog', 'go', 'epoch'),
    fc.constantFrom('I', 'W', 'E', 'F', 'X'),
    fc.bigInt({ min: 0n, max: 99_999_999_999_999n }),
  )
  .map(([y, mo, d, h, mi, s, frac, sep, dot, zone, style, letter, epoch]) => {
    const time = `${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${frac === null ? '' : `${dot}${frac}`}`;
    if (style === 'klog') return `\n${letter}${pad(mo, 2)}${pad(d, 2)} ${time} `;
    if (style === 'go') return `${pad(y, 4)}/${pad(mo, 2)}/${pad(d, 2)} ${time}`;
    if (style === 'epoch') return `{"time":${epoch}}`;
    return `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}${sep}${time}${zone}`;
  });
const arbStyledText = fc
  .array(fc.tuple(arbStamp, fc.string({ maxLength: 30 })), { maxLength: 150 })
  .map((parts) => Buffer.from(parts.map(([t, rest]) => `${t} ${rest}\n`).join(''), 'utf8'));

describe('frame encoding 3 (timestamps of many styles)', () => {
  test.prop(
    [
      fc.oneof(
        arbStyledText,
        arbText,
        fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
      ),
    ],
    {
      numRuns: 300,
    },
  )('decode(encode(x)) === x', (raw) => {
    expect(decodeFrame(encodeFrameStyles(raw, 3), raw.length).equals(raw)).toBe(true);
  });

  test.prop([fc.array(arbStamp, { minLength: 16, maxLength: 60 }), fc.constantFrom('', ' ', '\n', ':', '0', 'x')], {
    numRuns: 200,
  })('timestamps back to back, with separators that could extend them, decode exactly', (stamps, sep) => {
    const raw = Buffer.from(stamps.join(sep), 'utf8');
    expect(decodeFrame(encodeFrameStyles(raw, 3), raw.length).equals(raw)).toBe(true);
  });

  const styled = [
    '2026-01-05T12:00:00.123Z INFO iso utc',
    '2026-01-05T13:00:00.123+01:00 level=info offset',
    '2026-01-05T07:30:00.123456-05:30 offset with micros',
    '2026-01-05 12:00:00,123 INFO python logging',
    '2026-01-05 12:00:00.123 space and dot',
    '2026-01-05T12:00:00 no zone',
    'I0105 12:00:00.123456       1 reflector.go:255] klog',
    'E0229 23:59:59.999999       1 klog on a leap day',
    '2026/01/05 12:00:00 go log',
    '{"level":30,"time":1767614400123,"msg":"pino"}',
  ];
  const frame = (lines: string[], n: number) =>
    Buffer.from(Array.from({ length: n }, () => lines.join('\n')).join('\n') + '\n');

  test('takes the timestamp of every style; encoding 2 takes only the UTC ISO ones', () => {
    const raw = frame(styled, 20);
    const v3 = encodeFrameStyles(raw, 3);
    expect(v3[0]).toBe(FrameEncoding.TimestampStyles);
    expect(v3.readUInt32BE(1)).toBe(styled.length * 20);
    expect(decodeFrame(v3, raw.length).equals(raw)).toBe(true);
    const v2 = encodeFrame(raw, 3);
    expect(v2[0]).toBe(FrameEncoding.TimestampPlanes);
    expect(v2.readUInt32BE(1)).toBe(20);
  });

  test('leaves look-alikes as text: klog not at a line start, 12 or 14 digits, invalid dates and zones', () => {
    const lookAlikes = [
      'x I0105 12:00:00.123456 not at a line start',
      'id:176761440012 twelve digits',
      'id:17676144001234 fourteen digits',
      'id:0767614400123 leading zero',
      '2026-02-29 12:00:00 not a leap year',
      '2026-01-05T12:00:00+24:00 zone hour 24',
      '2026-01-05T12:00:00.1234567891Z ten fraction digits',
      '2026-01-05T12:00:60Z second 60',
      'Z0105 12:00:00.123456 not a klog severity',
    ];
    const raw = frame([...lookAlikes, ...Array.from({ length: 16 }, (_, i) => `2026-01-05T12:00:${pad(i, 2)}Z ok`)], 1);
    const encoded = encodeFrameStyles(raw, 3);
    // The zone +24:00 is text, and so is what it follows (a timestamp must take its zone whole to be exact).
    expect(encoded.readUInt32BE(1)).toBe(16);
    expect(decodeFrame(encoded, raw.length).equals(raw)).toBe(true);
  });

  test('a corrupted column is an IntegrityError, never wrong bytes', () => {
    const raw = frame(styled, 8);
    const encoded = encodeFrameStyles(raw, 3);
    expect(() => decodeFrame(encoded.subarray(0, encoded.length - 3), raw.length)).toThrow(IntegrityError);
    expect(() => decodeFrame(encoded, raw.length + 1)).toThrow(IntegrityError);
    const fewer = Buffer.from(encoded);
    fewer.writeUInt32BE(encoded.readUInt32BE(1) - 1, 1);
    expect(() => decodeFrame(fewer, raw.length)).toThrow(IntegrityError);
    const noOffsets = Buffer.from(encoded);
    noOffsets.writeUInt32BE(0, 5 + 4 * 5); // the zone offset column's length
    expect(() => decodeFrame(noOffsets, raw.length)).toThrow(IntegrityError);
  });
});
