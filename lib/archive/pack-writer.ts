// Groups new chunks into zstd-compressed frames and packs, and uploads each pack then its index (data before metadata).
import { createHash } from 'node:crypto';
import { AlreadyExistsError } from '../errors.ts';
import type { ChunkIndex } from './chunk-index.ts';
import { sharedEncoder, type FrameEncoder } from './frame-encoder.ts';
import {
  encodeIndex,
  encodeTable,
  packHeader,
  packTail,
  PACK_HEADER_SIZE,
  type ChunkEntry,
  type FrameInfo,
} from './pack-format.ts';
import { indexKey, packKey, type Repository } from './repository.ts';

/** A pack being filled; `id` is known once it is uploaded (it is the hash of the pack's bytes). */
export interface PackRef {
  id?: string;
}

export interface PackWriterStats {
  packs: number;
  storedBytes: number;
}

/** Frames still compressing that the seal decision does not wait for (see settledSizeLagging). */
const SEAL_LAG = 2;

export class PackWriter {
  /** The open pack's frames, compressing (in order); their sizes are known once they are done. */
  private frames: Array<Promise<Buffer>> = [];
  private frameRawLengths: number[] = [];
  /** The open pack's first frames whose compressed size is counted, in order, and their total. */
  private settledFrames = 0;
  private settledSize = 0;
  /** Frames of any pack still compressing, oldest first, to wait on when too many are in flight. */
  private compressing: Array<Promise<unknown>> = [];
  /** The open frame's raw bytes; handed to the encoder when the frame closes. */
  private frameBuf: Buffer = Buffer.alloc(0);
  /** Frame buffers the encoder gave back, reused so memory stays at (capacity + 1) frames. */
  private spares: Buffer[] = [];
  private frameRaw = 0;
  private chunks: ChunkEntry[] = [];
  /** Chunks of the open pack, so a chunk repeated within the run is stored once. */
  private pending = new Map<string, PackRef>();
  private ref: PackRef = {};
  private inflight: Promise<void> | undefined;
  readonly written: string[] = [];
  readonly stats: PackWriterStats = { packs: 0, storedBytes: 0 };

  constructor(
    private readonly repo: Repository,
    private readonly group: string,
    private readonly index: ChunkIndex,
    /** zstd level for this run; frames describe themselves, so it may differ from pack to pack. */
    private readonly level = repo.config.pack.compressionLevel,
    private readonly encoder: FrameEncoder = sharedEncoder(),
  ) {}

  /** The pack a chunk is already in or on its way into, if any. */
  find(id: Buffer, idHex: string): PackRef | undefined {
    const packId = this.index.lookup(id);
    if (packId) return { id: packId };
    return this.pending.get(idHex);
  }

  /** Adds a new chunk (copied before this returns, so `data` may be a view the caller reuses); may upload a full pack. */
  async add(idHex: string, data: Uint8Array): Promise<PackRef> {
    const ref = this.ref;
    this.pending.set(idHex, ref);
    this.chunks.push({ id: idHex, frame: this.frames.length, offset: this.frameRaw, length: data.length });
    if (this.frameRaw + data.length > this.frameBuf.length) {
      const grown = this.frameBuffer(
        Math.max(this.repo.config.pack.frameSize + this.repo.config.chunker.maxSize, this.frameRaw + data.length),
      );
      this.frameBuf.copy(grown, 0, 0, this.frameRaw);
      this.frameBuf = grown;
    }
    this.frameBuf.set(data, this.frameRaw);
    this.frameRaw += data.length;
    if (this.frameRaw >= this.repo.config.pack.frameSize) {
      await this.closeFrame();
      if ((await this.settledSizeLagging()) >= this.repo.config.pack.targetSize) await this.seal();
    }
    return ref;
  }

  /**
   * Compressed size of the open pack's frames but the newest SEAL_LAG. Sealing on this rather than on whichever
   * frames happen to be done keeps pack contents, and so pack ids, independent of thread count and timing.
   */
  private async settledSizeLagging(): Promise<number> {
    while (this.settledFrames < this.frames.length - SEAL_LAG) {
      this.settledSize += (await this.frames[this.settledFrames]!).length;
      this.settledFrames++;
    }
    return this.settledSize;
  }

  /** A spare frame buffer if one is large enough, else a new one outside Buffer's shared pool (it moves threads). */
  private frameBuffer(size: number): Buffer {
    const spare = this.spares.pop();
    return spare && spare.length >= size ? spare : Buffer.allocUnsafeSlow(size);
  }

  /** Hands the open frame to the encoder once one is free. */
  private async closeFrame(): Promise<void> {
    if (this.frameRaw === 0) return;
    // The frame waits here, not in an encoder's queue, until an encoder is free: its buffer then comes back for
    // the next frame while this one encodes, so two frame buffers are alive per encoder instead of three.
    while (this.compressing.length >= this.encoder.capacity) await this.compressing.shift();
    const raw = this.frameBuf.subarray(0, this.frameRaw);
    this.frameBuf = Buffer.alloc(0);
    const frame = this.encoder.encode(raw, this.level, this.repo.config.version).then(({ payload, spare }) => {
      if (this.spares.length < this.encoder.capacity) this.spares.push(spare);
      return payload;
    });
    frame.catch(() => {}); // surfaced where it is awaited (seal or below)
    this.frames.push(frame);
    this.frameRawLengths.push(this.frameRaw);
    this.frameRaw = 0;
    this.compressing.push(frame);
  }

  /** Seals the open pack and starts its upload; at most one upload runs while the next pack fills. */
  private async seal(): Promise<void> {
    await this.closeFrame();
    if (this.chunks.length === 0) return;
    const frames = await Promise.all(this.frames);
    const frameInfos: FrameInfo[] = [];
    let offset = PACK_HEADER_SIZE;
    for (const [k, z] of frames.entries()) {
      frameInfos.push({ offset, compressedLength: z.length, rawLength: this.frameRawLengths[k]! });
      offset += z.length;
    }
    const table = encodeTable({ frames: frameInfos, chunks: this.chunks });
    const pack = Buffer.concat([packHeader(this.repo.config.version), ...frames, table, packTail(table.length)]);
    const packId = createHash('sha256').update(pack).digest('hex');
    this.ref.id = packId;
    // Later chunks may dedup against this pack before its upload ends: the manifest is written only after flush().
    for (const c of this.chunks) this.index.add(Buffer.from(c.id, 'hex'), packId);
    this.written.push(packId);
    this.stats.packs++;
    this.stats.storedBytes += pack.length;
    this.frames = [];
    this.frameRawLengths = [];
    this.settledFrames = 0;
    this.settledSize = 0;
    this.compressing = [];
    this.chunks = [];
    this.pending = new Map();
    this.ref = {};
    await this.inflight;
    this.inflight = this.upload(packId, pack, table);
    this.inflight.catch(() => {}); // surfaced by the next await of it, not as an unhandled rejection
  }

  /** The pack first, then its index; both create-only and content-addressed. */
  private async upload(packId: string, pack: Buffer, table: Buffer): Promise<void> {
    await putOnce(this.repo, packKey(this.group, packId), pack, packId);
    await putOnce(
      this.repo,
      indexKey(this.group, packId),
      encodeIndex(packId, pack.length, table, this.repo.config.version),
    );
  }

  /** Seals the open pack (if any) and waits until every pack and index is stored. */
  async flush(): Promise<void> {
    await this.seal();
    await this.inflight;
    this.inflight = undefined;
  }
}

/** Content-addressed objects are identical when the key exists, so losing a create race is success. */
async function putOnce(repo: Repository, key: string, body: Buffer, sha256?: string): Promise<void> {
  try {
    await repo.store.put(key, body, {
      ifNoneMatch: true,
      contentLength: body.length,
      contentType: 'application/octet-stream',
      sha256: sha256 ?? createHash('sha256').update(body).digest('hex'),
    });
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
}
