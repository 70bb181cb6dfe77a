// Argo's artifact repository settings (the `artifact-repositories` ConfigMap) and a reader for its S3 objects.
import type { Readable } from 'node:stream';
import { parse, stringify } from 'yaml';
import type { S3Config } from '../config/config.ts';
import { ConfigError, InputError } from '../errors.ts';
import { openStore, parseStoreUrl } from '../store/open.ts';
import type { ObjectStore } from '../store/store.ts';
import type { ArtifactReader } from './artifact-reader.ts';
import type { ClusterApi } from '../kube/cluster-api.ts';
import { objectRefused, trustRepository, type TrustedArtifactRepository } from './trusted-artifact-repositories.ts';

export interface ArtifactRepositoryConfig {
  /** Where the settings came from, e.g. `argo/artifact-repositories#default-v1`. */
  source: string;
  bucket: string;
  endpoint?: string;
  insecure?: boolean;
  region?: string;
  keyFormat?: string;
  archiveLogs: boolean;
}

/** The ConfigMap key Argo uses when no other is named (annotation `workflows.argoproj.io/default-artifact-repository`). */
const DEFAULT_KEY_ANNOTATION = 'workflows.argoproj.io/default-artifact-repository';

/** Reads `<namespace>/artifact-repositories`; undefined when absent; ConfigError when present but unusable. */
export async function readArtifactRepository(
  cluster: Pick<ClusterApi, 'readConfigMap'>,
  namespace: string,
  name = 'artifact-repositories',
): Promise<ArtifactRepositoryConfig | undefined> {
  const cm = await cluster.readConfigMap(namespace, name);
  if (!cm) return undefined;
  const key = cm.metadata.annotations?.[DEFAULT_KEY_ANNOTATION] ?? Object.keys(cm.data ?? {}).sort()[0];
  const source = `${namespace}/${name}#${key ?? '?'}`;
  const text = key ? cm.data?.[key] : undefined;
  if (!text) throw new ConfigError('artifact repository ConfigMap has no entries', { key: source });
  return parseArtifactRepository(text, source);
}

export function parseArtifactRepository(text: string, source: string): ArtifactRepositoryConfig {
  const doc = parse(text) as { archiveLogs?: boolean; s3?: Record<string, unknown> } | null;
  const s3 = doc?.s3;
  if (!s3 || typeof s3.bucket !== 'string') {
    throw new ConfigError('only S3-compatible artifact repositories (s3.bucket) are supported', { key: source });
  }
  const endpoint = typeof s3.endpoint === 'string' ? s3.endpoint : undefined;
  return {
    source,
    bucket: s3.bucket,
    endpoint,
    insecure: s3.insecure === true,
    region: typeof s3.region === 'string' ? s3.region : undefined,
    keyFormat: typeof s3.keyFormat === 'string' ? s3.keyFormat : undefined,
    archiveLogs: doc?.archiveLogs === true,
  };
}

/** An endpoint URL for the S3 client (`minio:9000` + insecure → `http://minio:9000`). */
export function endpointUrl(repo: ArtifactRepositoryConfig): string | undefined {
  if (!repo.endpoint) return undefined;
  if (/^https?:\/\//.test(repo.endpoint)) return repo.endpoint;
  return `${repo.insecure ? 'http' : 'https'}://${repo.endpoint}`;
}

/** Reads artifacts through object stores, one per bucket (the default bucket unless the artifact names another). */
export function objectStoreArtifactReader(
  defaultBucket: string,
  storeFor: (bucket: string) => ObjectStore,
): ArtifactReader {
  const stores = new Map<string, ObjectStore>();
  const get = (bucket: string | undefined) => {
    const b = bucket ?? defaultBucket;
    let s = stores.get(b);
    if (!s) stores.set(b, (s = storeFor(b)));
    return s;
  };
  return {
    description: `s3://${defaultBucket}`,
    async size(bucket: string | undefined, key: string): Promise<number | undefined> {
      return (await get(bucket).head(key))?.size;
    },
    open(bucket: string | undefined, key: string): Promise<Readable> {
      return get(bucket).get(key);
    },
  };
}

/** Settings Argo recorded in the workflow itself (`status.artifactRepositoryRef.artifactRepository`), if any. */
export function recordedArtifactRepository(workflow: {
  status?: Record<string, unknown>;
}): ArtifactRepositoryConfig | undefined {
  const ref = workflow.status?.artifactRepositoryRef as
    { artifactRepository?: unknown; configMap?: string; key?: string } | undefined;
  if (!ref?.artifactRepository || typeof ref.artifactRepository !== 'object') return undefined;
  return parseArtifactRepository(
    stringify(ref.artifactRepository),
    `status.artifactRepositoryRef${ref.configMap ? ` (${ref.configMap}#${ref.key ?? ''})` : ''}`,
  );
}

/** A workflow's trusted artifact repository: its store, and the rule for which of its objects Strata may touch. */
export interface TrustedRepositoryAccess {
  /** `s3://bucket` (at endpoint). */
  description: string;
  bucket: string;
  store: ObjectStore;
  /** Why an object (Argo's recorded bucket, key) may not be read or deleted for this workflow, if it may not. */
  refused(bucket: string | undefined, key: string): string | undefined;
  /** Why finalize may not delete originals here at all (the trusted entry says deleteOriginals: false). */
  keepsOriginals?: string;
}

/**
 * Picks each workflow's artifact repository: what Argo recorded in its status, else the `artifact-repositories`
 * ConfigMap of its namespace (read once per namespace) — both only select among the `trusted` repositories (Strata's
 * configuration), whose own endpoint, scheme and region are used; anything else throws InputError. Undefined when
 * the workflow names no repository. `openBucket` builds the object store for a bucket.
 */
export function trustedRepositoryFor(
  cluster: Pick<ClusterApi, 'readConfigMap'>,
  openBucket: (bucket: string, repo: ArtifactRepositoryConfig) => ObjectStore,
  trusted: readonly TrustedArtifactRepository[] | undefined,
): (workflow: {
  metadata: { namespace?: string };
  status?: Record<string, unknown>;
}) => Promise<TrustedRepositoryAccess | undefined> {
  const byNamespace = new Map<string, Promise<ArtifactRepositoryConfig | undefined>>();
  const stores = new Map<string, ObjectStore>();
  return async (workflow) => {
    const ns = workflow.metadata.namespace ?? 'default';
    let candidate = recordedArtifactRepository(workflow);
    if (!candidate) {
      if (!byNamespace.has(ns)) byNamespace.set(ns, readArtifactRepository(cluster, ns));
      candidate = await byNamespace.get(ns)!;
    }
    if (!candidate) return undefined;
    const decision = trustRepository(candidate, ns, trusted);
    if ('refused' in decision) throw new InputError(decision.refused);
    const { repo, entry } = decision;
    const id = `${repo.endpoint ?? ''}|${repo.bucket}`;
    let store = stores.get(id);
    if (!store) stores.set(id, (store = openBucket(repo.bucket, repo)));
    return {
      description: `s3://${repo.bucket}${repo.endpoint ? ` at ${repo.endpoint}` : ''}`,
      bucket: repo.bucket,
      store,
      refused: (bucket, key) => objectRefused(entry, ns, bucket, key),
      ...(entry.deleteOriginals === false && {
        keepsOriginals: `the trusted entry for s3://${entry.bucket} says deleteOriginals: false`,
      }),
    };
  };
}

/**
 * Reads each workflow's logs and artifacts from its trusted repository (trustedRepositoryFor); anything else
 * throws (its logs and artifacts are then recorded missing, with the reason).
 */
export function artifactReaderFor(
  cluster: ClusterApi,
  openBucket: (bucket: string, repo: ArtifactRepositoryConfig) => ObjectStore,
  trusted: readonly TrustedArtifactRepository[] | undefined,
): (workflow: {
  metadata: { namespace?: string };
  status?: Record<string, unknown>;
}) => Promise<ArtifactReader | undefined> {
  const resolve = trustedRepositoryFor(cluster, openBucket, trusted);
  return async (workflow) => {
    const access = await resolve(workflow);
    if (!access) return undefined;
    const inner = objectStoreArtifactReader(access.bucket, () => access.store);
    const check = (bucket: string | undefined, key: string) => {
      const refused = access.refused(bucket, key);
      if (refused) throw new InputError(refused);
    };
    return {
      description: inner.description,
      async size(bucket, key) {
        check(bucket, key);
        return inner.size(bucket, key);
      },
      async open(bucket, key) {
        check(bucket, key);
        return inner.open(bucket, key);
      },
    };
  };
}

/** One repository for every workflow (a URL given by hand); an artifact Argo recorded in another S3 bucket fails. */
export function storeArtifactReader(store: ObjectStore, bucket?: string): ArtifactReader {
  const check = (recorded: string | undefined) => {
    if (bucket && recorded && recorded !== bucket)
      throw new InputError(`recorded in bucket ${recorded}, not in the artifact repository given (${store.url})`);
  };
  return {
    description: store.url,
    async size(recorded: string | undefined, key: string): Promise<number | undefined> {
      check(recorded);
      return (await store.head(key))?.size;
    },
    async open(recorded: string | undefined, key: string): Promise<Readable> {
      check(recorded);
      return store.get(key);
    },
  };
}

/**
 * Where a cluster archive reads the logs of deleted pods and the output artifacts: `undefined` → each workflow's
 * own repository (its status, else its namespace's ConfigMap) when it is one of the `trusted`, read with Strata's S3
 * credentials; a URL given by the operator (`s3://bucket[/prefix]`, `file:/path`) → that one for every workflow; `false` → none (recorded missing).
 */
export function clusterArtifactReaders(
  cluster: ClusterApi,
  spec: string | false | undefined,
  s3: S3Config,
  trusted: readonly TrustedArtifactRepository[] | undefined,
): ArtifactReader | ReturnType<typeof artifactReaderFor> | undefined {
  if (spec === false) return undefined;
  if (spec !== undefined) {
    const location = parseStoreUrl(spec);
    return storeArtifactReader(openStore(spec, s3), location.kind === 's3' ? location.bucket : undefined);
  }
  return artifactReaderFor(cluster, artifactBucketOpener(s3), trusted);
}

/** Opens an artifact repository's bucket with Strata's S3 credentials at the trusted entry's endpoint and region. */
export function artifactBucketOpener(s3: S3Config): (bucket: string, repo: ArtifactRepositoryConfig) => ObjectStore {
  return (bucket, repo) =>
    openStore(`s3://${bucket}`, {
      ...s3,
      endpoint: endpointUrl(repo) ?? s3.endpoint,
      region: repo.region ?? s3.region,
      forcePathStyle: repo.endpoint ? true : s3.forcePathStyle,
    });
}
