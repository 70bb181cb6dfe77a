// The chunk index of one timeline group: which pack holds a chunk, in a compact table of 29-57 bytes per chunk.
import { IntegrityError } from '../errors.ts';
import { KeyUnavailableError } from '../crypto/errors.ts';
import { decodeIndex } from './pack-format.ts';
import type { Repository } from './repository.ts';
import { INDEX_PREFIX, parseGroupKey, readObject } from './repository.ts';

/** Bytes of the chunk id kept in memory: 128 bits make a false "already stored" astronomically unlikely (2^-64 at 2^32 chunks). */
const KEY_BYTES = 16;

/**
 * Open addressing over typed arrays instead of a Map of hex strings (which costs ~150 bytes a chunk):
 * 16 key bytes + 4 value bytes per slot at a load factor between 0.35 and 0.7.
 */
export class ChunkIndex {
  private keys: Uint8Array;
  private vals: Uint32Array;
  private cap: number;
  private count = 0;
  readonly packs: string[] = [];
  private readonly packOrdinal = new Map<string, number>();

  constructor(initialCapacity = 1024) {
    this.cap = 1 << Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.keys = new Uint8Array(this.cap * KEY_BYTES);
    this.vals = new Uint32Array(this.cap);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table (the bound documented in docs/format.md). */
  get memoryBytes(): number {
    return this.keys.byteLength + this.vals.byteLength;
  }

  private ordinal(packId: string): number {
    let n = this.packOrdinal.get(packId);
    if (n === undefined) {
      n = this.packs.length;
      this.packs.push(packId);
      this.packOrdinal.set(packId, n);
    }
    return n;
  }

  private slot(id: Uint8Array): number {
    const mask = this.cap - 1;
    let i = ((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) & mask;
    for (;;) {
      if (this.vals[i] === 0) return i;
      const base = i * KEY_BYTES;
      let same = true;
      for (let k = 0; k < KEY_BYTES; k++) {
        if (this.keys[base + k] !== id[k]) {
          same = false;
          break;
        }
      }
      if (same) return i;
      i = (i + 1) & mask;
    }
  }

  /** Records that chunk `id` (32 raw bytes) is in `packId`; the first pack recorded wins. */
  add(id: Uint8Array, packId: string): void {
    if ((this.count + 1) / this.cap > 0.7) this.grow();
    const i = this.slot(id);
    if (this.vals[i] !== 0) return;
    this.keys.set(id.subarray(0, KEY_BYTES), i * KEY_BYTES);
    this.vals[i] = this.ordinal(packId) + 1;
    this.count++;
  }

  /** The pack holding chunk `id`, or undefined. */
  lookup(id: Uint8Array): string | undefined {
    const v = this.vals[this.slot(id)]!;
    return v === 0 ? undefined : this.packs[v - 1];
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const oldCap = this.cap;
    this.cap *= 2;
    this.keys = new Uint8Array(this.cap * KEY_BYTES);
    this.vals = new Uint32Array(this.cap);
    for (let j = 0; j < oldCap; j++) {
      const v = oldVals[j]!;
      if (v === 0) continue;
      const key = oldKeys.subarray(j * KEY_BYTES, (j + 1) * KEY_BYTES);
      const i = this.slot(key);
      this.keys.set(key, i * KEY_BYTES);
      this.vals[i] = v;
    }
  }
}

/** Loads every pack index file of a group, one at a time (memory: the table plus one index file). */
export async function loadGroupIndex(repo: Repository, group: string): Promise<ChunkIndex> {
  const index = new ChunkIndex();
  for await (const info of repo.store.list(`${INDEX_PREFIX}${group}/`)) {
    const parsed = parseGroupKey(INDEX_PREFIX, info.key);
    if (!parsed || parsed.group !== group) continue;
    if (repo.chunkIds?.mayMatch && !(await repo.chunkIds.mayMatch(info.key))) continue;
    let file;
    try {
      file = decodeIndex(await readObject(repo.store, info.key), info.key);
    } catch (err) {
      // An index that does not verify must not stop archiving: its chunks are stored again (verify reports it).
      // So must one sealed by an erased tenant's key (its chunks' ids are keyed: no other tenant could match them).
      if (err instanceof IntegrityError || err instanceof KeyUnavailableError) continue;
      throw err;
    }
    if (file.packId !== parsed.packId) continue;
    for (const c of file.table.chunks) index.add(Buffer.from(c.id, 'hex'), parsed.packId);
  }
  return index;
}

const cached = new WeakMap<Repository, Map<string, ChunkIndex>>();

/**
 * The group's index, loaded once per opened repository. A stale index only misses dedup against packs other
 * processes wrote since; a pack gc condemned meanwhile is caught by the archiver's check before its commit.
 */
export async function groupIndex(repo: Repository, group: string): Promise<ChunkIndex> {
  let groups = cached.get(repo);
  if (!groups) cached.set(repo, (groups = new Map()));
  let index = groups.get(group);
  if (!index) groups.set(group, (index = await loadGroupIndex(repo, group)));
  return index;
}

/** Forgets the cached index of a group (after gc condemned packs it still lists). */
export function forgetGroupIndex(repo: Repository, group: string): void {
  cached.get(repo)?.delete(group);
}
