// Reads chunks back out of packs: the pack's table from its index (or the pack trailer), then one frame by range.
import { createHash } from 'node:crypto';
import { IntegrityError, NotFoundError } from '../errors.ts';
import { decodeFrame } from './frame-codec.ts';
import { decodeIndex, decodeTable, type ChunkEntry, type PackTable } from './pack-format.ts';
import { indexKey, packKey, readObject, type Repository } from './repository.ts';

interface LoadedPack {
  table: PackTable;
  byId: Map<string, ChunkEntry>;
}

/** Caches a few pack tables and decompressed frames: consecutive chunks of a file usually share a frame. */
export class PackReader {
  private readonly packs = new Map<string, LoadedPack>();
  private readonly frames = new Map<string, Buffer>();

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
      const file = decodeIndex(await readObject(this.repo.store, indexKey(group, packId)), indexKey(group, packId));
      if (file.packId !== packId)
        throw new IntegrityError(`index names pack ${file.packId}`, { key: indexKey(group, packId) });
      return file.table;
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    // No index (lost, or condemned by gc): the pack's own trailer holds the same table.
    const key = packKey(group, packId);
    const info = await this.repo.store.head(key);
    if (!info) throw new NotFoundError('pack is missing', { key });
    const tail = await readObject(this.repo.store, key, { start: info.size - 12 });
    const tableLength = tail.readUInt32BE(0);
    if (tableLength + 12 + 16 > info.size) throw new IntegrityError('pack table length is out of range', { key });
    const table = await readObject(this.repo.store, key, { start: info.size - 12 - tableLength, end: info.size - 13 });
    return decodeTable(table, key);
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
    if (createHash('sha256').update(data).digest('hex') !== id) {
      throw new IntegrityError(`chunk ${id} does not match its hash`, { key: where });
    }
    return data;
  }
}
