// Content-defined chunking: a FastCDC-style gear hash with normalized chunking, fed by stream buffers.
import { createHash } from 'node:crypto';

export interface ChunkerParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
  /** Seeds the gear table; part of the repository config so every archiver cuts the same way. */
  seed: string;
}

export const DEFAULT_CHUNKER: ChunkerParams = {
  minSize: 64 * 1024,
  avgSize: 256 * 1024,
  maxSize: 1024 * 1024,
  seed: 'strata-gear-v1',
};

const gearCache = new Map<string, Uint32Array>();

/** 256 pseudo-random 32-bit values derived from the seed (SHA-256 in counter mode). */
export function gearTable(seed: string): Uint32Array {
  let table = gearCache.get(seed);
  if (table) return table;
  table = new Uint32Array(256);
  for (let block = 0; block < 32; block++) {
    const digest = createHash('sha256').update(`${seed}:${block}`).digest();
    for (let j = 0; j < 8; j++) table[block * 8 + j] = digest.readUInt32BE(j * 4);
  }
  gearCache.set(seed, table);
  return table;
}

/** A mask of `bits` ones in the high end of the word: the gear hash's high bits cover the last 32 bytes. */
function highMask(bits: number): number {
  return bits >= 32 ? 0xffffffff : ((0xffffffff << (32 - bits)) >>> 0) | 0;
}

export function checkChunkerParams(p: ChunkerParams): string | undefined {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avgSize) || p.avgSize < 256 || p.avgSize > 1 << 26)
    return 'avgSize must be a power of two between 256 and 64 MiB';
  if (!(p.minSize > 0 && p.minSize <= p.avgSize && p.avgSize <= p.maxSize))
    return 'need 0 < minSize <= avgSize <= maxSize';
  return undefined;
}

/**
 * Cuts a byte stream into chunks whose boundaries depend on content, so an insertion shifts only nearby chunks.
 * Normalized chunking (level 2): a stricter mask before avgSize and a looser one after keeps sizes near the average.
 */
export class Chunker {
  private readonly gear: Uint32Array;
  private readonly maskS: number;
  private readonly maskL: number;
  /** Twice maxSize, so that pending bytes move to the front only once per maxSize of input, not at every cut. */
  private readonly buf: Buffer;
  /** Pending bytes are buf[start, end). */
  private start = 0;
  private end = 0;
  private scanned = 0;
  private hash = 0;

  constructor(private readonly p: ChunkerParams) {
    const bits = Math.log2(p.avgSize);
    this.gear = gearTable(p.seed);
    this.maskS = highMask(bits + 2);
    this.maskL = highMask(bits - 2);
    this.buf = Buffer.allocUnsafe(2 * p.maxSize);
  }

  /** Forgets any pending data, to start a new file with the same buffer. */
  reset(): void {
    this.start = 0;
    this.end = 0;
    this.scanned = 0;
    this.hash = 0;
  }

  /** Feeds data; returns the chunks completed by it (fresh buffers the caller may keep). */
  push(data: Uint8Array): Buffer[] {
    return this.feed(data, true);
  }

  /**
   * Like push, without copying: the chunks are views into the chunker's buffer, valid only until the next call
   * to any method of this chunker. For callers that hash and copy each chunk before feeding more data.
   */
  pushViews(data: Uint8Array): Buffer[] {
    return this.feed(data, false);
  }

  private feed(data: Uint8Array, copy: boolean): Buffer[] {
    const out: Buffer[] = [];
    // Views handed out by an earlier call are stale by now, so an empty buffer may start over at its front.
    if (this.start === this.end) this.start = this.end = 0;
    let off = 0;
    while (off < data.length) {
      if (this.end === this.buf.length) {
        // Moving the pending bytes would overwrite the views handed out so far in this call: copy those first.
        if (!copy) for (let k = 0; k < out.length; k++) out[k] = Buffer.from(out[k]!);
        // Fewer than maxSize bytes are pending here (findCut cuts at maxSize), so this frees at least maxSize.
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      }
      const n = Math.min(this.buf.length - this.end, data.length - off);
      this.buf.set(data.subarray(off, off + n), this.end);
      this.end += n;
      off += n;
      for (let cut = this.findCut(); cut > 0; cut = this.findCut()) out.push(this.take(cut, copy));
    }
    return out;
  }

  /** The last, possibly short, chunk (undefined when nothing is pending); a view when `copy` is false. */
  finish(copy = true): Buffer | undefined {
    if (this.end === this.start) return undefined;
    return this.take(this.end - this.start, copy);
  }

  private take(cut: number, copy: boolean): Buffer {
    const view = this.buf.subarray(this.start, this.start + cut);
    const chunk = copy ? Buffer.from(view) : view;
    this.start += cut;
    // Starting over at the front would overwrite views handed out in this call; feed does it on its next call.
    if (copy && this.start === this.end) this.start = this.end = 0;
    this.scanned = 0;
    this.hash = 0;
    return chunk;
  }

  /** Length of the next chunk, or 0 when more data is needed. */
  private findCut(): number {
    const { minSize, avgSize, maxSize } = this.p;
    const buf = this.buf;
    const gear = this.gear;
    const base = this.start;
    const len = this.end - base;
    let h = this.hash;
    let i = Math.max(this.scanned, minSize);
    const normalEnd = Math.min(len, avgSize);
    const maskS = this.maskS;
    for (; i < normalEnd; i++) {
      h = ((h << 1) + gear[buf[base + i]!]!) | 0;
      if ((h & maskS) === 0) return i + 1;
    }
    const maskL = this.maskL;
    const end = Math.min(len, maxSize);
    for (; i < end; i++) {
      h = ((h << 1) + gear[buf[base + i]!]!) | 0;
      if ((h & maskL) === 0) return i + 1;
    }
    if (len >= maxSize) return maxSize;
    this.hash = h;
    this.scanned = Math.max(i, this.scanned);
    return 0;
  }
}
