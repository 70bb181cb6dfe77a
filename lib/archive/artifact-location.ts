// Where Argo's artifact repository held an archived log or artifact: the key (and bucket) a manifest entry recorded.
import type { ManifestEntry } from './manifest.ts';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * The key Argo recorded for an entry: `s3Key` (artifact repository source), or the `s3.key` of the Argo artifact
 * object kept as the entry's meta (directory export: outputs.artifacts[*], and a main log's archived-log artifact).
 */
export function artifactKeyOf(entry: Pick<ManifestEntry, 'meta'>): string | undefined {
  const meta = entry.meta;
  if (!isRecord(meta)) return undefined;
  if (typeof meta.s3Key === 'string') return meta.s3Key;
  for (const artifact of [meta, meta.artifact]) {
    if (isRecord(artifact) && isRecord(artifact.s3) && typeof artifact.s3.key === 'string') return artifact.s3.key;
  }
  return undefined;
}

/** The bucket Argo recorded for an entry's artifact (`s3.bucket`), when it names one; else the repository's own. */
export function artifactBucketOf(entry: Pick<ManifestEntry, 'meta'>): string | undefined {
  const meta = entry.meta;
  if (!isRecord(meta)) return undefined;
  for (const artifact of [meta, meta.artifact]) {
    if (isRecord(artifact) && isRecord(artifact.s3) && typeof artifact.s3.bucket === 'string')
      return artifact.s3.bucket;
  }
  return undefined;
}
