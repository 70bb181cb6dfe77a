// An object store that seals every object it writes for one tenant and opens whatever it reads with the data key
// named in the object's header: the archive engine, holds and the audit log go through it unchanged. Sizes it
// reports (head, list) are plaintext sizes; keys/ (wrapped data keys) passes through as is.
import { Readable } from 'node:stream';
import { IntegrityError, StoreError } from '../errors.ts';
import { Sha256Tally } from '../store/sha256.ts';
import type { ByteRange, ObjectInfo, ObjectStore, ObjectVersion, PutOptions, PutResult } from '../store/store.ts';
import { KeyUnavailableError } from './errors.ts';
import { REPOSITORY_TENANT, type DataKey } from './data-key.ts';
import { KEYS_PREFIX, type Keyring } from './keyring.ts';
import {
  HEADER_SIZE,
  isEncrypted,
  newHeader,
  objectKey,
  openStream,
  parseHeader,
  plainSize,
  sealBuffer,
  sealedSize,
  sealStream,
  SEGMENT_SIZE,
  segmentOffset,
  type ObjectHeader,
} from './segments.ts';

export interface EncryptedStoreOptions {
  /** Whose key seals what this store writes (default: the repository's own tenant). */
  tenant?: string;
  /**
   * Read objects without the STRATAEN header as they are: only for a repository written before encryption was
   * turned on. Off, such an object is refused (someone with write access could otherwise plant plaintext).
   */
  acceptPlaintext?: boolean;
  /** Whose key seals a namespace's workflows (default: the namespace is the tenant). */
  tenantOf?: (namespace: string) => string;
}

/** Headers of objects read by range (a range does not include the header); objects are mostly immutable. */
class HeaderCache {
  private readonly map = new Map<string, ObjectHeader>();
  get(key: string) {
    return this.map.get(key);
  }
  set(key: string, h: ObjectHeader) {
    if (this.map.size >= 10_000) this.map.clear();
    this.map.set(key, h);
  }
  delete(key: string) {
    this.map.delete(key);
  }
}

const OPTIONAL_METHODS = [
  'setStorageClass',
  'restore',
  'setLegalHold',
  'setRetention',
  'listVersions',
  'listUnfinished',
  'removeUnfinished',
] as const;

export class EncryptedStore implements ObjectStore {
  readonly url: string;
  readonly tenant: string;

  constructor(
    readonly inner: ObjectStore,
    readonly keyring: Keyring,
    private readonly opts: EncryptedStoreOptions = {},
    private readonly headers = new HeaderCache(),
  ) {
    this.url = inner.url;
    this.tenant = opts.tenant ?? REPOSITORY_TENANT;
    // The inner store's optional capabilities (storage classes, Object Lock, versions…) act on sealed objects as
    // they are; offering exactly those keeps capability discovery (store.ts) truthful.
    const self = this as unknown as Record<string, unknown>;
    const from = inner as unknown as Record<string, unknown>;
    for (const m of OPTIONAL_METHODS) {
      if (typeof from[m] === 'function') self[m] = (from[m] as (...a: unknown[]) => unknown).bind(inner);
    }
    if (typeof self.listVersions === 'function') {
      const versions = self.listVersions as (prefix: string) => AsyncIterable<ObjectVersion>;
      self.listVersions = async function* (this: EncryptedStore, prefix: string) {
        for await (const v of versions(prefix))
          yield v.isDeleteMarker ? v : { ...v, size: this.plainSizeOf(v.key, v.size) };
      }.bind(this);
    }
  }

  /** The same store, sealing what it writes with `tenant`'s data key. */
  forTenant(tenant: string): EncryptedStore {
    return new EncryptedStore(this.inner, this.keyring, { ...this.opts, tenant }, this.headers);
  }

  /** The same keys over another store holding this repository's objects as stored (a replica read through). */
  over(inner: ObjectStore): EncryptedStore {
    return new EncryptedStore(inner, this.keyring, this.opts);
  }

  /** The tenant a namespace's archived workflows belong to. */
  tenantOfNamespace(namespace: string): string {
    return this.opts.tenantOf ? this.opts.tenantOf(namespace) : namespace;
  }

  /** The data key this store seals with (created on first use). */
  writerKey(): Promise<DataKey> {
    return this.keyring.forTenant(this.tenant);
  }

  private passThrough(key: string): boolean {
    return key.startsWith(KEYS_PREFIX);
  }

  async put(key: string, body: Readable | Uint8Array, opts: PutOptions = {}): Promise<PutResult> {
    if (this.passThrough(key)) return this.inner.put(key, body, opts);
    const dk = await this.writerKey();
    const header = newHeader(dk.id);
    const okey = objectKey(dk.encryptionKey, header, key);
    const { sha256, contentLength, ...rest } = opts;
    let result: PutResult;
    let digest: { sha256: string; size: number };
    if (body instanceof Uint8Array) {
      const tally = new Sha256Tally();
      tally.add(body);
      digest = tally.digest();
      if (sha256 !== undefined && sha256.toLowerCase() !== digest.sha256)
        throw new IntegrityError(`SHA-256 mismatch: expected ${sha256}, received ${digest.sha256}`, { key });
      const sealed = sealBuffer(body, okey, header);
      this.headers.delete(key);
      result = await this.inner.put(key, sealed, { ...rest, contentLength: sealed.length });
    } else {
      const tally = new Sha256Tally();
      const checked = async function* () {
        for await (const part of body) {
          const b = typeof part === 'string' ? Buffer.from(part) : (part as Buffer);
          tally.add(b);
          yield b;
        }
        // Failing the stream before its end makes the store discard the write (the old object stays).
        const d = tally.digest();
        if (sha256 !== undefined && sha256.toLowerCase() !== d.sha256)
          throw new IntegrityError(`SHA-256 mismatch: expected ${sha256}, received ${d.sha256}`, { key });
      };
      this.headers.delete(key);
      try {
        result = await this.inner.put(key, Readable.from(sealStream(checked(), okey, header)), {
          ...rest,
          ...(contentLength !== undefined && { contentLength: sealedSize(contentLength) }),
        });
      } catch (err) {
        const d = tally.digest();
        if (sha256 !== undefined && sha256.toLowerCase() !== d.sha256)
          throw new IntegrityError(`SHA-256 mismatch: expected ${sha256}, received ${d.sha256}`, { key });
        throw err;
      }
      digest = tally.digest();
    }
    this.headers.set(key, header);
    return { ...result, sha256: digest.sha256, size: digest.size };
  }

  /**
   * The content of an object of this repository from its stored bytes, read raw (from `inner`, or from a copy of it
   * elsewhere: a replica), opened and authenticated with the key its header names; wrapped keys pass as they are.
   */
  async unseal(key: string, stored: Buffer): Promise<Buffer> {
    if (this.passThrough(key)) return stored;
    if (!isEncrypted(stored)) {
      this.refusePlaintext(key);
      return stored;
    }
    const okey = await this.keyFor(parseHeader(stored, key), key);
    const parts: Buffer[] = [];
    for await (const p of openStream(once(stored.subarray(HEADER_SIZE)), okey, {
      firstSegment: 0,
      toEnd: true,
      key,
    }))
      parts.push(p);
    return Buffer.concat(parts);
  }

  /** The id of the data key that sealed the object at `key` (from its header), undefined for a plaintext one. */
  async sealedWith(key: string): Promise<Buffer | undefined> {
    return (await this.header(key))?.keyId;
  }

  /** The data key that sealed the object at `key` (its header, cached after a read). */
  async sealerOf(key: string): Promise<DataKey> {
    const h = await this.header(key);
    if (!h) return this.writerKey();
    return this.keyring.byKeyId(h.keyId, key);
  }

  private async header(key: string): Promise<ObjectHeader | undefined> {
    const cached = this.headers.get(key);
    if (cached) return cached;
    const bytes = await readAll(await this.inner.get(key, { start: 0, end: HEADER_SIZE - 1 }));
    if (!isEncrypted(bytes)) {
      this.refusePlaintext(key);
      return undefined;
    }
    const h = parseHeader(bytes, key);
    this.headers.set(key, h);
    return h;
  }

  private refusePlaintext(key: string): void {
    if (!this.opts.acceptPlaintext)
      throw new IntegrityError(
        'object is not encrypted, in a store configured for encryption (set encryption.acceptPlaintext to read objects written before encryption was turned on)',
        { key },
      );
  }

  private async keyFor(h: ObjectHeader, key: string): Promise<Buffer> {
    try {
      const dk = await this.keyring.byKeyId(h.keyId, key);
      return objectKey(dk.encryptionKey, h, key);
    } catch (err) {
      // Name the object being read, not only the key that could not be had.
      if (err instanceof KeyUnavailableError && err.location?.key !== key)
        throw new KeyUnavailableError(err.message, { key }, { cause: err });
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    if (this.passThrough(key)) return this.inner.get(key, range);
    let plain: AsyncGenerator<Buffer>;
    if (!range) {
      const it = (await this.inner.get(key))[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const { head, rest } = await takePrefix(it, HEADER_SIZE);
      if (!isEncrypted(head)) {
        this.refusePlaintext(key);
        plain = concatIter([head], rest);
      } else {
        const h = parseHeader(head, key);
        this.headers.set(key, h);
        let okey: Buffer;
        try {
          okey = await this.keyFor(h, key);
        } catch (err) {
          await it.return?.();
          throw err;
        }
        plain = openStream(concatIter([head.subarray(HEADER_SIZE)], rest), okey, {
          firstSegment: 0,
          toEnd: true,
          key,
        });
      }
    } else {
      const h = await this.header(key);
      if (!h) return this.inner.get(key, range);
      const okey = await this.keyFor(h, key);
      const first = Math.floor(range.start / SEGMENT_SIZE);
      const last = range.end === undefined ? undefined : Math.floor(range.end / SEGMENT_SIZE);
      const inner = await this.inner.get(key, {
        start: segmentOffset(first),
        ...(last !== undefined && { end: segmentOffset(last + 1) - 1 }),
      });
      const skip = range.start - first * SEGMENT_SIZE;
      const opened = openStream(inner, okey, {
        firstSegment: first,
        toEnd: range.end === undefined,
        key,
        skip,
        ...(range.end !== undefined && { take: range.end - range.start + 1 }),
      });
      plain = nonEmptyRange(opened, key, range);
    }
    // Open the first segment now, so a wrong key or a bad range fails the get itself, not the first read.
    const first = await plain.next();
    return Readable.from(concatIter(first.done ? [] : [first.value], plain));
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.inner.head(key);
    return info && this.plainInfo(info);
  }

  private plainSizeOf(key: string, size: number): number {
    return this.passThrough(key) ? size : (plainSize(size) ?? size);
  }

  private plainInfo(info: ObjectInfo): ObjectInfo {
    return { ...info, size: this.plainSizeOf(info.key, info.size) };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for await (const o of this.inner.list(prefix)) yield this.plainInfo(o);
  }

  async delete(keys: string[]): Promise<void> {
    for (const k of keys) this.headers.delete(k);
    return this.inner.delete(keys);
  }
}

/**
 * The store as it holds the bytes (an encrypting store's inner store, else the store itself): for moving objects
 * elsewhere as they are (a replica, a vault), sealed, never opened and sealed again.
 */
export function storeAsStored(store: ObjectStore): ObjectStore {
  return store instanceof EncryptedStore ? store.inner : store;
}

/** The content of an object's stored bytes: opened and authenticated for an encrypting store, else as they are. */
export function contentOfStored(store: ObjectStore, key: string, stored: Buffer): Promise<Buffer> {
  return store instanceof EncryptedStore ? store.unseal(key, stored) : Promise.resolve(stored);
}

/** Range reads that start at or past the end of the object fail as the inner store's would. */
async function* nonEmptyRange(opened: AsyncGenerator<Buffer>, key: string, range: ByteRange): AsyncGenerator<Buffer> {
  let any = false;
  for await (const b of opened) {
    any = true;
    yield b;
  }
  if (!any && (range.end === undefined || range.end >= range.start))
    throw new StoreError(`range ${range.start}-${range.end ?? ''} is past the end of the object`, { key });
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** Pulls at least `n` bytes (or all there is) off an iterator. */
async function takePrefix(
  it: AsyncIterator<Buffer>,
  n: number,
): Promise<{ head: Buffer; rest: AsyncIterator<Buffer> }> {
  const parts: Buffer[] = [];
  let size = 0;
  while (size < n) {
    const r = await it.next();
    if (r.done) break;
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    parts.push(b);
    size += b.length;
  }
  return { head: Buffer.concat(parts), rest: it };
}

async function* concatIter(
  first: Buffer[],
  rest: AsyncIterator<Buffer> | AsyncIterable<Buffer>,
): AsyncGenerator<Buffer> {
  for (const b of first) if (b.length > 0) yield b;
  const it = Symbol.asyncIterator in rest ? rest[Symbol.asyncIterator]() : rest;
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}
