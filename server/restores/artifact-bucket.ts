// Restores back into the artifact bucket, as the API offers them: the target is the workflow namespace's artifact
// repository from the server's configuration (never a bucket the caller or the workflow names), every key written is
// checked to stay inside the namespace's prefix, and the bytes go through the same core as `strata restore
// --to-bucket` (lib/archive/restore-to-bucket.ts).
import { artifactBucketOf, artifactKeyOf } from '../../lib/archive/artifact-location.ts';
import type { Manifest, ManifestEntry } from '../../lib/archive/manifest.ts';
import type { EntrySelector } from '../../lib/archive/restorer.ts';
import { bucketEntriesOf, bucketKeysOf, type BucketRestoreResult } from '../../lib/archive/restore-to-bucket.ts';
import type { S3Config, TrustedArtifactRepository } from '../../lib/config/config.ts';
import { namespaceRestoreTarget, restoreTargetRefused } from '../../lib/sources/trusted-artifact-repositories.ts';
import { openStore } from '../../lib/store/open.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import type { AuditLog } from '../../lib/audit/audit.ts';
import { HttpError } from '../api/errors.ts';
import type { Caller } from '../auth/access.ts';
import type { BucketRestoreSummary, RestoreScope, RestoreTarget } from './job.ts';
import { selectorOf } from './restorable.ts';

export interface ArtifactBuckets {
  /**
   * `s3://bucket/` of the namespace's artifact repository for this archive (the selected entries of it, or all), or
   * why none may be written.
   */
  targetFor(namespace: string, manifest: Manifest, select?: EntrySelector): { url: string } | { refused: string };
  open(url: string): ObjectStore;
}

/** The artifact repositories of the server's configuration (`artifactRepositories`), written with its S3 settings. */
export function configuredArtifactBuckets(
  trusted: readonly TrustedArtifactRepository[] | undefined,
  s3: S3Config,
): ArtifactBuckets {
  return {
    targetFor(namespace, manifest, select) {
      const entries = bucketEntriesOf(manifest, select).entries;
      const recorded = [...new Set(entries.map((e) => artifactBucketOf(e)).filter((b) => b !== undefined))];
      const chosen = namespaceRestoreTarget(namespace, recorded, trusted, s3.endpoint);
      if ('refused' in chosen) return chosen;
      const refused = restoreTargetRefused(
        { bucket: chosen.bucket, prefix: '' },
        namespace,
        trusted,
        s3.endpoint,
        bucketKeysOf(manifest, select),
      );
      return refused ? { refused } : { url: `s3://${chosen.bucket}/` };
    },
    open: (url) => openStore(url, s3),
  };
}

/**
 * Where a bucket restore of this request (the whole workflow, or the scope's entries) writes: 400 when the server has
 * no artifact repositories configured, 403 naming why the namespace's repository may not be written.
 */
export function bucketTargetUrl(
  buckets: ArtifactBuckets | undefined,
  namespace: string,
  manifest: Manifest,
  scope: RestoreScope,
  target: RestoreTarget,
): string | undefined {
  if (target.kind !== 'bucket') return undefined;
  if (!buckets)
    throw new HttpError(
      400,
      'restores into the artifact bucket are not configured on this server (configuration artifactRepositories)',
    );
  const chosen = buckets.targetFor(namespace, manifest, selectorOf(scope));
  if ('refused' in chosen) throw new HttpError(403, `restore into the artifact bucket: ${chosen.refused}`);
  return chosen.url;
}

/** As bucketTargetUrl, for a caller's request: a refusal is an audited act (as the CLI's --to-bucket), then the 403. */
export async function requestedBucketTarget(
  buckets: ArtifactBuckets | undefined,
  audit: AuditLog,
  caller: Caller,
  req: { manifestId: string; scope: RestoreScope; target: RestoreTarget },
  namespace: string,
  manifest: Manifest,
): Promise<string | undefined> {
  try {
    return bucketTargetUrl(buckets, namespace, manifest, req.scope, req.target);
  } catch (err) {
    if (err instanceof HttpError && err.status === 403)
      await audit
        .record({
          action: 'restore',
          actor: caller.username,
          verified: true,
          subject: req.manifestId,
          outcome: 'refused',
          reason: err.message,
        })
        .catch(() => {}); // the refusal stands either way
    throw err;
  }
}

/** Of the selected entries, those a bucket restore writes (a recorded key): what its progress counts. */
export function writtenEntries<E extends Pick<ManifestEntry, 'meta'>>(
  entries: readonly E[],
  bucketUrl: string | undefined,
): E[] {
  return bucketUrl === undefined ? [...entries] : entries.filter((e) => Boolean(artifactKeyOf(e)));
}

/** The core's result, counted for a job's record (conflicts kept: they say what to look at). */
export function summarize(url: string, result: BucketRestoreResult): BucketRestoreSummary {
  return {
    url,
    written: result.written.length,
    unchanged: result.unchanged.length,
    skipped: result.skipped.length,
    bytes: result.bytes,
    conflicts: result.conflicts.slice(0, 100),
  };
}
