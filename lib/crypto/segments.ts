// The encrypted object layout (docs/format.md, "Encrypted objects"): a header, then the plaintext in 64 KiB
// segments, each sealed with AES-256-GCM under a per-object key, so an object streams in and out in constant memory
// and a byte range decrypts from the segments it touches alone.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { IntegrityError } from '../errors.ts';

export const ENCRYPTED_MAGIC = Buffer.from('STRATAEN');
export const ENCRYPTED_VERSION = 1;
export const HEADER_SIZE = 48;
/** Fixed by the format, so sizes map between plaintext and ciphertext without reading a header (list, head). */
export const SEGMENT_SIZE = 64 * 1024;
export const TAG_SIZE = 16;
const SEALED_SEGMENT = SEGMENT_SIZE + TAG_SIZE;
export const KEY_ID_SIZE = 16;

export interface ObjectHeader {
  /** Which data key sealed the object (16 bytes; names no tenant). */
  keyId: Buffer;
  /** Random per object: the per-object key is derived from it, so nonces never repeat under one key. */
  salt: Buffer;
  /** The header's 48 bytes as stored. */
  bytes: Buffer;
}

export function newHeader(keyId: Buffer): ObjectHeader {
  const bytes = Buffer.alloc(HEADER_SIZE);
  ENCRYPTED_MAGIC.copy(bytes, 0);
  bytes.writeUInt32BE(ENCRYPTED_VERSION, 8);
  bytes.writeUInt32BE(SEGMENT_SIZE, 12);
  keyId.copy(bytes, 16);
  const salt = randomBytes(16);
  salt.copy(bytes, 32);
  return { keyId: Buffer.from(keyId), salt, bytes };
}

export function isEncrypted(prefix: Uint8Array): boolean {
  return prefix.length >= ENCRYPTED_MAGIC.length && ENCRYPTED_MAGIC.equals(prefix.subarray(0, ENCRYPTED_MAGIC.length));
}

export function parseHeader(bytes: Buffer, key: string): ObjectHeader {
  const fail = (why: string): never => {
    throw new IntegrityError(`encrypted object header: ${why}`, { key });
  };
  if (bytes.length < HEADER_SIZE) fail(`truncated (${bytes.length} bytes)`);
  if (!isEncrypted(bytes)) fail('no STRATAEN magic');
  const version = bytes.readUInt32BE(8);
  if (version !== ENCRYPTED_VERSION)
    fail(`version ${version} is not supported (this Strata reads ${ENCRYPTED_VERSION})`);
  const segment = bytes.readUInt32BE(12);
  if (segment !== SEGMENT_SIZE) fail(`segment size ${segment} is not ${SEGMENT_SIZE}`);
  const h = Buffer.from(bytes.subarray(0, HEADER_SIZE));
  return { keyId: h.subarray(16, 32), salt: h.subarray(32, 48), bytes: h };
}

/** The per-object key: bound to the data key, this header and the object's key, so objects cannot be swapped. */
export function objectKey(encryptionKey: Buffer, header: ObjectHeader, key: string): Buffer {
  return createHmac('sha256', encryptionKey)
    .update('strata-object-key\0')
    .update(header.bytes)
    .update(key, 'utf8')
    .digest();
}

function nonce(index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 0);
  n[11] = last ? 1 : 0;
  return n;
}

export function sealSegment(key: Buffer, index: number, last: boolean, plain: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce(index, last));
  const body = c.update(plain);
  c.final();
  return Buffer.concat([body, c.getAuthTag()]);
}

/** The plaintext, or undefined when the segment does not authenticate as (index, last) under this key. */
export function openSegment(key: Buffer, index: number, last: boolean, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG_SIZE) return undefined;
  const d = createDecipheriv('aes-256-gcm', key, nonce(index, last));
  d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const body = d.update(sealed.subarray(0, sealed.length - TAG_SIZE));
  try {
    d.final();
  } catch {
    return undefined;
  }
  return body;
}

/** Segments of an object of `plainSize` bytes: an empty object still has one (empty, final) segment. */
export function segmentCount(plainSize: number): number {
  return plainSize === 0 ? 1 : Math.ceil(plainSize / SEGMENT_SIZE);
}

export function sealedSize(plainSize: number): number {
  return HEADER_SIZE + plainSize + segmentCount(plainSize) * TAG_SIZE;
}

/** The plaintext size of a sealed object of `size` bytes, or undefined when no plaintext size gives it. */
export function plainSize(size: number): number | undefined {
  const body = size - HEADER_SIZE;
  if (body < TAG_SIZE) return undefined;
  const segments = Math.ceil(body / SEALED_SEGMENT);
  const plain = body - segments * TAG_SIZE;
  return sealedSize(plain) === size ? plain : undefined;
}

/** Where segment `index` starts in the sealed object. */
export function segmentOffset(index: number): number {
  return HEADER_SIZE + index * SEALED_SEGMENT;
}

/** Seals a stream of plaintext: the header, then each segment once SEGMENT_SIZE bytes (or the end) arrive. */
export async function* sealStream(
  source: AsyncIterable<Uint8Array>,
  key: Buffer,
  header: ObjectHeader,
): AsyncGenerator<Buffer> {
  yield header.bytes;
  let pending = Buffer.alloc(SEGMENT_SIZE);
  let filled = 0;
  let index = 0;
  for await (const part of source) {
    let o = 0;
    while (o < part.length) {
      // A full segment is sealed only when more bytes follow: the last one must carry the final flag.
      if (filled === SEGMENT_SIZE) {
        yield sealSegment(key, index++, false, pending);
        pending = Buffer.alloc(SEGMENT_SIZE);
        filled = 0;
      }
      const n = Math.min(SEGMENT_SIZE - filled, part.length - o);
      pending.set(part.subarray(o, o + n), filled);
      filled += n;
      o += n;
    }
  }
  yield sealSegment(key, index, true, pending.subarray(0, filled));
}

/** Seals a whole buffer at once (one output buffer, for bodies the writer already holds). */
export function sealBuffer(plain: Uint8Array, key: Buffer, header: ObjectHeader): Buffer {
  const out = Buffer.allocUnsafe(sealedSize(plain.length));
  header.bytes.copy(out, 0);
  const n = segmentCount(plain.length);
  let o = HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    const sealed = sealSegment(key, i, i === n - 1, plain.subarray(i * SEGMENT_SIZE, (i + 1) * SEGMENT_SIZE));
    sealed.copy(out, o);
    o += sealed.length;
  }
  return out;
}

export interface OpenOptions {
  /** Index of the first segment the source holds (a range read starts mid-object). */
  firstSegment: number;
  /** True when the source runs to the object's end: its final segment must then carry the final flag. */
  toEnd: boolean;
  /** Names the object in errors. */
  key: string;
  /** Plaintext bytes to drop from the front of the first segment, and the most to yield (undefined: all). */
  skip?: number;
  take?: number;
}

/**
 * Opens sealed segments as they stream in. Any segment that does not authenticate, a stream cut at a segment
 * boundary (no final flag at the end), or bytes after the final segment → IntegrityError naming the object.
 */
export async function* openStream(
  source: AsyncIterable<Uint8Array>,
  key: Buffer,
  opts: OpenOptions,
): AsyncGenerator<Buffer> {
  let index = opts.firstSegment;
  let skip = opts.skip ?? 0;
  let left = opts.take ?? Infinity;
  // Reused for every segment: openSegment returns fresh plaintext, never a view of it.
  const pending = Buffer.alloc(SEALED_SEGMENT);
  let filled = 0;
  let ended = false;
  const bad = (why: string) => new IntegrityError(`${why}: wrong key, or the object was altered`, { key: opts.key });
  const emit = function* (plain: Buffer): Generator<Buffer> {
    let out = plain;
    if (skip > 0) {
      const s = Math.min(skip, out.length);
      out = out.subarray(s);
      skip -= s;
    }
    if (out.length > left) out = out.subarray(0, left);
    left -= out.length;
    if (out.length > 0) yield out;
  };
  for await (const part of source) {
    let o = 0;
    while (o < part.length) {
      if (ended) throw bad(`encrypted object has data after its final segment ${index - 1}`);
      if (filled === SEALED_SEGMENT) {
        // More bytes follow, so this segment is not the object's last (unless the object was extended).
        const plain = openSegment(key, index, false, pending);
        if (!plain) {
          if (openSegment(key, index, true, pending)) ended = true;
          else throw bad(`encrypted segment ${index} does not authenticate`);
          yield* emit(openSegment(key, index, true, pending)!);
        } else yield* emit(plain);
        index++;
        filled = 0;
        if (left <= 0) return;
        continue;
      }
      const n = Math.min(SEALED_SEGMENT - filled, part.length - o);
      pending.set(part.subarray(o, o + n), filled);
      filled += n;
      o += n;
    }
  }
  if (ended) {
    if (filled > 0) throw bad(`encrypted object has data after its final segment ${index - 1}`);
    return;
  }
  const held = pending.subarray(0, filled);
  const last = openSegment(key, index, true, held);
  if (last) {
    yield* emit(last);
    return;
  }
  if (!opts.toEnd && filled === SEALED_SEGMENT) {
    const plain = openSegment(key, index, false, held);
    if (plain) {
      yield* emit(plain);
      return;
    }
  }
  if (filled === SEALED_SEGMENT && openSegment(key, index, false, held))
    throw bad(`encrypted object ends at segment ${index} without its final segment (truncated)`);
  throw bad(`encrypted segment ${index} does not authenticate`);
}
