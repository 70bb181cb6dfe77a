// Frame encodings inside packs: plain zstd, or log-aware (RFC 3339 timestamps pulled out into delta-coded columns).
import { compress, decompress } from 'zstd-napi';
import { IntegrityError } from '../errors.ts';

/** First byte of every frame payload. */
export const FrameEncoding = { Plain: 0, Timestamps: 1 } as const;

const TIMESTAMP = /(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z/g;
const MARK = '\0';
/** Below this many timestamps a frame is not worth the second zstd stream. */
const MIN_TIMESTAMPS = 16;

function pushVarint(out: number[], v: number): void {
  let z = v < 0 ? -2 * v - 1 : 2 * v; // zigzag; |v| stays well below 2^52
  while (z >= 128) {
    out.push((z % 128) | 128);
    z = Math.floor(z / 128);
  }
  out.push(z);
}

function readVarint(b: Buffer, pos: { at: number }): number {
  let z = 0;
  let scale = 1;
  for (;;) {
    const byte = b[pos.at++];
    if (byte === undefined) throw new IntegrityError('timestamp column is truncated');
    z += (byte & 127) * scale;
    if (byte < 128) break;
    scale *= 128;
  }
  return z % 2 === 1 ? -(z + 1) / 2 : z / 2;
}

/**
 * Log lines carry a timestamp each (`kubectl logs --timestamps`, Argo's executor): ~4 bytes of entropy that also
 * break every long repeat zstd could find. Replacing each with a NUL mark and storing them as columns (fraction
 * digits, second deltas, fraction deltas) halves what logs cost (measured in docs/format.md). Only timestamps that
 * re-format to exactly the same text are taken, and only in frames without NUL bytes, so decoding is exact.
 */
export function encodeFrame(raw: Buffer, level: number): Buffer {
  if (raw.includes(0)) return plain(raw, level);
  const text = raw.toString('latin1');
  const digits: number[] = [];
  const secDeltas: number[] = [];
  const fracDeltas: number[] = [];
  let prevSec = 0;
  let prevFrac = 0;
  const replaced = text.replace(
    TIMESTAMP,
    (m: string, y: string, mo: string, d: string, h: string, mi: string, s: string, frac?: string) => {
      const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
      if (+y < 100 || !Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 19) !== m.slice(0, 19)) return m;
      const sec = ms / 1000;
      const f = frac ? +frac : 0;
      digits.push(frac ? frac.length : 0);
      pushVarint(secDeltas, sec - prevSec);
      pushVarint(fracDeltas, f - prevFrac);
      prevSec = sec;
      prevFrac = f;
      return MARK;
    },
  );
  if (digits.length < MIN_TIMESTAMPS) return plain(raw, level);
  const columns = compress(Buffer.from([...digits, ...secDeltas, ...fracDeltas]), { compressionLevel: level });
  const body = compress(Buffer.from(replaced, 'latin1'), { compressionLevel: level });
  const head = Buffer.alloc(9);
  head[0] = FrameEncoding.Timestamps;
  head.writeUInt32BE(digits.length, 1);
  head.writeUInt32BE(columns.length, 5);
  return Buffer.concat([head, columns, body]);
}

function plain(raw: Buffer, level: number): Buffer {
  return Buffer.concat([Buffer.from([FrameEncoding.Plain]), compress(raw, { compressionLevel: level })]);
}

/** Inverse of encodeFrame; throws IntegrityError on anything malformed. */
export function decodeFrame(payload: Buffer, rawLength: number): Buffer {
  let raw: Buffer;
  try {
    raw = decodeUnchecked(payload);
  } catch (err) {
    if (err instanceof IntegrityError) throw err;
    throw new IntegrityError(`frame does not decompress: ${(err as Error).message}`);
  }
  if (raw.length !== rawLength) throw new IntegrityError(`frame has ${raw.length} bytes, expected ${rawLength}`);
  return raw;
}

function decodeUnchecked(payload: Buffer): Buffer {
  const encoding = payload[0];
  if (encoding === FrameEncoding.Plain) return decompress(payload.subarray(1));
  if (encoding !== FrameEncoding.Timestamps || payload.length < 9)
    throw new IntegrityError(`unknown frame encoding ${encoding}`);
  const count = payload.readUInt32BE(1);
  const columnsLength = payload.readUInt32BE(5);
  const columns = decompress(payload.subarray(9, 9 + columnsLength));
  const parts = decompress(payload.subarray(9 + columnsLength))
    .toString('latin1')
    .split(MARK);
  if (parts.length !== count + 1 || columns.length < count)
    throw new IntegrityError('timestamp count does not match the text');
  const pos = { at: count };
  const secs: number[] = [];
  let sec = 0;
  for (let i = 0; i < count; i++) secs.push((sec += readVarint(columns, pos)));
  let out = parts[0]!;
  let frac = 0;
  for (let i = 0; i < count; i++) {
    frac += readVarint(columns, pos);
    const digits = columns[i]!;
    const iso = new Date(secs[i]! * 1000).toISOString().slice(0, 19);
    out += digits ? `${iso}.${String(frac).padStart(digits, '0')}Z` : `${iso}Z`;
    out += parts[i + 1]!;
  }
  return Buffer.from(out, 'latin1');
}
