// Restores a workflow's logs and artifacts back into an Argo artifact repository, each at the key Argo recorded:
// all of them, or the entries of one selection (a node's log, an artifact, a path or a directory of them).
import { artifactKeyOf } from './artifact-location.ts';
import { Readable } from 'node:stream';
import { silentProgress, type Progress } from '../progress.ts';
import { AlreadyExistsError } from '../errors.ts';
import type { ObjectInfo, ObjectStore } from '../store/store.ts';
import type { Manifest, ManifestEntry } from './manifest.ts';
import { PackReader } from './pack-reader.ts';
import type { Repository } from './repository.ts';
import { readManifest } from './manifest-lookup.ts';
import { counted, selectEntries, streamEntry, type EntrySelector } from './restorer.ts';
import { digestOf, matchesDigest } from '../store/sha256.ts';

export interface BucketRestoreOptions {
  progress?: Progress;
  /** Replace an object that exists at the key with other bytes (default: leave it and report a conflict). */
  overwrite?: boolean;
  /** Only these entries (as `strata restore --node/--path` selects them); absent: the whole workflow. */
  select?: EntrySelector;
}

export interface BucketRestoreResult {
  manifestId: string;
  /** What was restored, in words: the whole workflow or the selection. */
  what: string;
  /** Objects written. */
  written: Array<{ path: string; key: string; bytes: number }>;
  /** Already there with the same SHA-256: nothing to do (a re-run converges). */
  unchanged: Array<{ path: string; key: string }>;
  /** Something else is at the key and overwrite was not asked for: left as it is. */
  conflicts: Array<{ path: string; key: string; reason: string }>;
  /** Entries with no artifact-repository key (the Workflow object, resources, sidecar logs): not restored here. */
  skipped: Array<{ path: string; reason: string }>;
  bytes: number;
  /** What was read around (a pack index that did not verify); the data itself verified. */
  warnings?: string[];
}

/** The entries a bucket restore reads: the selection's (a NotFoundError names what is missing), or all. */
export function bucketEntriesOf(
  manifest: Manifest,
  select?: EntrySelector,
): { entries: ManifestEntry[]; what: string } {
  return select ? selectEntries(manifest, select) : { entries: manifest.entries, what: 'the whole workflow' };
}

/**
 * The keys a bucket restore writes: each selected entry's key Argo recorded (entries without one are skipped).
 * What a caller checks against the namespace's prefix before anything is written.
 */
export function bucketKeysOf(manifest: Manifest, select?: EntrySelector): string[] {
  return bucketEntriesOf(manifest, select)
    .entries.map((e) => artifactKeyOf(e))
    .filter((k): k is string => k !== undefined && k !== '');
}

/**
 * Writes every selected log and artifact that has a recorded key into `bucket` at that key, streamed and checked against
 * the manifest's SHA-256 (the store verifies the upload too), create-only unless `overwrite`.
 */
export async function restoreToBucket(
  repo: Repository,
  manifestId: string,
  bucket: ObjectStore,
  opts: BucketRestoreOptions = {},
): Promise<BucketRestoreResult> {
  const progress = opts.progress ?? silentProgress;
  const manifest = await readManifest(repo, manifestId);
  const reader = new PackReader(repo);
  const { entries, what } = bucketEntriesOf(manifest, opts.select);
  const result: BucketRestoreResult = {
    manifestId,
    what,
    written: [],
    unchanged: [],
    conflicts: [],
    skipped: [],
    bytes: 0,
  };
  const planned: Array<{ entry: ManifestEntry; key: string }> = [];
  for (const entry of entries) {
    const key = artifactKeyOf(entry);
    if (key === undefined || key === '') {
      result.skipped.push({ path: entry.path, reason: 'no artifact-repository key recorded' });
    } else planned.push({ entry, key });
  }
  progress.start(
    planned.reduce((sum, p) => sum + p.entry.size, 0),
    `restore ${what} of ${manifest.workflow.namespace}/${manifest.workflow.name} into ${bucket.url}`,
  );
  /** Something is at the key already: the same bytes are a no-op, others a conflict. */
  const settleExisting = async (entry: ManifestEntry, key: string, info: ObjectInfo | undefined) => {
    if (await sameBytes(bucket, key, entry, info)) result.unchanged.push({ path: entry.path, key });
    else result.conflicts.push({ path: entry.path, key, reason: `another object is at ${key} (use --overwrite)` });
  };
  for (const { entry, key } of planned) {
    const existing = opts.overwrite ? undefined : await bucket.head(key);
    if (existing) {
      await settleExisting(entry, key, existing);
      progress.advance(entry.size);
      continue;
    }
    // Counted as the store reads it (a 'data' listener would start the flow before the store is ready).
    const body = Readable.from(counted(streamEntry(repo, manifest, entry, reader), progress), { objectMode: false });
    try {
      await bucket.put(key, body, {
        ifNoneMatch: !opts.overwrite,
        contentLength: entry.size,
        sha256: entry.sha256,
        contentType: 'application/octet-stream',
      });
    } catch (err) {
      // Created between our head and put by someone else: the same check as above decides.
      if (!(err instanceof AlreadyExistsError)) throw err;
      await settleExisting(entry, key, await bucket.head(key));
      continue;
    }
    result.written.push({ path: entry.path, key, bytes: entry.size });
    result.bytes += entry.size;
  }
  progress.done();
  if (reader.warnings.length > 0) result.warnings = reader.warnings;
  return result;
}

/** Whether the object at `key` (described by `info`) has the entry's bytes: size first, then its SHA-256, read back. */
async function sameBytes(
  bucket: ObjectStore,
  key: string,
  entry: ManifestEntry,
  info: ObjectInfo | undefined,
): Promise<boolean> {
  if (!info || info.size !== entry.size) return false;
  return matchesDigest(entry, await digestOf(await bucket.get(key)));
}
