// The S3 object store adapter over @aws-sdk/client-s3 (+ lib-storage multipart), for AWS, MinIO, moto and friends.
//
// - Bodies up to one part (8 MiB) are buffered and sent with PutObject and a full-object ChecksumSHA256, so the
//   server verifies them and the SDK can retry them. Larger bodies go through lib-storage's Upload (per-part
//   SHA-256 checksums, part retries); a hashing stream fails the upload before completion when the caller's
//   sha256 does not match, so a bad body never becomes visible. The caller's sha256 is also kept in the
//   object's metadata (strata-sha256) and checked again on whole-object reads.
// - Create-only writes send If-None-Match: *. s3.conditionalWrites=auto probes the server once; 'off' (or a
//   server that ignores the header) falls back to head-then-put, which is racy: two writers may both win.
// - delete() removes every version of a key (delete markers alone would leave the data), so a held or
//   retained version makes it fail, as on the local store.
// - Reads resume after a dropped connection with a ranged GET pinned to the object's ETag.
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  RestoreObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type ListObjectVersionsCommandOutput,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { S3Config } from '../config/config.ts';
import { AlreadyExistsError, IntegrityError, StoreError } from '../errors.ts';
import { isRetryable, mapS3Error } from './s3-errors.ts';
import { checkDigest, sha256Hex, Sha256Tally } from './sha256.ts';
import type {
  ByteRange,
  ObjectInfo,
  ObjectLock,
  ObjectStore,
  ObjectVersion,
  ObjectVersions,
  PutOptions,
  PutResult,
  RestoreState,
  RestoreTier,
  RetentionMode,
  StorageClass,
  StorageClasses,
  UnfinishedWrite,
  UnfinishedWrites,
} from './store.ts';
import { mapLimit } from '../concurrency.ts';

export interface S3StoreOptions extends S3Config {
  bucket: string;
  /** Key prefix inside the bucket: '' or ending in '/'. */
  prefix: string;
  /** Multipart part size (and the single-PUT threshold); at least 5 MiB. */
  partSize?: number;
  /** Per-request socket timeout; a slower answer is retried. */
  requestTimeoutMs?: number;
}

// Node 20 is a supported runtime; the SDK's multi-line "upgrade to Node 22" warning would break the CLI's
// promise of one clear line on stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const MiB = 1024 * 1024;
const ARCHIVED: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);
const KNOWN_CLASSES: ReadonlySet<string> = new Set([
  'STANDARD',
  'STANDARD_IA',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
]);
const SHA_META = 'strata-sha256';

export class S3Store implements ObjectStore, StorageClasses, ObjectLock, ObjectVersions, UnfinishedWrites {
  readonly url: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly endpoint: string;
  private conditional: Promise<boolean> | undefined;
  private versioned: Promise<boolean> | undefined;

  constructor(
    private readonly opts: S3StoreOptions,
    client?: S3Client,
  ) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix;
    this.url = `s3://${opts.bucket}/${opts.prefix}`;
    this.partSize = Math.max(opts.partSize ?? 8 * MiB, 5 * MiB);
    this.endpoint = opts.endpoint ?? `https://s3.${opts.region}.amazonaws.com`;
    this.client =
      client ??
      new S3Client({
        region: opts.region,
        endpoint: opts.endpoint,
        forcePathStyle: opts.forcePathStyle,
        maxAttempts: opts.maxAttempts,
        retryMode: 'standard', // exponential backoff with full jitter on 5xx, throttling, timeouts, resets
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_SUPPORTED',
        credentials:
          opts.accessKeyId && opts.secretAccessKey
            ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey, sessionToken: opts.sessionToken }
            : undefined,
        requestHandler: {
          connectionTimeout: 5_000,
          requestTimeout: opts.requestTimeoutMs ?? 60_000,
          // Without this the SDK only logs a warning and a stalled connection hangs forever.
          throwOnRequestTimeout: true,
        },
      });
  }

  async put(key: string, body: Readable | Uint8Array, opts: PutOptions = {}): Promise<PutResult> {
    const full = this.full(key);
    if (opts.ifNoneMatch && !(await this.conditionalWritesWork())) {
      // Fallback without server support: racy between the head and the put (documented above).
      if (await this.head(key)) throw new AlreadyExistsError(`s3://${this.bucket}/${full}: object already exists`);
    }
    const useIfNoneMatch = opts.ifNoneMatch && (await this.conditionalWritesWork());
    const base: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: full,
      StorageClass: opts.storageClass,
      ContentType: opts.contentType,
      Metadata: { ...opts.metadata, ...(opts.sha256 ? { [SHA_META]: opts.sha256.toLowerCase() } : {}) },
      IfNoneMatch: useIfNoneMatch ? '*' : undefined,
      ...(opts.retention && {
        ObjectLockMode: opts.retention.mode,
        ObjectLockRetainUntilDate: opts.retention.until,
      }),
      ...this.sse(),
    };
    const head =
      body instanceof Uint8Array && body.byteLength <= this.partSize
        ? { chunk: Buffer.from(body.buffer, body.byteOffset, body.byteLength), rest: undefined }
        : await readUpTo(
            body instanceof Uint8Array
              ? Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)])
              : body,
            this.partSize,
          );
    try {
      if (!head.rest) {
        const sha256 = sha256Hex(head.chunk);
        checkDigest({ sha256: opts.sha256 }, { sha256, size: head.chunk.length }, `s3://${this.bucket}/${full}`);
        const out = await this.client.send(
          new PutObjectCommand({
            ...base,
            Body: head.chunk,
            ContentLength: head.chunk.length,
            ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
            // A write under Object Lock must name its checksum algorithm (x-amz-sdk-checksum-algorithm), or S3 refuses it.
            ...(opts.retention && { ChecksumAlgorithm: 'SHA256' as const }),
          }),
        );
        return { key, etag: out.ETag, versionId: out.VersionId, sha256, size: head.chunk.length };
      }
      const hashing = verifyingStream(opts.sha256, full);
      const source = Readable.from(
        (async function* () {
          yield head.chunk;
          yield* head.rest!;
        })(),
      );
      const upload = new Upload({
        client: this.client,
        params: { ...base, Body: source.pipe(hashing), ChecksumAlgorithm: 'SHA256' },
        partSize: this.partSize,
        queueSize: 2,
        leavePartsOnError: false,
      });
      source.on('error', (err) => hashing.destroy(err));
      const out = await upload.done();
      return { key, etag: out.ETag, versionId: out.VersionId, sha256: hashing.digest(), size: hashing.size() };
    } catch (err) {
      throw this.fail(err, full);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const full = this.full(key);
    const first = await this.getOnce(full, range, undefined);
    const total = first.ContentLength ?? 0;
    const expectedSha = range ? undefined : first.Metadata?.[SHA_META];
    return Readable.from(this.resumingBody(full, first, range, total, expectedSha));
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const full = this.full(key);
    let out: HeadObjectCommandOutput;
    try {
      out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 && (err as Error).name !== 'NoSuchBucket') return undefined;
      throw this.fail(err, full);
    }
    const storageClass = toStorageClass(out.StorageClass);
    const { [SHA_META]: _sha, ...metadata } = out.Metadata ?? {};
    return {
      key,
      size: out.ContentLength ?? 0,
      lastModified: out.LastModified ?? new Date(0),
      etag: out.ETag,
      storageClass,
      versionId: out.VersionId,
      metadata,
      restore: ARCHIVED.has(storageClass) ? parseRestore(out.Restore) : undefined,
      legalHold: out.ObjectLockLegalHoldStatus === 'ON',
      retainUntil: out.ObjectLockRetainUntilDate,
    };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.full(prefix), ContinuationToken: token }),
        );
      } catch (err) {
        throw this.fail(err);
      }
      for (const o of page.Contents ?? []) {
        yield {
          key: o.Key!.slice(this.prefix.length),
          size: o.Size ?? 0,
          lastModified: o.LastModified ?? new Date(0),
          etag: o.ETag,
          storageClass: toStorageClass(o.StorageClass),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: string[]): Promise<void> {
    const refused: string[] = [];
    const versioned = await this.isVersioned();
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((k) => this.full(k));
      const objects = versioned
        ? (await mapLimit(batch, 8, (k) => this.versionsOf(k))).flat()
        : batch.map((Key) => ({ Key, VersionId: undefined as string | undefined }));
      for (let j = 0; j < objects.length; j += 1000) {
        let out;
        try {
          out = await this.client.send(
            new DeleteObjectsCommand({
              Bucket: this.bucket,
              Delete: { Objects: objects.slice(j, j + 1000), Quiet: true },
            }),
          );
        } catch (err) {
          throw this.fail(err);
        }
        for (const e of out.Errors ?? []) {
          if (e.Code === 'NoSuchKey' || e.Code === 'NoSuchVersion') continue;
          refused.push(`${e.Key?.slice(this.prefix.length)} (${e.Code}${e.Message ? `: ${e.Message}` : ''})`);
        }
      }
    }
    if (refused.length) {
      throw new StoreError(`${this.url}: cannot delete ${refused.length} object(s): ${refused.slice(0, 5).join(', ')}`);
    }
  }

  /**
   * CopyObject onto itself with the new class. In a versioned bucket the copy is a new version, so the one it
   * replaces is deleted afterwards (else it stays billed in its old class); an object under Object Lock is refused
   * for the same reason, since its protected version could not be deleted.
   */
  async setStorageClass(key: string, storageClass: StorageClass): Promise<void> {
    const full = this.full(key);
    const info = await this.head(key);
    if (!info) throw this.fail({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, full);
    const versioned = await this.isVersioned();
    const locked = info.legalHold || (info.retainUntil !== undefined && info.retainUntil > new Date());
    if (versioned && locked) {
      throw new StoreError(
        `s3://${this.bucket}/${full}: under Object Lock: a class change by copy would leave the protected version ` +
          `billed in ${info.storageClass ?? 'STANDARD'} (use a lifecycle transition, or move it once the lock ends)`,
      );
    }
    const source = `${this.bucket}/${encodeURIComponent(full).replace(/%2F/g, '/')}`;
    const pinned = versioned && info.versionId && info.versionId !== 'null';
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: full,
          CopySource: pinned ? `${source}?versionId=${encodeURIComponent(info.versionId!)}` : source,
          StorageClass: storageClass,
          MetadataDirective: 'COPY',
          ...this.sse(),
        }),
      );
      if (pinned) {
        const out = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: [{ Key: full, VersionId: info.versionId }], Quiet: true },
          }),
        );
        const e = out.Errors?.[0];
        if (e)
          throw new StoreError(`s3://${this.bucket}/${full}: cannot delete the version the copy replaced: ${e.Code}`);
      }
    } catch (err) {
      throw this.fail(err, full);
    }
  }

  async restore(key: string, days: number, tier: RestoreTier = 'Standard'): Promise<RestoreState> {
    const info = await this.head(key);
    if (!info) throw this.fail({ name: 'NoSuchKey' }, this.full(key));
    if (!info.restore) return 'not-needed';
    if (info.restore.state !== 'not-started') return info.restore.state;
    try {
      await this.client.send(
        new RestoreObjectCommand({
          Bucket: this.bucket,
          Key: this.full(key),
          RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } },
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'RestoreAlreadyInProgress') throw this.fail(err, this.full(key));
    }
    return (await this.head(key))?.restore?.state ?? 'in-progress';
  }

  async setLegalHold(key: string, on: boolean): Promise<void> {
    try {
      await this.client.send(
        new PutObjectLegalHoldCommand({
          Bucket: this.bucket,
          Key: this.full(key),
          LegalHold: { Status: on ? 'ON' : 'OFF' },
        }),
      );
    } catch (err) {
      throw this.fail(err, this.full(key));
    }
  }

  async setRetention(key: string, mode: RetentionMode, until: Date): Promise<void> {
    try {
      await this.client.send(
        new PutObjectRetentionCommand({
          Bucket: this.bucket,
          Key: this.full(key),
          Retention: { Mode: mode, RetainUntilDate: until },
        }),
      );
    } catch (err) {
      throw this.fail(err, this.full(key));
    }
  }

  async *listVersions(prefix: string): AsyncIterable<ObjectVersion> {
    for await (const page of this.versionPages(this.full(prefix))) {
      const entries = [
        ...(page.Versions ?? []).map((v) => ({ v, marker: false, size: v.Size ?? 0 })),
        ...(page.DeleteMarkers ?? []).map((v) => ({ v, marker: true, size: 0 })),
      ];
      for (const { v, marker, size } of entries) {
        yield {
          key: v.Key!.slice(this.prefix.length),
          versionId: v.VersionId ?? 'null',
          isLatest: v.IsLatest ?? false,
          isDeleteMarker: marker,
          size,
          lastModified: v.LastModified ?? new Date(0),
        };
      }
    }
  }

  /**
   * Incomplete multipart uploads (a writer killed mid-upload; S3 bills their parts until they are aborted), each
   * with the bytes of its parts and the time of its last part, so an upload still adding parts looks recent.
   */
  async *listUnfinished(prefix: string): AsyncIterable<UnfinishedWrite> {
    let keyMarker: string | undefined;
    let uploadMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.full(prefix),
            KeyMarker: keyMarker,
            UploadIdMarker: uploadMarker,
          }),
        );
      } catch (err) {
        throw this.fail(err);
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId) continue;
        const parts = await this.uploadedParts(u.Key, u.UploadId);
        if (!parts) continue; // completed or aborted meanwhile
        yield {
          key: u.Key.slice(this.prefix.length),
          id: u.UploadId,
          size: parts.size,
          lastModified: new Date(Math.max(u.Initiated?.getTime() ?? 0, parts.lastModified)),
        };
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  }

  /** Aborts each upload unless a part was added after it was listed (its writer is still at work). */
  async removeUnfinished(writes: UnfinishedWrite[]): Promise<UnfinishedWrite[]> {
    const removed: UnfinishedWrite[] = [];
    for (const w of writes) {
      const full = this.full(w.key);
      const parts = await this.uploadedParts(full, w.id);
      if (!parts || parts.lastModified > w.lastModified.getTime()) continue;
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: full, UploadId: w.id }));
      } catch (err) {
        if ((err as Error).name === 'NoSuchUpload') continue;
        throw this.fail(err, full);
      }
      removed.push(w);
    }
    return removed;
  }

  /** Total bytes and newest part time of an upload, or undefined when the upload is gone. */
  private async uploadedParts(
    fullKey: string,
    uploadId: string,
  ): Promise<{ size: number; lastModified: number } | undefined> {
    let size = 0;
    let lastModified = 0;
    let marker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListPartsCommand({ Bucket: this.bucket, Key: fullKey, UploadId: uploadId, PartNumberMarker: marker }),
        );
      } catch (err) {
        if ((err as Error).name === 'NoSuchUpload') return undefined;
        throw this.fail(err, fullKey);
      }
      for (const p of page.Parts ?? []) {
        size += p.Size ?? 0;
        lastModified = Math.max(lastModified, p.LastModified?.getTime() ?? 0);
      }
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    return { size, lastModified };
  }

  /** ListObjectVersions pages under a full prefix; with `onlyKey`, stops once the listing has passed that key. */
  private async *versionPages(fullPrefix: string, onlyKey?: string): AsyncIterable<ListObjectVersionsCommandOutput> {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      let page: ListObjectVersionsCommandOutput;
      try {
        page = await this.client.send(
          new ListObjectVersionsCommand({
            Bucket: this.bucket,
            Prefix: fullPrefix,
            KeyMarker: keyMarker,
            VersionIdMarker: versionMarker,
          }),
        );
      } catch (err) {
        throw this.fail(err, onlyKey);
      }
      yield page;
      const passed = onlyKey !== undefined && page.NextKeyMarker !== undefined && page.NextKeyMarker > onlyKey;
      const done = !page.IsTruncated || passed;
      keyMarker = done ? undefined : page.NextKeyMarker;
      versionMarker = done ? undefined : page.NextVersionIdMarker;
    } while (keyMarker);
  }

  /** Whether the server honours If-None-Match: * (probed once in 'auto' mode). */
  conditionalWritesWork(): Promise<boolean> {
    const mode = this.opts.conditionalWrites;
    if (mode !== 'auto') return Promise.resolve(mode === 'on');
    return (this.conditional ??= this.probeConditionalWrites());
  }

  private async probeConditionalWrites(): Promise<boolean> {
    const Key = this.full(`.strata-probe/conditional-${randomBytes(6).toString('hex')}`);
    const put = () =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: 'probe', IfNoneMatch: '*' }));
    try {
      await put();
      try {
        await put();
        return false; // the header was ignored
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        return (
          e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412 || e.$metadata?.httpStatusCode === 409
        );
      }
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 501) return false;
      throw this.fail(err, Key);
    } finally {
      await this.client
        .send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: [{ Key }], Quiet: true } }))
        .catch(() => {});
    }
  }

  private isVersioned(): Promise<boolean> {
    return (this.versioned ??= this.client
      .send(new GetBucketVersioningCommand({ Bucket: this.bucket }))
      .then((v) => v.Status === 'Enabled' || v.Status === 'Suspended')
      .catch((err: unknown) => {
        if ((err as Error).name === 'AccessDenied') return false; // cannot tell: delete current versions only
        this.versioned = undefined;
        throw this.fail(err);
      }));
  }

  private async versionsOf(fullKey: string): Promise<{ Key: string; VersionId?: string }[]> {
    const out: { Key: string; VersionId?: string }[] = [];
    for await (const page of this.versionPages(fullKey, fullKey)) {
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        if (v.Key === fullKey) out.push({ Key: fullKey, VersionId: v.VersionId });
      }
    }
    return out;
  }

  private async getOnce(
    full: string,
    range: ByteRange | undefined,
    ifMatch: string | undefined,
  ): Promise<GetObjectCommandOutput> {
    try {
      return await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: full,
          Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined,
          IfMatch: ifMatch,
          ChecksumMode: range ? undefined : 'ENABLED',
        }),
      );
    } catch (err) {
      throw this.fail(err, full);
    }
  }

  /** Yields the body, re-requesting the rest (pinned to the ETag) when the connection drops mid-way. */
  private async *resumingBody(
    full: string,
    first: GetObjectCommandOutput,
    range: ByteRange | undefined,
    total: number,
    expectedSha: string | undefined,
  ): AsyncGenerator<Buffer> {
    const tally = expectedSha ? new Sha256Tally() : undefined;
    const start = range?.start ?? 0;
    let received = 0;
    let current: GetObjectCommandOutput | undefined = first;
    for (let attempt = 0; ; attempt++) {
      try {
        current ??= await this.getOnce(
          full,
          { start: start + received, end: range?.end ?? (range ? undefined : start + total - 1) },
          first.ETag,
        );
        for await (const chunk of current.Body as AsyncIterable<Uint8Array>) {
          const buf = Buffer.from(chunk);
          received += buf.length;
          tally?.add(buf);
          yield buf;
        }
        break;
      } catch (err) {
        current = undefined;
        if (err instanceof AlreadyExistsError) {
          // 412 on If-Match: the object was replaced while we were reading it; never splice two versions.
          throw new StoreError(`s3://${this.bucket}/${full}: object changed while it was being read`);
        }
        if (attempt >= Math.max(this.opts.maxAttempts, 1) || !isRetryable(err) || received >= total) {
          throw this.fail(err, full);
        }
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(2000, 100 * 2 ** attempt)));
      }
    }
    if (received !== total) {
      throw new IntegrityError(`s3://${this.bucket}/${full}: read ${received} bytes, expected ${total}`);
    }
    // The SHA-256 recorded at write time (strata-sha256): an object rewritten behind our back does not pass.
    if (tally) checkDigest({ sha256: expectedSha }, tally.digest(), `s3://${this.bucket}/${full}`);
  }

  private full(key: string): string {
    return this.prefix + key;
  }

  private sse(): { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string } {
    if (!this.opts.sse) return {};
    return {
      ServerSideEncryption: this.opts.sse,
      SSEKMSKeyId: this.opts.sse === 'aws:kms' ? this.opts.kmsKeyId : undefined,
    };
  }

  private fail(err: unknown, key?: string) {
    return mapS3Error(err, { bucket: this.bucket, key, endpoint: this.endpoint });
  }
}

function toStorageClass(raw: string | undefined): StorageClass {
  return raw && KNOWN_CLASSES.has(raw) ? (raw as StorageClass) : 'STANDARD';
}

/** S3's Restore header: `ongoing-request="true"` or `ongoing-request="false", expiry-date="…"`. */
export function parseRestore(header: string | undefined): { state: RestoreState; expiresAt?: Date } {
  if (!header) return { state: 'not-started' };
  if (/ongoing-request="true"/.test(header)) return { state: 'in-progress' };
  const expiry = /expiry-date="([^"]+)"/.exec(header)?.[1];
  return { state: 'restored', expiresAt: expiry ? new Date(expiry) : undefined };
}

/** Reads at most `limit` bytes; `rest` is the remaining stream when the body is longer. */
async function readUpTo(body: Readable, limit: number): Promise<{ chunk: Buffer; rest?: AsyncIterable<Buffer> }> {
  const parts: Buffer[] = [];
  let size = 0;
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  for (;;) {
    const next = await it.next();
    if (next.done) return { chunk: Buffer.concat(parts, size) };
    const buf = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value);
    parts.push(buf);
    size += buf.length;
    if (size > limit) {
      return {
        chunk: Buffer.concat(parts, size),
        rest: (async function* () {
          for (let n = await it.next(); !n.done; n = await it.next()) yield Buffer.from(n.value);
        })(),
      };
    }
  }
}

/** Passes bytes through while hashing; fails at the end, before the upload completes, on a SHA-256 mismatch. */
function verifyingStream(expected: string | undefined, key: string) {
  const tally = new Sha256Tally();
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      tally.add(chunk);
      done(null, chunk);
    },
    flush(done) {
      try {
        checkDigest({ sha256: expected }, tally.digest(), 'put', { key });
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  return Object.assign(t, { digest: () => tally.digest().sha256, size: () => tally.digest().size });
}
