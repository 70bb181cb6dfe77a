// Frame encodings inside packs: plain zstd, or log-aware (RFC 3339 timestamps pulled out into delta-coded columns).
import { decompress } from 'zstd-napi';
import zstd from 'zstd-napi/binding.js';
import { IntegrityError } from '../errors.ts';
import {
  formatFraction,
  formatSecond,
  formatStamp,
  MAX_SECOND,
  MIN_SECOND,
  secondRange,
  stampAtColon,
  STYLES,
  timestampAt,
} from './timestamps.ts';

/** First byte of every frame payload. */
export const FrameEncoding = { Plain: 0, Timestamps: 1, TimestampPlanes: 2, TimestampStyles: 3 } as const;

/** One reusable zstd context per level (creating one per frame costs more than compressing a small frame). */
const contexts = new Map<number, zstd.CCtx>();
/** 8 MiB: the default frame (repository.ts DEFAULT_PACK); any decoder takes windows up to 128 MiB. */
const FRAME_WINDOW_LOG = 23;
/**
 * Where zstd writes, reused from call to call: a fresh buffer of the input's bound per call (8 MiB per frame,
 * garbage until the next GC) kept ~20 MiB more of the encoder thread's memory alive and paged in.
 */
let output = Buffer.alloc(0);

function contextFor(level: number): zstd.CCtx {
  let c = contexts.get(level);
  if (!c) {
    c = new zstd.CCtx();
    c.setParameter(zstd.CParameter.compressionLevel, level);
    // Measured at levels 5-12 on the play-workflow corpus: matches of at least 6 bytes store 3-11% less (logs,
    // YAML and JSON alike) at the same or better speed than the level's own minMatch (docs/format.md). The window
    // covers a whole 8 MiB frame (these levels' own is 2-4 MiB); zstd narrows it to a smaller input's size.
    if (level >= 5 && level <= 12) {
      c.setParameter(zstd.CParameter.minMatch, 6);
      c.setParameter(zstd.CParameter.windowLog, FRAME_WINDOW_LOG);
    }
    contexts.set(level, c);
  }
  return c;
}

/** One zstd frame of `data`, in a buffer of its own. */
function compress(data: Uint8Array, { compressionLevel }: { compressionLevel: number }): Buffer {
  const bound = zstd.compressBound(data.length);
  if (output.length < bound) output = Buffer.allocUnsafeSlow(bound);
  const length = contextFor(compressionLevel).compress2(output, data);
  return Buffer.from(output.subarray(0, length));
}

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
export function encodeFrameV1(raw: Buffer, level: number): Buffer {
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

/** The frame encoder of a repository format: 1 writes encoding 2 (older Strata reads it), 2 and 3 encoding 3. */
export function encodeFrameFor(version: 1 | 2 | 3): (raw: Buffer, level: number) => Buffer {
  return version === 1 ? encodeFrame : encodeFrameStyles;
}

/** Inverse of encodeFrame; throws IntegrityError on anything malformed. */
export function decodeFrame(payload: Buffer, rawLength: number): Buffer {
  let raw: Buffer;
  try {
    raw = decodeUnchecked(payload, rawLength);
  } catch (err) {
    if (err instanceof IntegrityError) throw err;
    throw new IntegrityError(`frame does not decompress: ${(err as Error).message}`);
  }
  if (raw.length !== rawLength) throw new IntegrityError(`frame has ${raw.length} bytes, expected ${rawLength}`);
  return raw;
}

function decodeUnchecked(payload: Buffer, rawLength: number): Buffer {
  const encoding = payload[0];
  if (encoding === FrameEncoding.Plain) return decompress(payload.subarray(1));
  if (encoding === FrameEncoding.TimestampPlanes) return decodePlanes(payload, rawLength);
  if (encoding === FrameEncoding.TimestampStyles) return decodeStyles(payload, rawLength);
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

/** Seconds apart below this combine with the fraction into one nanosecond delta that stays a safe integer. */
const COMBINE_LIMIT = 2 ** 22;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
/** Column streams of encoding 2, each compressed on its own so zstd's entropy coder sees one distribution. */
const STREAMS = 5;

/**
 * Encoding 2: the timestamps of encoding 1, found by a byte scanner, stored as one delta per timestamp in
 * nanoseconds (zigzag) split into byte planes, which compress close to the entropy of the gaps between log lines.
 */
export function encodeFrame(raw: Buffer, level: number): Buffer {
  if (raw.includes(0)) return plain(raw, level);
  const n = raw.length;
  const max = Math.floor(n / 20); // a timestamp takes at least 20 bytes
  const s = scratchFor(n, max);
  const { text, digits, lows, varints } = s;
  let textLen = 0;
  let copied = 0;
  let count = 0;
  // Second deltas go to the front of `varints`, high parts of the nanosecond deltas to its back half.
  let secLen = 0;
  let highLen = max * 8;
  let prevSec = 0;
  let prevNs = 0;
  // A timestamp is at least 20 bytes and has 'T' at +10: jump from 'T' to 'T' (memchr), then check around it.
  for (let i = 0; ;) {
    const at = raw.indexOf(0x54, i + 10) - 10;
    if (at < 0 || at + 20 > n) break;
    const t = timestampAt(raw, at);
    if (!t) {
      i = at + 1;
      continue;
    }
    textLen += raw.copy(text, textLen, copied, at);
    text[textLen++] = 0;
    copied = t.end;
    const ns = t.frac * POW10[9 - t.fracDigits]!;
    const secDelta = t.sec - prevSec;
    const delta = Math.abs(secDelta) < COMBINE_LIMIT ? secDelta * 1e9 + ns - prevNs : ns - prevNs;
    const z = zigzag(delta);
    digits[count] = t.fracDigits;
    secLen = writeVarint(varints, secLen, zigzag(secDelta));
    const low = z % 2 ** 32;
    lows[count++] = low;
    highLen = writeVarint(varints, highLen, zigzag((z - low) / 2 ** 32));
    prevSec = t.sec;
    prevNs = ns;
    i = t.end;
  }
  if (count < MIN_TIMESTAMPS) return plain(raw, level);
  textLen += raw.copy(text, textLen, copied, n);
  const small = Buffer.concat([
    digits.subarray(0, count),
    varints.subarray(0, secLen),
    varints.subarray(max * 8, highLen),
  ]);
  const streams = [compress(small, { compressionLevel: level })];
  const plane = s.plane;
  for (let shift = 0; shift < 32; shift += 8) {
    for (let k = 0; k < count; k++) plane[k] = (lows[k]! >>> shift) & 255;
    streams.push(compress(plane.subarray(0, count), { compressionLevel: level }));
  }
  const body = compress(text.subarray(0, textLen), { compressionLevel: level });
  const head = Buffer.alloc(5 + 4 * STREAMS);
  head[0] = FrameEncoding.TimestampPlanes;
  head.writeUInt32BE(count, 1);
  streams.forEach((z, k) => head.writeUInt32BE(z.length, 5 + 4 * k));
  return Buffer.concat([head, ...streams, body]);
}

interface Scratch {
  text: Buffer;
  digits: Uint8Array;
  lows: Uint32Array;
  plane: Uint8Array;
  /** Two halves of `8 × max` bytes: a zigzag varint of a safe integer takes at most 8 bytes. */
  varints: Buffer;
  /** Zone offset deltas of encoding 3, at most 2 bytes each. */
  offsets: Buffer;
}

let scratch: Scratch | undefined;

/** Buffers reused from frame to frame (encodeFrame is synchronous), grown when a frame is larger. */
function scratchFor(n: number, max: number): Scratch {
  if (!scratch || scratch.text.length < n || scratch.digits.length < max) {
    scratch = {
      text: Buffer.allocUnsafe(n),
      digits: new Uint8Array(max),
      lows: new Uint32Array(max),
      plane: new Uint8Array(max),
      varints: Buffer.allocUnsafe(16 * max),
      offsets: Buffer.allocUnsafe(2 * max),
    };
  }
  return scratch;
}

function writeVarint(b: Buffer, at: number, z: number): number {
  while (z >= 128) {
    b[at++] = (z % 128) | 128;
    z = Math.floor(z / 128);
  }
  b[at++] = z;
  return at;
}

function zigzag(v: number): number {
  return v < 0 ? -2 * v - 1 : 2 * v;
}

function decodePlanes(payload: Buffer, rawLength: number): Buffer {
  const headLen = 5 + 4 * STREAMS;
  if (payload.length < headLen) throw new IntegrityError('frame header is truncated');
  const count = payload.readUInt32BE(1);
  const streams: Buffer[] = [];
  let at = headLen;
  for (let k = 0; k < STREAMS; k++) {
    const len = payload.readUInt32BE(5 + 4 * k);
    if (at + len > payload.length) throw new IntegrityError('timestamp column is truncated');
    const s = decompress(payload.subarray(at, at + len));
    if (k > 0 && s.length !== count) throw new IntegrityError('timestamp column has the wrong length');
    streams.push(s);
    at += len;
  }
  const text = decompress(payload.subarray(at));
  const small = streams[0]!;
  const [p0, p1, p2, p3] = streams.slice(1) as [Buffer, Buffer, Buffer, Buffer];
  if (small.length < count) throw new IntegrityError('timestamp column is truncated');
  const secPos = { at: count };
  const secDeltas = new Array<number>(count);
  for (let k = 0; k < count; k++) secDeltas[k] = readVarint(small, secPos);
  const highPos = { at: secPos.at };
  const out = Buffer.allocUnsafe(rawLength);
  let o = 0;
  let from = 0;
  let sec = 0;
  let ns = 0;
  let lastSec = NaN;
  let lastAt = 0;
  for (let k = 0; k < count; k++) {
    const mark = text.indexOf(0, from);
    if (mark < 0) throw new IntegrityError('timestamp count does not match the text');
    if (o + (mark - from) + 20 > rawLength) throw new IntegrityError(`frame decodes to more than ${rawLength} bytes`);
    o += text.copy(out, o, from, mark);
    from = mark + 1;
    const z = readVarint(small, highPos) * 2 ** 32 + ((p0[k]! | (p1[k]! << 8) | (p2[k]! << 16) | (p3[k]! << 24)) >>> 0);
    const delta = z % 2 === 1 ? -(z + 1) / 2 : z / 2;
    const secDelta = secDeltas[k]!;
    sec += secDelta;
    ns += Math.abs(secDelta) < COMBINE_LIMIT ? delta - secDelta * 1e9 : delta;
    const digits = small[k]!;
    const scale = POW10[9 - digits];
    if (scale === undefined || ns < 0 || ns >= 1e9 || ns % scale !== 0 || sec < MIN_SECOND || sec > MAX_SECOND)
      throw new IntegrityError('timestamp column holds an impossible timestamp');
    if (sec === lastSec) out.copyWithin(o, lastAt, lastAt + 19);
    else formatSecond(out, o, sec);
    lastSec = sec;
    lastAt = o;
    o = formatFraction(out, o + 19, ns / scale, digits);
  }
  if (text.indexOf(0, from) >= 0) throw new IntegrityError('timestamp count does not match the text');
  if (o > rawLength || o + text.length - from !== rawLength)
    throw new IntegrityError(`frame does not decode to ${rawLength} bytes`);
  text.copy(out, o, from);
  return out;
}

/** Styles 4-7 (ISO 8601 with a `±HH:MM` zone) have an entry in the offset column. */
const hasOffset = (style: number) => style >> 2 === 1;

/** Column streams of encoding 3: those of encoding 2, then the zone offsets. */
const STYLE_STREAMS = 6;

/**
 * Encoding 3: encoding 2 for timestamps of every style `timestamps.ts` knows (ISO 8601 with `Z`, an offset or no
 * zone, `T` or space, `.` or `,`; klog; Go's log; epoch milliseconds), found from the colon of their time of day.
 * Each timestamp's code is style × 10 + fraction digits; deltas run per style, so interleaved styles do not
 * break each other's runs.
 */
export function encodeFrameStyles(raw: Buffer, level: number): Buffer {
  if (raw.includes(0)) return plain(raw, level);
  const n = raw.length;
  const max = Math.floor(n / 13); // the shortest timestamp (epoch milliseconds) takes 13 bytes
  const s = scratchFor(n, max);
  const { text, digits: codes, lows, varints } = s;
  const offsets = s.offsets;
  let offsetLen = 0;
  let textLen = 0;
  let copied = 0;
  let count = 0;
  let secLen = 0;
  let highLen = max * 8;
  // One delta chain per code (style and fraction digits), in units of the last fraction digit.
  const prevSec = new Float64Array(STYLES * 10);
  const prevFrac = new Float64Array(STYLES * 10);
  let prevOffset = 0;
  for (let c = raw.indexOf(0x3a, 0); c >= 0;) {
    const t = stampAtColon(raw, c, copied);
    if (!t) {
      c = raw.indexOf(0x3a, c + 1);
      continue;
    }
    textLen += raw.copy(text, textLen, copied, t.start);
    text[textLen++] = 0;
    copied = t.end;
    const code = t.style * 10 + t.fracDigits;
    const secDelta = t.sec - prevSec[code]!;
    const fracDelta = t.frac - prevFrac[code]!;
    const delta = Math.abs(secDelta) < COMBINE_LIMIT ? secDelta * POW10[t.fracDigits]! + fracDelta : fracDelta;
    const z = zigzag(delta);
    codes[count] = code;
    secLen = writeVarint(varints, secLen, zigzag(secDelta));
    const low = z % 2 ** 32;
    lows[count++] = low;
    highLen = writeVarint(varints, highLen, zigzag((z - low) / 2 ** 32));
    if (hasOffset(t.style)) {
      offsetLen = writeVarint(offsets, offsetLen, zigzag(t.offset - prevOffset));
      prevOffset = t.offset;
    }
    prevSec[code] = t.sec;
    prevFrac[code] = t.frac;
    c = raw.indexOf(0x3a, t.end);
  }
  if (count < MIN_TIMESTAMPS) return plain(raw, level);
  textLen += raw.copy(text, textLen, copied, n);
  const small = Buffer.concat([
    codes.subarray(0, count),
    varints.subarray(0, secLen),
    varints.subarray(max * 8, highLen),
  ]);
  const streams = [compress(small, { compressionLevel: level })];
  const plane = s.plane;
  for (let shift = 0; shift < 32; shift += 8) {
    for (let k = 0; k < count; k++) plane[k] = (lows[k]! >>> shift) & 255;
    streams.push(compress(plane.subarray(0, count), { compressionLevel: level }));
  }
  // An empty stream is stored as nothing (most frames have no zone offsets).
  streams.push(offsetLen ? compress(offsets.subarray(0, offsetLen), { compressionLevel: level }) : Buffer.alloc(0));
  const body = compress(text.subarray(0, textLen), { compressionLevel: level });
  const head = Buffer.alloc(5 + 4 * STYLE_STREAMS);
  head[0] = FrameEncoding.TimestampStyles;
  head.writeUInt32BE(count, 1);
  streams.forEach((z, k) => head.writeUInt32BE(z.length, 5 + 4 * k));
  return Buffer.concat([head, ...streams, body]);
}

function decodeStyles(payload: Buffer, rawLength: number): Buffer {
  const headLen = 5 + 4 * STYLE_STREAMS;
  if (payload.length < headLen) throw new IntegrityError('frame header is truncated');
  const count = payload.readUInt32BE(1);
  const streams: Buffer[] = [];
  let at = headLen;
  for (let k = 0; k < STYLE_STREAMS; k++) {
    const len = payload.readUInt32BE(5 + 4 * k);
    if (at + len > payload.length) throw new IntegrityError('timestamp column is truncated');
    const stream = len === 0 ? Buffer.alloc(0) : decompress(payload.subarray(at, at + len));
    if (k > 0 && k < 5 && stream.length !== count) throw new IntegrityError('timestamp column has the wrong length');
    streams.push(stream);
    at += len;
  }
  const text = decompress(payload.subarray(at));
  const small = streams[0]!;
  const [p0, p1, p2, p3, offsets] = streams.slice(1) as [Buffer, Buffer, Buffer, Buffer, Buffer];
  if (small.length < count) throw new IntegrityError('timestamp column is truncated');
  const secPos = { at: count };
  const secDeltas = new Array<number>(count);
  for (let k = 0; k < count; k++) secDeltas[k] = readVarint(small, secPos);
  const highPos = { at: secPos.at };
  const offsetPos = { at: 0 };
  const out = Buffer.allocUnsafe(rawLength);
  /** The longest timestamp (ISO, 9 fraction digits, an offset) takes 35 bytes. */
  const stamp = Buffer.allocUnsafe(64);
  const secs = new Float64Array(STYLES * 10);
  const fracs = new Float64Array(STYLES * 10);
  let offset = 0;
  let o = 0;
  let from = 0;
  for (let k = 0; k < count; k++) {
    const mark = text.indexOf(0, from);
    if (mark < 0) throw new IntegrityError('timestamp count does not match the text');
    if (o + (mark - from) > rawLength) throw new IntegrityError(`frame decodes to more than ${rawLength} bytes`);
    o += text.copy(out, o, from, mark);
    from = mark + 1;
    const code = small[k]!;
    const style = Math.floor(code / 10);
    const digits = code % 10;
    if (style >= STYLES) throw new IntegrityError('timestamp column holds an unknown style');
    const z = readVarint(small, highPos) * 2 ** 32 + ((p0[k]! | (p1[k]! << 8) | (p2[k]! << 16) | (p3[k]! << 24)) >>> 0);
    const delta = z % 2 === 1 ? -(z + 1) / 2 : z / 2;
    const secDelta = secDeltas[k]!;
    const sec = secs[code]! + secDelta;
    const frac = fracs[code]! + (Math.abs(secDelta) < COMBINE_LIMIT ? delta - secDelta * POW10[digits]! : delta);
    secs[code] = sec;
    fracs[code] = frac;
    if (hasOffset(style)) {
      if (offsetPos.at >= offsets.length) throw new IntegrityError('zone offset column is truncated');
      offset += readVarint(offsets, offsetPos);
    }
    const [lo, hi] = secondRange(style);
    if (frac < 0 || frac >= POW10[digits]! || sec < lo || sec > hi || offset < 0 || offset >= 24 * 60 * 2)
      throw new IntegrityError('timestamp column holds an impossible timestamp');
    const len = formatStamp(stamp, 0, style, sec, frac, digits, offset);
    if (o + len > rawLength) throw new IntegrityError(`frame decodes to more than ${rawLength} bytes`);
    o += stamp.copy(out, o, 0, len);
  }
  if (text.indexOf(0, from) >= 0) throw new IntegrityError('timestamp count does not match the text');
  if (o > rawLength || o + text.length - from !== rawLength)
    throw new IntegrityError(`frame does not decode to ${rawLength} bytes`);
  text.copy(out, o, from);
  return out;
}
