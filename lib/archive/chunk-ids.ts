// Chunk ids: SHA-256 of the chunk in formats 1 and 2; in format 3, HMAC-SHA256 under the key of the tenant whose
// data key sealed the pack, so dedup stays inside a tenant and nobody without the key can test for known content.
import { createHash } from 'node:crypto';
import { IntegrityError, type ErrorLocation } from '../errors.ts';

export interface ChunkIds {
  /** The id a chunk gets when this repository view writes it (raw 32 bytes). */
  of(data: Uint8Array): Buffer;
  /** The id function for chunks read from the pack at `key` (the tenant that wrote it may be another). */
  forPack(key: string): Promise<(data: Uint8Array) => Buffer>;
  /**
   * False for an object another tenant wrote (its chunk ids can never match this view's): dedup skips its index
   * without reading it. Absent: every object may match.
   */
  mayMatch?(key: string): Promise<boolean>;
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();

export const CONTENT_HASH_IDS: ChunkIds = {
  of: sha256,
  forPack: async () => sha256,
};

/** A chunk read back must have the id it is stored under. */
export function checkChunkId(data: Uint8Array, id: string, idOf: (data: Uint8Array) => Buffer, where: ErrorLocation) {
  const actual = idOf(data).toString('hex');
  if (actual !== id) throw new IntegrityError(`chunk content hashes to ${actual}, not its id ${id}`, where);
}
