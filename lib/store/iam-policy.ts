// The S3 permissions each of Strata's accounts needs, from one table: the store operations each command uses, and the
// S3 actions each operation sends (lib/store/s3.ts). test/store/iam-policy.test.ts checks the first against what the
// commands do, the second against the adapter's code, and the accounts against the templates; docs/security.md
// lists the result and `npx tsx hack/iam-policies.ts s3://bucket/prefix` prints the IAM policies.

/** The store port's operations (ObjectStore and its optional capabilities, lib/store/store.ts). */
export type StoreOperation =
  | 'put'
  | 'get'
  | 'head'
  | 'list'
  | 'delete'
  | 'setStorageClass'
  | 'restore'
  | 'setLegalHold'
  | 'setRetention'
  | 'listVersions'
  | 'listUnfinished'
  | 'removeUnfinished';

/** The IAM actions an S3 API call needs (HEAD needs GetObject; a copy reads and writes; a version delete its own). */
export const S3_CALL_ACTIONS: Record<string, readonly string[]> = {
  PutObjectCommand: ['s3:PutObject'],
  // lib-storage's multipart upload (large bodies), aborted when it fails.
  Upload: ['s3:PutObject', 's3:AbortMultipartUpload'],
  GetObjectCommand: ['s3:GetObject'],
  HeadObjectCommand: ['s3:GetObject'],
  ListObjectsV2Command: ['s3:ListBucket'],
  DeleteObjectsCommand: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  GetBucketVersioningCommand: ['s3:GetBucketVersioning'],
  ListObjectVersionsCommand: ['s3:ListBucketVersions'],
  CopyObjectCommand: ['s3:GetObject', 's3:PutObject'],
  RestoreObjectCommand: ['s3:RestoreObject'],
  PutObjectLegalHoldCommand: ['s3:PutObjectLegalHold'],
  PutObjectRetentionCommand: ['s3:PutObjectRetention'],
  ListMultipartUploadsCommand: ['s3:ListBucketMultipartUploads'],
  ListPartsCommand: ['s3:ListMultipartUploadParts'],
  AbortMultipartUploadCommand: ['s3:AbortMultipartUpload'],
};

/**
 * What each operation asks S3 for. `put` also probes once whether the server honours conditional writes: it writes
 * and deletes one object under `.strata-probe/` (PROBE_ACTIONS, granted on that prefix only).
 */
export const OPERATION_ACTIONS: Record<StoreOperation, readonly string[]> = {
  put: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'],
  get: ['s3:GetObject'],
  head: ['s3:GetObject'],
  list: ['s3:ListBucket'],
  // In a versioned bucket a delete removes every version (the data is gone, not hidden behind a marker).
  delete: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:ListBucketVersions', 's3:GetBucketVersioning'],
  // A class change is a copy onto itself; in a versioned bucket the replaced version is deleted.
  setStorageClass: [
    's3:GetObject',
    's3:PutObject',
    's3:DeleteObject',
    's3:DeleteObjectVersion',
    's3:GetBucketVersioning',
  ],
  restore: ['s3:GetObject', 's3:RestoreObject'],
  setLegalHold: ['s3:PutObjectLegalHold'],
  setRetention: ['s3:PutObjectRetention'],
  listVersions: ['s3:ListBucketVersions'],
  listUnfinished: ['s3:ListBucketMultipartUploads', 's3:ListMultipartUploadParts'],
  removeUnfinished: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
};

export const PROBE_PREFIX = '.strata-probe/';
export const PROBE_ACTIONS = ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'] as const;

/** Every command reads the repository (manifests, indexes, holds) and records what it did in the audit log (put). */
const READ_AND_AUDIT: StoreOperation[] = ['get', 'head', 'list', 'put'];
/** Legal holds and compliance retention the store enforces (lib/tier/object-lock.ts), where it has Object Lock. */
const LOCKS: StoreOperation[] = ['setLegalHold', 'setRetention'];

/** The store operations each `strata` command a template runs may use. */
export const COMMAND_OPERATIONS: Record<string, readonly StoreOperation[]> = {
  // The sweep's watermark lives in a ConfigMap; assess opens the store only with --watermark=store.
  assess: [],
  // Packs, indexes, the manifest; COMPLIANCE retention set on what a compliance class wrote.
  archive: [...READ_AND_AUDIT, 'setRetention'],
  index: ['get', 'head', 'list'],
  verify: [...READ_AND_AUDIT, 'listUnfinished'],
  finalize: READ_AND_AUDIT,
  watch: [...READ_AND_AUDIT, 'setRetention'],
  restore: READ_AND_AUDIT,
  // Restores a sample into a local sandbox and records the evidence.
  drill: READ_AND_AUDIT,
  // Asks S3 for readable copies of archived-class packs before a restore.
  thaw: [...READ_AND_AUDIT, 'restore'],
  hold: [...READ_AND_AUDIT, ...LOCKS],
  // Pack, record and journal removal (never a workflow's data without its deletion journal).
  'emergency-delete': [...READ_AND_AUDIT, 'delete', ...LOCKS],
  // Class moves, restores from archive classes, expiry; old versions of moved packs.
  tier: [...READ_AND_AUDIT, 'delete', 'setStorageClass', 'restore', 'listVersions', ...LOCKS],
  gc: [...READ_AND_AUDIT, 'delete', 'listUnfinished', 'removeUnfinished'],
  // Sealing records into a segment removes the records it sealed.
  audit: [...READ_AND_AUDIT, 'delete'],
};

/** Which commands each ServiceAccount runs (templates/base, components/watch; the test checks it against them). */
export const ACCOUNT_COMMANDS: Record<string, readonly string[]> = {
  'strata-archiver': ['assess', 'archive', 'index', 'verify', 'audit'],
  'strata-finalizer': ['finalize'],
  'strata-watcher': ['watch'],
  'strata-emergency': ['emergency-delete'],
  'strata-operator': ['restore', 'thaw', 'hold'],
  'strata-tiering': ['tier', 'gc', 'audit'],
  'strata-verifier': ['verify', 'drill'],
};

/** Bucket-level actions; listings can be held to the repository's prefix (`s3:prefix`), the others cannot. */
const LISTINGS = new Set(['s3:ListBucket', 's3:ListBucketVersions']);
/**
 * What the accounts do in Argo's artifact repositories (the trusted `artifactRepositories`, read with these same
 * credentials under IRSA): archiving reads logs and artifacts; finalize checks and deletes the originals it archived
 * (lib/pipeline/artifact-originals.ts, unless the entry says deleteOriginals: false); the watcher does both.
 */
export const ARTIFACT_REPOSITORY_OPERATIONS: Record<string, readonly StoreOperation[]> = {
  'strata-archiver': ['get', 'head', 'list'],
  'strata-finalizer': ['get', 'head', 'delete'],
  'strata-watcher': ['get', 'head', 'list', 'delete'],
};

const BUCKET_ACTIONS = new Set([...LISTINGS, 's3:ListBucketMultipartUploads', 's3:GetBucketVersioning']);

export function accountOperations(account: string): StoreOperation[] {
  const commands = ACCOUNT_COMMANDS[account];
  if (!commands) throw new Error(`no S3 permissions are defined for account ${account}`);
  return [...new Set(commands.flatMap((c) => COMMAND_OPERATIONS[c] ?? []))].sort();
}

/** The S3 actions an account needs, object-level and bucket-level, sorted. */
export function accountActions(account: string): { object: string[]; bucket: string[]; probe: boolean } {
  const ops = accountOperations(account);
  const all = new Set(ops.flatMap((o) => OPERATION_ACTIONS[o]));
  return {
    object: [...all].filter((a) => !BUCKET_ACTIONS.has(a)).sort(),
    bucket: [...all].filter((a) => BUCKET_ACTIONS.has(a)).sort(),
    probe: ops.includes('put'),
  };
}

export interface IamPolicyOptions {
  bucket: string;
  /** The repository's prefix in the bucket (`s3://bucket/<prefix>`), '' for the whole bucket. */
  prefix: string;
  /** Argo's artifact repositories Strata reads (and finalize cleans), as in `artifactRepositories`. */
  artifactRepositories?: { bucket: string; prefix: string }[];
  /** With SSE-KMS: the key's ARN (writes need GenerateDataKey, reads Decrypt). */
  kmsKeyArn?: string;
}

/** The IAM policy document for one account (an IRSA / workload identity role's policy). */
export function iamPolicy(account: string, opts: IamPolicyOptions): Record<string, unknown> {
  const { object, bucket, probe } = accountActions(account);
  const prefix = opts.prefix ? opts.prefix.replace(/\/*$/, '/') : '';
  const statements: Record<string, unknown>[] = [];
  if (object.length)
    statements.push({
      Sid: 'Repository',
      Effect: 'Allow',
      Action: object,
      Resource: `arn:aws:s3:::${opts.bucket}/${prefix}*`,
    });
  const listings = bucket.filter((a) => LISTINGS.has(a));
  const others = bucket.filter((a) => !LISTINGS.has(a));
  if (listings.length)
    statements.push({
      Sid: 'RepositoryListing',
      Effect: 'Allow',
      Action: listings,
      Resource: `arn:aws:s3:::${opts.bucket}`,
      ...(prefix ? { Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } } } : {}),
    });
  if (others.length)
    statements.push({ Sid: 'Bucket', Effect: 'Allow', Action: others, Resource: `arn:aws:s3:::${opts.bucket}` });
  if (probe)
    statements.push({
      Sid: 'ConditionalWriteProbe',
      Effect: 'Allow',
      Action: [...PROBE_ACTIONS],
      Resource: `arn:aws:s3:::${opts.bucket}/${prefix}${PROBE_PREFIX}*`,
    });
  const artifactOps = ARTIFACT_REPOSITORY_OPERATIONS[account] ?? [];
  for (const [i, repo] of (opts.artifactRepositories ?? []).entries()) {
    if (!artifactOps.length) break;
    const actions = new Set(artifactOps.flatMap((o) => OPERATION_ACTIONS[o]));
    const repoPrefix = repo.prefix ? repo.prefix.replace(/\/*$/, '/') : '';
    statements.push({
      Sid: `ArtifactRepository${i}`,
      Effect: 'Allow',
      Action: [...actions].filter((a) => !BUCKET_ACTIONS.has(a)).sort(),
      Resource: `arn:aws:s3:::${repo.bucket}/${repoPrefix}*`,
    });
    const bucketActions = [...actions].filter((a) => BUCKET_ACTIONS.has(a)).sort();
    if (bucketActions.length)
      statements.push({
        Sid: `ArtifactRepositoryBucket${i}`,
        Effect: 'Allow',
        Action: bucketActions,
        Resource: `arn:aws:s3:::${repo.bucket}`,
      });
  }
  if (opts.kmsKeyArn) {
    const kms = [
      ...(object.some((a) => a === 's3:GetObject') ? ['kms:Decrypt'] : []),
      ...(object.some((a) => a === 's3:PutObject') ? ['kms:GenerateDataKey'] : []),
    ];
    if (kms.length) statements.push({ Sid: 'SseKms', Effect: 'Allow', Action: kms, Resource: opts.kmsKeyArn });
  }
  return { Version: '2012-10-17', Statement: statements };
}
