// Reads chunks back out of packs: the pack's table from its index (or the pack's tail), then one frame by range.
import { describeError, IntegrityError, NotFoundError } from '../errors.ts';
import { decodeFrame } from './frame-codec.ts';
import {
  decodeIndex,
  decodeTable,
  PACK_END_MAGIC,
  PACK_HEADER_SIZE,
  PACK_TAIL_SIZE,
  type ChunkEntry,
  type PackTable,
} from './pack-format.ts';
import { chunkIdsOf, indexKey, packKey, readObject, type Repository } from './repository.ts';
import { checkChunkId } from './chunk-ids.ts';

interface LoadedPack {
  table: PackTable;
  byId: Map<string, ChunkEntry>;
}

/**
 * The pack's table from its own tail (two range reads): what its index file copies. Throws IntegrityError when
 * the tail does not parse (a truncated pack), NotFoundError when the pack is gone.
 */
export async function readTableFromPack(repo: Repository, group: string, packId: string): Promise<PackTable> {
  const key = packKey(group, packId);
  const info = await repo.store.head(key);
  if (!info) throw new NotFoundError('pack is missing', { key });
  if (info.size < PACK_HEADER_SIZE + PACK_TAIL_SIZE + 8) throw new IntegrityError('pack is truncated', { key });
  const tail = await readObject(repo.store, key, { start: info.size - PACK_TAIL_SIZE });
  if (!tail.subarray(4).equals(PACK_END_MAGIC))
    throw new IntegrityError('pack trailer is missing (truncated?)', { key });
  const tableLength = tail.readUInt32BE(0);
  if (tableLength + PACK_TAIL_SIZE + PACK_HEADER_SIZE > info.size)
    throw new IntegrityError('pack table length is out of range', { key });
  const table = await readObject(repo.store, key, {
    start: info.size - PACK_TAIL_SIZE - tableLength,
    end: info.size - PACK_TAIL_SIZE - 1,
  });
  return decodeTable(table, key);
}

/** The pack's table from its index file; NotFoundError when there is none, IntegrityError when it does not verify. */
export async function readTableFromIndex(repo: Repository, group: string, packId: string): Promise<PackTable> {
  const key = indexKey(group, packId);
  const file = decodeIndex(await readObject(repo.store, key), key);
  if (file.packId !== packId) throw new IntegrityError(`index names pack ${file.packId}`, { key });
  return file.table;
}

/** Caches a few pack tables and decompressed frames: consecutive chunks of a file usually share a frame. */
export class PackReader {
  private readonly packs = new Map<string, LoadedPack>();
  private readonly frames = new Map<string, Buffer>();
  /** Index files that did not verify and were read around (from the pack's tail): said once each. */
  readonly warnings: string[] = [];

  constructor(
    private readonly repo: Repository,
    private readonly maxFrames = 4,
    private readonly maxPacks = 64,
  ) {}

  async table(group: string, packId: string): Promise<LoadedPack> {
    const key = `${group}/${packId}`;
    const hit = this.packs.get(key);
    if (hit) return hit;
    const table = await this.loadTable(group, packId);
    const loaded = { table, byId: new Map(table.chunks.map((c) => [c.id, c])) };
    if (this.packs.size >= this.maxPacks) this.packs.delete(this.packs.keys().next().value!);
    this.packs.set(key, loaded);
    return loaded;
  }

  private async loadTable(group: string, packId: string): Promise<PackTable> {
    try {
      return await readTableFromIndex(this.repo, group, packId);
    } catch (err) {
      // No index (lost, or condemned by gc), or one that does not verify: the pack's own tail holds the same
      // table, and every chunk read from it is checked against its hash anyway.
      if (err instanceof IntegrityError) {
        const warning = `${describeError(err)}; read the table from the pack's tail instead`;
        if (!this.warnings.includes(warning)) this.warnings.push(warning);
      } else if (!(err instanceof NotFoundError)) throw err;
    }
    return readTableFromPack(this.repo, group, packId);
  }

  /** The bytes of chunk `id`, checked against the id. */
  async chunk(group: string, packId: string, id: string): Promise<Buffer> {
    const { table, byId } = await this.table(group, packId);
    const where = packKey(group, packId);
    const c = byId.get(id);
    if (!c) throw new IntegrityError(`chunk ${id} is not in the pack`, { key: where });
    const frameKey = `${group}/${packId}/${c.frame}`;
    let frame = this.frames.get(frameKey);
    if (!frame) {
      const f = table.frames[c.frame]!;
      const z = await readObject(this.repo.store, where, { start: f.offset, end: f.offset + f.compressedLength - 1 });
      try {
        frame = decodeFrame(z, f.rawLength);
      } catch (err) {
        throw new IntegrityError(`frame ${c.frame}: ${(err as Error).message}`, { key: where });
      }
      if (this.frames.size >= this.maxFrames) this.frames.delete(this.frames.keys().next().value!);
      this.frames.set(frameKey, frame);
    }
    const data = frame.subarray(c.offset, c.offset + c.length);
    checkChunkId(data, id, await chunkIdsOf(this.repo).forPack(where), { key: where });
    return data;
  }
}
