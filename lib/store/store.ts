// The object store port: everything the core needs from S3 or a local directory, nothing more.
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
  storageClass?: StorageClass;
  /** Hex SHA-256 of the body; the store verifies it and rejects the write on mismatch. */
  sha256?: string;
  /** Create only if absent (If-None-Match: *). Throws AlreadyExistsError when the key exists. */
  ifNoneMatch?: boolean;
  contentType?: string;
  metadata?: Record<string, string>;
  /** Body length when known (lets adapters skip buffering). */
  contentLength?: number;
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
  /** Moves an object to another storage class in place. */
  setStorageClass(key: string, storageClass: StorageClass): Promise<void>;
  /** Asks for a temporary readable copy of an archived (GLACIER/DEEP_ARCHIVE) object. */
  restore(key: string, days: number, tier?: 'Expedited' | 'Standard' | 'Bulk'): Promise<RestoreState>;
  setLegalHold(key: string, on: boolean): Promise<void>;
  setRetention(key: string, mode: RetentionMode, until: Date): Promise<void>;
  listVersions(prefix: string): AsyncIterable<ObjectVersion>;
}
