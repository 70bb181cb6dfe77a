// Which artifact repository Strata may read a workflow's logs and artifacts from: only one its configuration trusts.
// A workflow's status and its namespace's `artifact-repositories` ConfigMap are editable by the tenant, so they may
// select among the trusted repositories, never point Strata (and its S3 credentials) anywhere else.
import type { TrustedArtifactRepository } from '../config/config.ts';

/** What a workflow's status or its namespace's ConfigMap says (ArtifactRepositoryConfig has these fields). */
export interface RepositorySettings {
  source: string;
  bucket: string;
  endpoint?: string;
  insecure?: boolean;
  region?: string;
}

export type { TrustedArtifactRepository };

/** `http://minio:9000/`, `minio:9000`, `MINIO:9000` → `minio:9000`; undefined (AWS) stays undefined. */
function hostOf(endpoint: string | undefined): string | undefined {
  if (!endpoint) return undefined;
  return endpoint
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/+$/, '')
    .toLowerCase();
}

/** Loopback endpoints (tests, a port-forward) may be plain HTTP; nothing else is, unless configuration says so. */
export function isLoopback(endpoint: string): boolean {
  const host = hostOf(endpoint)!.replace(/:\d+$/, '');
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const namespaceAllowed = (entry: TrustedArtifactRepository, namespace: string) =>
  entry.namespaces.includes('*') || entry.namespaces.includes(namespace);

/** The key prefix a namespace's reads must stay under, if the entry sets one. */
export function keyPrefixFor(entry: TrustedArtifactRepository, namespace: string): string | undefined {
  return entry.keyPrefix?.replaceAll('{namespace}', namespace);
}

/**
 * The trusted repository a workflow's recorded (or its namespace's) settings select, with the trusted entry's own
 * endpoint, scheme and region — or why none may be used.
 */
export function trustRepository<R extends RepositorySettings>(
  candidate: R,
  namespace: string,
  trusted: readonly TrustedArtifactRepository[] | undefined,
): { repo: R; entry: TrustedArtifactRepository } | { refused: string } {
  const where = `${candidate.source}: s3://${candidate.bucket}${candidate.endpoint ? ` at ${candidate.endpoint}` : ''}`;
  if (!trusted?.length) {
    return {
      refused: `${where} is not read: no artifact repositories are trusted (configuration artifactRepositories)`,
    };
  }
  const entry = trusted.find((t) => t.bucket === candidate.bucket && hostOf(t.endpoint) === hostOf(candidate.endpoint));
  if (!entry) return { refused: `${where} is not a trusted artifact repository (configuration artifactRepositories)` };
  if (!namespaceAllowed(entry, namespace)) {
    return { refused: `${where} is not trusted for namespace ${namespace}` };
  }
  const plain =
    entry.endpoint && (/^http:\/\//i.test(entry.endpoint) || (!/^https:\/\//i.test(entry.endpoint) && entry.insecure));
  if (plain && !entry.insecure && !isLoopback(entry.endpoint!)) {
    return { refused: `${where}: plain HTTP is not allowed for ${entry.endpoint} (set insecure in its trusted entry)` };
  }
  return {
    entry,
    repo: {
      ...candidate,
      endpoint: entry.endpoint,
      insecure: Boolean(plain),
      region: entry.region ?? candidate.region,
    },
  };
}

/** Why an object of a trusted repository may not be read for this namespace (another bucket, outside its prefix). */
export function objectRefused(
  entry: TrustedArtifactRepository,
  namespace: string,
  bucket: string | undefined,
  key: string,
): string | undefined {
  if (bucket !== undefined && bucket !== entry.bucket) {
    return `s3://${bucket}/${key} is outside the trusted artifact repository s3://${entry.bucket}`;
  }
  const prefix = keyPrefixFor(entry, namespace);
  if (prefix !== undefined && !key.startsWith(prefix)) {
    return `s3://${entry.bucket}/${key} is outside namespace ${namespace}'s prefix ${prefix}`;
  }
  if (key.split('/').includes('..')) return `s3://${entry.bucket}/${key}: a key with ".." is refused`;
  return undefined;
}

/**
 * Why `restore --to-bucket s3://bucket/prefix` may not write `keys` (the keys Argo recorded, written below the target's
 * prefix) for a workflow of `namespace` (on a cluster: only into a repository trusted for that namespace, at Strata's
 * S3 endpoint, every key inside the namespace's key prefix). The keys come from the workflow's status, which its
 * tenant could edit: each one is checked, not just the target.
 */
export function restoreTargetRefused(
  target: { bucket: string; prefix: string },
  namespace: string,
  trusted: readonly TrustedArtifactRepository[] | undefined,
  s3Endpoint: string | undefined,
  keys: readonly string[],
): string | undefined {
  const where = `s3://${target.bucket}/${target.prefix}`;
  const entry = trusted?.find((t) => t.bucket === target.bucket && hostOf(t.endpoint) === hostOf(s3Endpoint));
  if (!entry) return `${where} is not a trusted artifact repository (configuration artifactRepositories)`;
  if (!namespaceAllowed(entry, namespace)) return `${where} is not trusted for namespace ${namespace}`;
  const prefix = keyPrefixFor(entry, namespace);
  if (prefix !== undefined && target.prefix !== '' && !target.prefix.startsWith(prefix)) {
    return `${where} is outside namespace ${namespace}'s prefix ${prefix}`;
  }
  for (const key of keys) {
    const refused = objectRefused(entry, namespace, undefined, target.prefix + key);
    if (refused) return `restoring ${key} would write ${refused}`;
  }
  return undefined;
}

/**
 * The artifact repository a restore job of the API writes into: one configuration trusts for the workflow's namespace
 * at Strata's S3 endpoint, never one a caller names. When several are trusted for the namespace, the bucket the
 * archive recorded (the workflow's own repository) chooses among them; nothing else does.
 */
export function namespaceRestoreTarget(
  namespace: string,
  recordedBuckets: readonly string[],
  trusted: readonly TrustedArtifactRepository[] | undefined,
  s3Endpoint: string | undefined,
): { bucket: string } | { refused: string } {
  const candidates = (trusted ?? []).filter(
    (t) => hostOf(t.endpoint) === hostOf(s3Endpoint) && namespaceAllowed(t, namespace),
  );
  if (candidates.length === 0)
    return {
      refused: `no artifact repository is trusted for namespace ${namespace} at Strata's S3 endpoint (configuration artifactRepositories)`,
    };
  const recorded = candidates.filter((t) => recordedBuckets.includes(t.bucket));
  if (recorded.length === 1) return { bucket: recorded[0]!.bucket };
  if (candidates.length === 1) return { bucket: candidates[0]!.bucket };
  return {
    refused: `namespace ${namespace} has ${candidates.length} trusted artifact repositories and the archive records none of them: restore with strata restore --to-bucket`,
  };
}
