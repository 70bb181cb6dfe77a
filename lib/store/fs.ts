// The local-directory object store (the embedded default): crash-safe atomic writes, metadata in sidecars.
//
// Semantics that differ from S3, on purpose:
// - No versions and no storage classes: it does not offer those capabilities (store.ts), so the tier engine only
//   records tiers here and never pretends a read must wait for a restore. A put with any class but STANDARD is
//   refused rather than silently stored hot.
// - A key cannot be both an object and a prefix of other keys ("a" and "a/b"): the second put fails.
// - Holds and retention (the ObjectLock capability) are recorded in the sidecar and enforced by this adapter:
//   delete() refuses a protected object. Because there are no versions, put() over a held or retained object is
//   refused too (on S3 it would add a version and keep the protected one). Anyone with the directory can still
//   remove files: only S3 Object Lock binds administrators.
// - A crash between linking a create-only (ifNoneMatch) object and writing its sidecar leaves the object with
//   default metadata (STANDARD, none); readers detect stale sidecars by inode and size.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { AlreadyExistsError, NotFoundError, StoreError } from '../errors.ts';
import { checkKey, checkTempFilePath, metaName, tempName, walkSorted, walkTempFiles } from './fs-layout.ts';
import { checkDigest, Sha256Tally } from './sha256.ts';
import type {
  ByteRange,
  ObjectInfo,
  ObjectLock,
  ObjectStore,
  PutOptions,
  PutResult,
  RetentionMode,
  UnfinishedWrite,
  UnfinishedWrites,
} from './store.ts';

/** What the sidecar records; `ino`/`size` tie it to one generation of the data file. */
interface Sidecar {
  v: 1;
  ino: number;
  size: number;
  sha256?: string;
  contentType?: string;
  metadata?: Record<string, string>;
  legalHold?: boolean;
  retention?: { mode: RetentionMode; until: string };
}

export class FileSystemStore implements ObjectStore, ObjectLock, UnfinishedWrites {
  readonly url: string;

  readonly root: string;

  constructor(
    root: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.root = resolve(root);
    this.url = pathToFileURL(this.root).href;
  }

  async put(key: string, body: Readable | Uint8Array, opts: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    if (opts.storageClass && opts.storageClass !== 'STANDARD') {
      throw new StoreError(`a directory store has no storage classes (asked for ${opts.storageClass})`, { key });
    }
    const path = this.pathOf(key);
    const existing = await this.readState(key, path);
    if (existing && opts.ifNoneMatch) throw new AlreadyExistsError('object already exists', { key });
    if (existing) this.refuseIfProtected(key, existing.meta, 'overwrite');

    const { tmp, handle } = await this.openTemp(key, path);
    let committed = false;
    let stagedSidecar: string | undefined;
    try {
      const { size, sha256 } = await this.writeTemp(key, handle, body);
      checkDigest({ sha256: opts.sha256, size: opts.contentLength }, { size, sha256 }, 'put', { key });
      const ino = (await handle.stat()).ino;
      const meta: Sidecar = {
        v: 1,
        ino,
        size,
        sha256,
        contentType: opts.contentType,
        metadata: opts.metadata && Object.keys(opts.metadata).length ? opts.metadata : undefined,
        ...(opts.retention && {
          retention: { mode: opts.retention.mode, until: opts.retention.until.toISOString() },
        }),
      };
      // Only what a reader needs back gets a sidecar (metadata, retention): most objects (refs, manifests, audit
      // records, packs) have none, which saves a file and its fsync per put. The content type and digest are not
      // read back from a directory store.
      const needsSidecar = meta.metadata !== undefined || meta.retention !== undefined;
      // The data and its sidecar reach the disk at once (two fsyncs side by side, not one after the other: a put
      // waits on two flushes instead of three); both are renamed into place only after both are durable.
      const sidecar = needsSidecar ? this.stageSidecar(path, meta) : Promise.resolve(undefined);
      const [synced, staged] = await Promise.allSettled([this.syncAndClose(key, handle), sidecar]);
      if (staged.status === 'fulfilled') stagedSidecar = staged.value;
      if (synced.status === 'rejected') throw synced.reason;
      if (staged.status === 'rejected') throw staged.reason;
      if (opts.ifNoneMatch) {
        // link() fails with EEXIST if anyone else created the key first: exactly one concurrent writer wins.
        try {
          await link(tmp, path);
        } catch (err) {
          const isDir = await stat(path).then(
            (st) => st.isDirectory(),
            () => false,
          );
          throw this.mapError(err, key, 'create', (code) =>
            code !== 'EEXIST'
              ? undefined
              : isDir
                ? new StoreError('the key is a prefix of other keys; a directory store cannot hold both', { key })
                : new AlreadyExistsError('object already exists', { key }),
          );
        }
        committed = true;
        await unlink(tmp);
        await this.commitSidecar(path, stagedSidecar);
        stagedSidecar = undefined;
      } else {
        // Sidecar first: a reader then never pairs the new data with the previous object's metadata.
        await this.commitSidecar(path, stagedSidecar);
        stagedSidecar = undefined;
        try {
          await rename(tmp, path);
        } catch (err) {
          throw this.mapError(err, key, 'write');
        }
        committed = true;
      }
      await syncDir(dirname(path));
      return { key, etag: `"${sha256}"`, sha256, size };
    } finally {
      if (stagedSidecar) await unlink(stagedSidecar).catch(() => {});
      if (!committed) {
        await handle.close().catch(() => {});
        await unlink(tmp).catch(() => {});
      }
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    checkKey(key);
    const path = this.pathOf(key);
    const state = await this.readState(key, path);
    if (!state) throw new NotFoundError('no such object', { key });
    let start = 0;
    let end = state.size - 1;
    if (range) {
      if (range.start < 0 || range.start >= Math.max(state.size, 1) || (range.end ?? end) < range.start) {
        throw new StoreError(`range ${range.start}-${range.end ?? ''} is outside the object (${state.size} bytes)`, {
          key,
        });
      }
      start = range.start;
      end = Math.min(range.end ?? end, end);
    }
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      // Deleted since readState: absent, as S3 would say, not an I/O failure.
      throw this.mapError(err, key, 'read', (code) =>
        code === 'ENOENT' ? new NotFoundError('no such object', { key }) : undefined,
      );
    }
    if (state.size === 0) return handle.createReadStream({ autoClose: true });
    return handle.createReadStream({ autoClose: true, start, end });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    checkKey(key);
    const state = await this.readState(key, this.pathOf(key));
    return state ? this.infoOf(key, state.size, state.mtime, state.meta) : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for await (const entry of walkSorted(this.root, prefix)) {
      let st;
      try {
        st = await stat(entry.path);
      } catch {
        continue; // deleted while we walked
      }
      const sidecar = entry.siblings.has(metaName(entry.key.slice(entry.key.lastIndexOf('/') + 1)))
        ? await readSidecar(entry.path)
        : undefined;
      const meta = sidecar && sidecar.ino === st.ino && sidecar.size === st.size ? sidecar : undefined;
      yield this.infoOf(entry.key, st.size, st.mtime, meta ?? defaultSidecar(st.ino, st.size));
    }
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach(checkKey);
    const refused: string[] = [];
    for (const key of keys) {
      const path = this.pathOf(key);
      const state = await this.readState(key, path);
      if (!state) continue;
      const why = this.protection(state.meta);
      if (why) {
        refused.push(`${key} (${why})`);
        continue;
      }
      try {
        await unlink(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.mapError(err, key, 'delete');
      }
      await unlink(sidecarPath(path)).catch(() => {});
      await this.pruneEmptyDirs(dirname(path));
    }
    if (refused.length) {
      throw new StoreError(`cannot delete protected object(s): ${refused.join(', ')}`, { key: refused[0] });
    }
  }

  /** Temp files of writes that never finished (a killed writer's), including sidecar temp files. */
  async *listUnfinished(prefix: string): AsyncIterable<UnfinishedWrite> {
    for await (const t of walkTempFiles(this.root, prefix)) {
      let st;
      try {
        st = await stat(join(this.root, ...t.relPath.split('/')));
      } catch {
        continue; // finished (renamed) or removed while we walked
      }
      yield { key: t.key, id: t.relPath, size: st.size, lastModified: st.mtime };
    }
  }

  /** Unlinks each temp file unless it was written to after it was listed: then its writer is still at work. */
  async removeUnfinished(writes: UnfinishedWrite[]): Promise<UnfinishedWrite[]> {
    const removed: UnfinishedWrite[] = [];
    for (const w of writes) {
      checkTempFilePath(w.id);
      const path = join(this.root, ...w.id.split('/'));
      try {
        if ((await stat(path)).mtime.getTime() > w.lastModified.getTime()) continue;
        await unlink(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw this.mapError(err, w.id, 'remove unfinished write');
      }
      removed.push(w);
      await this.pruneEmptyDirs(dirname(path));
    }
    return removed;
  }

  async setLegalHold(key: string, on: boolean): Promise<void> {
    await this.updateSidecar(key, (meta) => {
      meta.legalHold = on;
    });
  }

  async setRetention(key: string, mode: RetentionMode, until: Date): Promise<void> {
    await this.updateSidecar(key, (meta) => {
      const current = meta.retention;
      if (current?.mode === 'COMPLIANCE' && new Date(current.until) > this.now()) {
        if (mode !== 'COMPLIANCE' || until < new Date(current.until)) {
          throw new StoreError(`COMPLIANCE retention until ${current.until} cannot be shortened or weakened`, {
            key,
          });
        }
      }
      meta.retention = { mode, until: until.toISOString() };
    });
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  private where(key: string): string {
    return `${this.url.replace(/\/$/, '')}/${key}`;
  }

  /** Current data file and its (validated) sidecar, or undefined when the object does not exist. */
  private async readState(
    key: string,
    path: string,
  ): Promise<{ size: number; mtime: Date; meta: Sidecar } | undefined> {
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw this.mapError(err, key, 'stat');
    }
    if (!st.isFile()) return undefined;
    const sidecar = await readSidecar(path);
    const meta = sidecar && sidecar.ino === st.ino && sidecar.size === st.size ? sidecar : undefined;
    return { size: st.size, mtime: st.mtime, meta: meta ?? defaultSidecar(st.ino, st.size) };
  }

  private infoOf(key: string, size: number, mtime: Date, meta: Sidecar): ObjectInfo {
    return {
      key,
      size,
      lastModified: mtime,
      etag: meta.sha256 ? `"${meta.sha256}"` : undefined,
      metadata: meta.metadata,
      legalHold: meta.legalHold ?? false,
      retainUntil: meta.retention ? new Date(meta.retention.until) : undefined,
    };
  }

  private protection(meta: Sidecar): string | undefined {
    if (meta.legalHold) return 'legal hold';
    if (meta.retention && new Date(meta.retention.until) > this.now()) {
      return `${meta.retention.mode} retention until ${meta.retention.until}`;
    }
    return undefined;
  }

  private refuseIfProtected(key: string, meta: Sidecar, action: string): void {
    const why = this.protection(meta);
    if (why) throw new StoreError(`cannot ${action} protected object (${why})`, { key });
  }

  /** Read-modify-write of an object's sidecar; `change` returns false to leave it untouched. */
  private async updateSidecar(key: string, change: (meta: Sidecar) => boolean | void): Promise<void> {
    checkKey(key);
    const path = this.pathOf(key);
    const state = await this.readState(key, path);
    if (!state) throw new NotFoundError('no such object', { key });
    const meta = { ...state.meta };
    if (change(meta) === false) return;
    await this.writeSidecar(path, meta);
    await syncDir(dirname(path)); // a legal hold must survive a crash right after it was set
  }

  private async writeSidecar(path: string, meta: Sidecar): Promise<void> {
    const staged = await this.stageSidecar(path, meta);
    try {
      await this.commitSidecar(path, staged);
    } catch (err) {
      await unlink(staged).catch(() => {});
      throw err;
    }
  }

  /** Writes the sidecar to a synced temp file beside the object; `commitSidecar` renames it into place. */
  private async stageSidecar(path: string, meta: Sidecar): Promise<string> {
    const dir = dirname(path);
    const name = metaName(path.slice(dir.length + 1));
    const tmp = join(dir, tempName(name, randomBytes(6).toString('hex')));
    try {
      const handle = await open(tmp, 'wx', 0o644);
      try {
        await handle.writeFile(JSON.stringify(meta));
        await handle.sync();
      } finally {
        await handle.close();
      }
      return tmp;
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw this.mapError(err, path, 'write metadata for');
    }
  }

  /**
   * Puts the staged sidecar in place; without one, removes any earlier sidecar, so an object never inherits the
   * metadata (or a hold) of one a crash left behind at this key, should it get the same inode and size.
   */
  private async commitSidecar(path: string, staged: string | undefined): Promise<void> {
    try {
      if (staged === undefined) await unlink(sidecarPath(path)).catch(ignoreMissing);
      else await rename(staged, sidecarPath(path));
    } catch (err) {
      throw this.mapError(err, path, 'write metadata for');
    }
  }

  /** Writes the temp file (not yet synced); a write that fails (ENOSPC) names the key like any other failure. */
  private async writeTemp(
    key: string,
    handle: FileHandle,
    body: Readable | Uint8Array,
  ): Promise<{ size: number; sha256: string }> {
    // Only the disk's failures are mapped: an error of the body stream (its source) goes to the caller as it is.
    return writeAll(handle, body, this.onDisk(key));
  }

  private async syncAndClose(key: string, handle: FileHandle): Promise<void> {
    const disk = this.onDisk(key);
    await disk(handle.sync());
    await disk(handle.close());
  }

  private onDisk(key: string): <T>(io: Promise<T>) => Promise<T> {
    return (io) => io.catch((err: unknown) => Promise.reject(this.mapError(err, key, 'write')));
  }

  /** Creates the parent directories and an exclusive temp file beside the target. */
  private async openTemp(key: string, path: string): Promise<{ tmp: string; handle: FileHandle }> {
    const dir = dirname(path);
    const name = path.slice(dir.length + 1);
    // A concurrent delete may prune the directory between mkdir and open: try again a few times.
    for (let attempt = 0; ; attempt++) {
      const tmp = join(dir, tempName(name, randomBytes(6).toString('hex')));
      try {
        await mkdir(dir, { recursive: true });
        return { tmp, handle: await open(tmp, 'wx', 0o644) };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && attempt < 3) continue;
        throw this.mapError(err, key, 'write', (c) =>
          c === 'ENOTDIR' || c === 'EEXIST'
            ? new StoreError('a parent of this key is an object; a directory store cannot hold both', { key })
            : undefined,
        );
      }
    }
  }

  private async pruneEmptyDirs(dir: string): Promise<void> {
    while (dir.length > this.root.length && dir.startsWith(this.root)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone): stop
      }
      dir = dirname(dir);
    }
  }

  private mapError(
    err: unknown,
    key: string,
    action: string,
    special?: (code: string | undefined) => StoreError | undefined,
  ): StoreError {
    const code = (err as NodeJS.ErrnoException).code;
    const mapped = special?.(code);
    if (mapped) return mapped;
    if (err instanceof StoreError) return err;
    const where = key.startsWith('/') ? key : this.where(key);
    const reason =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOSPC'
          ? 'no space left on device'
          : code === 'EISDIR'
            ? 'the key is a prefix of other keys; a directory store cannot hold both'
            : code === 'ENAMETOOLONG'
              ? 'a path segment is too long for this filesystem'
              : (code ?? String(err));
    return new StoreError(`${where}: cannot ${action}: ${reason}`, undefined, { cause: err });
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

function defaultSidecar(ino: number, size: number): Sidecar {
  return { v: 1, ino, size };
}

function sidecarPath(path: string): string {
  const dir = dirname(path);
  return join(dir, metaName(path.slice(dir.length + 1)));
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    const parsed = JSON.parse(await readFile(sidecarPath(path), 'utf8')) as Sidecar;
    return parsed.v === 1 ? parsed : undefined;
  } catch {
    return undefined; // absent or torn: the object keeps default metadata
  }
}

async function writeAll(
  handle: FileHandle,
  body: Readable | Uint8Array,
  disk: <T>(io: Promise<T>) => Promise<T>,
): Promise<{ size: number; sha256: string }> {
  const tally = new Sha256Tally();
  const write = async (chunk: Uint8Array) => {
    tally.add(chunk);
    let off = 0;
    while (off < chunk.length) off += (await disk(handle.write(chunk, off, chunk.length - off))).bytesWritten;
  };
  if (body instanceof Uint8Array) await write(body);
  else
    for await (const chunk of body) await write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
  return tally.digest();
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
