// The binary layout of packs and pack index files (formats 1 and 2, see docs/format.md): encode, decode, checksums.
import { createHash } from 'node:crypto';
import { IntegrityError } from '../errors.ts';

export const PACK_MAGIC = Buffer.from('STRATAPK');
export const PACK_END_MAGIC = Buffer.from('STRATAPE');
export const INDEX_MAGIC = Buffer.from('STRATAIX');
/** The format new repositories are created with; packs and index files carry their repository's. */
export const FORMAT_VERSION = 2;
/** Repositories whose objects are all sealed (docs/format.md, "Format 3"): packs as in 2, keyed chunk ids. */
export const ENCRYPTED_FORMAT_VERSION = 3;
/**
 * Formats this code reads: 1 (frame encodings 0-2), 2 (also encoding 3, timestamps of many styles) and 3 (the
 * layout of 2 inside sealed objects, chunk ids keyed per tenant).
 */
export const FORMAT_VERSIONS = [1, 2, 3] as const;
export type FormatVersion = (typeof FORMAT_VERSIONS)[number];
const supported = (v: number): v is FormatVersion => (FORMAT_VERSIONS as readonly number[]).includes(v);
export const PACK_HEADER_SIZE = 16;
export const PACK_TAIL_SIZE = 12;
const CHUNK_RECORD = 44;
const FRAME_RECORD = 8;

/** One zstd frame of a pack: compressed bytes at `offset` in the pack, `rawLength` once decompressed. */
export interface FrameInfo {
  offset: number;
  compressedLength: number;
  rawLength: number;
}

/** Where a chunk sits: in frame `frame`, at `offset` of the decompressed frame. */
export interface ChunkEntry {
  id: string;
  frame: number;
  offset: number;
  length: number;
}

export interface PackTable {
  frames: FrameInfo[];
  chunks: ChunkEntry[];
}

export function packHeader(version: FormatVersion): Buffer {
  const h = Buffer.alloc(PACK_HEADER_SIZE);
  PACK_MAGIC.copy(h, 0);
  h.writeUInt32BE(version, 8);
  return h;
}

/** Frame lengths then chunk records; frame offsets are implied (frames follow the header back to back). */
export function encodeTable(t: PackTable): Buffer {
  const b = Buffer.alloc(4 + t.frames.length * FRAME_RECORD + 4 + t.chunks.length * CHUNK_RECORD);
  let o = b.writeUInt32BE(t.frames.length, 0);
  for (const f of t.frames) {
    o = b.writeUInt32BE(f.compressedLength, o);
    o = b.writeUInt32BE(f.rawLength, o);
  }
  o = b.writeUInt32BE(t.chunks.length, o);
  for (const c of t.chunks) {
    o += b.write(c.id, o, 32, 'hex');
    o = b.writeUInt32BE(c.frame, o);
    o = b.writeUInt32BE(c.offset, o);
    o = b.writeUInt32BE(c.length, o);
  }
  return b;
}

export function decodeTable(b: Buffer, where: string): PackTable {
  const fail = (why: string): never => {
    throw new IntegrityError(`pack table: ${why}`, { key: where });
  };
  if (b.length < 8) fail('too short');
  let o = 0;
  const frameCount = b.readUInt32BE(o);
  o += 4;
  if (4 + frameCount * FRAME_RECORD + 4 > b.length) fail(`frame count ${frameCount} exceeds the table`);
  const frames: FrameInfo[] = [];
  let offset = PACK_HEADER_SIZE;
  for (let i = 0; i < frameCount; i++) {
    const compressedLength = b.readUInt32BE(o);
    const rawLength = b.readUInt32BE(o + 4);
    o += FRAME_RECORD;
    frames.push({ offset, compressedLength, rawLength });
    offset += compressedLength;
  }
  const chunkCount = b.readUInt32BE(o);
  o += 4;
  if (o + chunkCount * CHUNK_RECORD !== b.length) fail(`chunk count ${chunkCount} does not match the table length`);
  const chunks: ChunkEntry[] = [];
  for (let i = 0; i < chunkCount; i++) {
    const id = b.toString('hex', o, o + 32);
    const frame = b.readUInt32BE(o + 32);
    const off = b.readUInt32BE(o + 36);
    const length = b.readUInt32BE(o + 40);
    o += CHUNK_RECORD;
    const f = frames[frame];
    if (!f || off + length > f.rawLength) fail(`chunk ${id} lies outside frame ${frame}`);
    chunks.push({ id, frame, offset: off, length });
  }
  return { frames, chunks };
}

/** Total size of the frames area (they start at PACK_HEADER_SIZE). */
export function framesEnd(t: PackTable): number {
  const last = t.frames.at(-1);
  return last ? last.offset + last.compressedLength : PACK_HEADER_SIZE;
}

export function packTail(tableLength: number): Buffer {
  const t = Buffer.alloc(PACK_TAIL_SIZE);
  t.writeUInt32BE(tableLength, 0);
  PACK_END_MAGIC.copy(t, 4);
  return t;
}

/** Parses a whole pack's header and trailer (the frames are checked by the caller). */
export function decodePack(pack: Buffer, where: string): PackTable {
  if (pack.length < PACK_HEADER_SIZE + PACK_TAIL_SIZE + 8)
    throw new IntegrityError('pack is truncated', { key: where });
  if (!pack.subarray(0, 8).equals(PACK_MAGIC)) throw new IntegrityError('pack has a bad magic', { key: where });
  const version = pack.readUInt32BE(8);
  if (!supported(version)) throw new IntegrityError(`pack format version ${version} is not supported`, { key: where });
  if (!pack.subarray(pack.length - 8).equals(PACK_END_MAGIC))
    throw new IntegrityError('pack trailer is missing (truncated?)', { key: where });
  const tableLength = pack.readUInt32BE(pack.length - PACK_TAIL_SIZE);
  const tableStart = pack.length - PACK_TAIL_SIZE - tableLength;
  if (tableStart < PACK_HEADER_SIZE) throw new IntegrityError('pack table length is out of range', { key: where });
  const table = decodeTable(pack.subarray(tableStart, pack.length - PACK_TAIL_SIZE), where);
  if (framesEnd(table) !== tableStart)
    throw new IntegrityError('pack frames do not end where the table begins', { key: where });
  return table;
}

export interface PackIndexFile {
  packId: string;
  packSize: number;
  table: PackTable;
}

/** Index file: magic, version, pack id, pack size, the pack's table, then SHA-256 of everything before it. */
export function encodeIndex(packId: string, packSize: number, table: Buffer, version: FormatVersion): Buffer {
  const head = Buffer.alloc(16 + 32 + 8);
  INDEX_MAGIC.copy(head, 0);
  head.writeUInt32BE(version, 8);
  head.write(packId, 16, 32, 'hex');
  head.writeBigUInt64BE(BigInt(packSize), 48);
  const body = Buffer.concat([head, table]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

export function decodeIndex(b: Buffer, where: string): PackIndexFile {
  if (b.length < 16 + 32 + 8 + 8 + 32) throw new IntegrityError('pack index is truncated', { key: where });
  const body = b.subarray(0, b.length - 32);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(b.subarray(b.length - 32))
  ) {
    throw new IntegrityError('pack index checksum does not match', { key: where });
  }
  if (!b.subarray(0, 8).equals(INDEX_MAGIC)) throw new IntegrityError('pack index has a bad magic', { key: where });
  const version = b.readUInt32BE(8);
  if (!supported(version))
    throw new IntegrityError(`pack index format version ${version} is not supported`, { key: where });
  return {
    packId: b.toString('hex', 16, 48),
    packSize: Number(b.readBigUInt64BE(48)),
    table: decodeTable(body.subarray(56), where),
  };
}
