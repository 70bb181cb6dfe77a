// The text inside artifacts, for the full-text index: a text artifact itself (JSON, YAML, logs, diffs, JUnit XML,
// Markdown…), and the text files inside .tgz/.tar.gz/.tar and .zip artifacts. Everything is streamed and size-capped;
// binary content (a NUL or mostly invalid UTF-8 in its first 8 KiB) is skipped. A file inside an archive is named
// `<artifact path>!/<member path>`, so every hit says which artifact and which file in it.
import { Readable } from 'node:stream';
import { createGunzip, createInflateRaw } from 'node:zlib';
import { segmentLines, type TextSegment } from './log-segments.ts';

export interface ArtifactTextLimits {
  /** Bytes of one text file (or archive member) that are indexed; the rest of that file is left out. */
  maxFileBytes: number;
  /** Bytes of a .zip read into memory to find its directory; a larger zip is skipped. */
  maxZipBytes: number;
  /** Members of one archive that are looked at. */
  maxMembers: number;
}

export const DEFAULT_ARTIFACT_TEXT_LIMITS: ArtifactTextLimits = {
  maxFileBytes: 8 * 1024 * 1024,
  maxZipBytes: 64 * 1024 * 1024,
  maxMembers: 10_000,
};

export interface ArtifactTextSegment extends TextSegment {
  /** The artifact's path, or `<artifact path>!/<member>` for a file inside an archive. */
  path: string;
}

/** Separates an artifact path from the member inside it (`a.tgz!/dir/f.txt` → ["a.tgz", "dir/f.txt"]). */
export function splitMemberPath(path: string): { artifact: string; member?: string } {
  const at = path.indexOf('!/');
  return at < 0 ? { artifact: path } : { artifact: path.slice(0, at), member: path.slice(at + 2) };
}

const SNIFF_BYTES = 8 * 1024;

/** True when the first bytes of a file look like text: no NUL, and (almost) all valid UTF-8. */
export function looksLikeText(head: Buffer): boolean {
  const sample = head.subarray(0, SNIFF_BYTES);
  if (sample.includes(0)) return false;
  // A multi-byte character cut by the sample's end is not a sign of binary.
  const text = new TextDecoder('utf-8').decode(sample.subarray(0, Math.max(0, sample.length - 3)));
  let bad = 0;
  for (const ch of text) if (ch === '\ufffd') bad++;
  return bad <= text.length / 100;
}

type Chunks = AsyncIterable<Buffer | Uint8Array | string>;

/** Segments of one text file: sniffed, then read up to the cap; nothing for binary content. */
async function* textFile(path: string, chunks: Chunks, maxBytes: number): AsyncGenerator<ArtifactTextSegment> {
  const it = (async function* () {
    for await (const c of chunks)
      yield typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  })();
  const head: Buffer[] = [];
  let headBytes = 0;
  let done = false;
  while (headBytes < SNIFF_BYTES) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    headBytes += r.value.length;
  }
  const first = Buffer.concat(head);
  if (first.length === 0 || !looksLikeText(first)) {
    if (!done) await it.return(undefined);
    return;
  }
  async function* capped(): AsyncGenerator<Buffer> {
    let left = maxBytes;
    const take = (b: Buffer) => {
      const part = b.subarray(0, left);
      left -= part.length;
      return part;
    };
    yield take(first);
    while (!done && left > 0) {
      const r = await it.next();
      if (r.done) return;
      yield take(r.value);
    }
    // Whole lines only: a capped file ends at its last complete line (segmentLines keeps the partial one, fine).
    if (!done) await it.return(undefined);
  }
  for await (const s of segmentLines(capped())) yield { path, ...s };
}

/** Every text segment an artifact holds, by its name: archives are opened, other files sniffed as text. */
export async function* artifactText(
  path: string,
  stream: Readable,
  limits: ArtifactTextLimits = DEFAULT_ARTIFACT_TEXT_LIMITS,
): AsyncGenerator<ArtifactTextSegment> {
  const name = path.toLowerCase();
  try {
    if (name.endsWith('.tgz') || name.endsWith('.tar.gz')) {
      const gunzip = createGunzip();
      // pipe() does not pass errors on: a failing read of the artifact must fail the gunzipped stream too.
      stream.once('error', (err) => gunzip.destroy(err));
      yield* tarMembers(path, stream.pipe(gunzip), limits);
    } else if (name.endsWith('.tar')) {
      yield* tarMembers(path, stream, limits);
    } else if (name.endsWith('.zip')) {
      yield* zipMembers(path, stream, limits);
    } else {
      yield* textFile(path, stream, limits.maxFileBytes);
    }
  } catch (err) {
    // A damaged archive is the producer's problem, not the archive's: its text is skipped, the rest is indexed.
    // Failing to read the artifact itself (store, integrity) is not skipped.
    if (!isZlibError(err)) throw err;
  } finally {
    stream.destroy();
  }
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** Reads exact byte counts from a stream of chunks. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      const r = await this.it.next();
      if (r.done) break;
      this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** The next n bytes as chunks (they must be consumed or skipped before the next read). */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0) {
        const r = await this.it.next();
        if (r.done) return;
        this.buf = r.value;
      }
      const part = this.buf.subarray(0, left);
      this.buf = this.buf.subarray(part.length);
      left -= part.length;
      yield part;
    }
  }
}

function octal(field: Buffer): number {
  // GNU base-256 for sizes of 8 GiB and more.
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const s = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

function paxPath(body: Buffer): string | undefined {
  // Records are "<len> key=value\n".
  for (const rec of body.toString('utf8').split('\n')) {
    const m = /^\d+ path=(.*)$/s.exec(rec);
    if (m) return m[1];
  }
  return undefined;
}

async function* tarMembers(
  path: string,
  stream: Readable,
  limits: ArtifactTextLimits,
): AsyncGenerator<ArtifactTextSegment> {
  const reader = new ByteReader(stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  let longName: string | undefined;
  let members = 0;
  for (;;) {
    const header = await reader.read(512);
    if (header.length < 512 || header.every((b) => b === 0)) return;
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156]!);
    const padded = Math.ceil(size / 512) * 512;
    if (type === 'L' || type === 'x') {
      const body = await reader.read(padded);
      longName = type === 'L' ? cString(body.subarray(0, size)) : (paxPath(body.subarray(0, size)) ?? longName);
      continue;
    }
    const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? cString(header.subarray(345, 500)) : '';
    const member =
      longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    longName = undefined;
    const regular = type === '0' || type === '\0' || type === '7';
    if (regular && size > 0 && ++members <= limits.maxMembers) {
      const body = reader.chunks(size);
      // Without a return(): stopping early (cap, binary) must not end the iterator we still drain below.
      const view: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => ({ next: () => body.next() }) };
      yield* textFile(`${path}!/${member.replace(/^\.\//, '')}`, view, limits.maxFileBytes);
      for await (const _ of body); // what the cap or the binary check left unread
      await reader.read(padded - size);
    } else {
      for await (const _ of reader.chunks(padded));
    }
  }
}

async function* zipMembers(
  path: string,
  stream: Readable,
  limits: ArtifactTextLimits,
): AsyncGenerator<ArtifactTextSegment> {
  // A zip's directory is at its end: read it whole, up to the cap.
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limits.maxZipBytes) return;
    parts.push(c);
  }
  const zip = Buffer.concat(parts);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > zip.length) return;
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < Math.min(count, limits.maxMembers); i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== 0x02014b50) return;
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const member = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    at += 46 + nameLength + extraLength + commentLength;
    if (member.endsWith('/') || (method !== 0 && method !== 8)) continue;
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== 0x04034b50) continue;
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + compressed);
    const body = method === 0 ? Readable.from([data]) : Readable.from([data]).pipe(createInflateRaw());
    try {
      yield* textFile(`${path}!/${member}`, body, limits.maxFileBytes);
    } finally {
      body.destroy();
    }
  }
}
