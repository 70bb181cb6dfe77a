// The object store port: what the core needs from S3 or a local directory (put, get, head, list, delete), and the
// optional capabilities only some stores have (storage classes, Object Lock, versions), found at run time as
// restic finds its backends' optional interfaces.
import type { Readable } from 'node:stream';

/** Storage classes Strata moves data through; adapters map them to what the backend calls them. */
export type StorageClass = 'STANDARD' | 'STANDARD_IA' | 'GLACIER_IR' | 'GLACIER' | 'DEEP_ARCHIVE';

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (as in HTTP Range). Omit to read to the end. */
  end?: number;
}

export interface PutOptions {
  /** Only on stores with storage classes (`storageClassesOf`); others refuse any class but STANDARD. */
  storageClass?: StorageClass;
  /** Hex SHA-256 of the body; the store verifies it and rejects the write on mismatch. */
  sha256?: string;
  /** Create only if absent (If-None-Match: *). Throws AlreadyExistsError when the key exists. */
  ifNoneMatch?: boolean;
  contentType?: string;
  metadata?: Record<string, string>;
  /** Body length when known (lets adapters skip buffering). */
  contentLength?: number;
  /**
   * Object Lock retention the object is written with, so it is protected from the moment it exists (stores with
   * Object Lock, `objectLockOf`; an S3 bucket without Object Lock refuses the write).
   */
  retention?: { mode: RetentionMode; until: Date };
}

export interface PutResult {
  key: string;
  etag?: string;
  versionId?: string;
  sha256?: string;
  size?: number;
}

export type RestoreState = 'not-needed' | 'not-started' | 'in-progress' | 'restored';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  etag?: string;
  /** Undefined on a store without storage classes. */
  storageClass?: StorageClass;
  versionId?: string;
  metadata?: Record<string, string>;
  restore?: { state: RestoreState; expiresAt?: Date };
  legalHold?: boolean;
  retainUntil?: Date;
}

export interface ObjectVersion {
  key: string;
  versionId: string;
  isLatest: boolean;
  isDeleteMarker: boolean;
  size: number;
  lastModified: Date;
}

export type RetentionMode = 'GOVERNANCE' | 'COMPLIANCE';

export interface ObjectStore {
  /** Human-readable location, e.g. `s3://bucket/prefix` or `file:///var/strata`. */
  readonly url: string;
  put(key: string, body: Readable | Uint8Array, opts?: PutOptions): Promise<PutResult>;
  /** Streams the object (or a range of it). Throws NotFoundError when absent. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Metadata, or undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** All keys under a prefix, in lexicographic order, paging transparently. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deletes keys; absent keys are not an error. Throws if any key is protected by a hold or retention. */
  delete(keys: string[]): Promise<void>;
}

export type RestoreTier = 'Expedited' | 'Standard' | 'Bulk';

/** Storage classes for real: objects in archive classes must be restored before they can be read (S3). */
export interface StorageClasses {
  /** Moves an object to another storage class in place. */
  setStorageClass(key: string, storageClass: StorageClass): Promise<void>;
  /** Asks for a temporary readable copy of an archived (GLACIER/DEEP_ARCHIVE) object. */
  restore(key: string, days: number, tier?: RestoreTier): Promise<RestoreState>;
}

/** Holds and retention the store itself enforces: a protected object cannot be deleted, by Strata or anyone. */
export interface ObjectLock {
  setLegalHold(key: string, on: boolean): Promise<void>;
  setRetention(key: string, mode: RetentionMode, until: Date): Promise<void>;
}

/** Older versions of overwritten or deleted objects. */
export interface ObjectVersions {
  listVersions(prefix: string): AsyncIterable<ObjectVersion>;
}

/** A write that never finished: a killed writer's temp file, an incomplete multipart upload. Not an object. */
export interface UnfinishedWrite {
  /** The key it was writing (a local store's sidecar temp file names its object's key). */
  key: string;
  /** Which one: the temp file's path under the store, or the multipart upload id. */
  id: string;
  /** Bytes it holds so far. */
  size: number;
  /** When it was last written to (a temp file's mtime; an upload's last part, else its start). */
  lastModified: Date;
}

/** Leftovers of writes that never finished, which list() does not show: gc reclaims them after a grace period. */
export interface UnfinishedWrites {
  listUnfinished(prefix: string): AsyncIterable<UnfinishedWrite>;
  /**
   * Removes them and returns the ones it removed. One written to since it was listed (a writer is still at it) is
   * left alone; one already gone is not an error (and not returned).
   */
  removeUnfinished(writes: UnfinishedWrite[]): Promise<UnfinishedWrite[]>;
}

function has<T>(store: ObjectStore, ...methods: (keyof T)[]): store is ObjectStore & T {
  return methods.every((m) => typeof (store as unknown as Record<string, unknown>)[m as string] === 'function');
}

/** The store's storage classes, or undefined when it has none (tiers are then only recorded). */
export function storageClassesOf(store: ObjectStore): (ObjectStore & StorageClasses) | undefined {
  return has<StorageClasses>(store, 'setStorageClass', 'restore') ? store : undefined;
}

export function objectLockOf(store: ObjectStore): (ObjectStore & ObjectLock) | undefined {
  return has<ObjectLock>(store, 'setLegalHold', 'setRetention') ? store : undefined;
}

export function unfinishedWritesOf(store: ObjectStore): (ObjectStore & UnfinishedWrites) | undefined {
  return has<UnfinishedWrites>(store, 'listUnfinished', 'removeUnfinished') ? store : undefined;
}

export function versionsOf(store: ObjectStore): (ObjectStore & ObjectVersions) | undefined {
  return has<ObjectVersions>(store, 'listVersions') ? store : undefined;
}
