// The archive engine's public API: everything other areas may import from lib/archive.
export {
  initRepository,
  openRepository,
  DEFAULT_GROUP,
  type Repository,
  type RepositoryConfig,
  type RepositoryOptions,
} from './repository.ts';
export {
  archiveBundle,
  type ArchiveOptions,
  type ArchiveResult,
  type ArchiveStats,
  type RetainUntil,
} from './archiver.ts';
export { archiveSource, type SourceArchiveOptions, type SourceArchiveReport } from './batch.ts';
export { loadGroupIndex, type ChunkIndex } from './chunk-index.ts';
export type { Manifest, ManifestEntry } from './manifest.ts';
export {
  archivedNamespace,
  describeResolution,
  listManifests,
  namesWorkflow,
  readManifest,
  resolveManifest,
  type ManifestInfo,
  type OtherArchive,
  type ResolvedManifest,
} from './manifest-lookup.ts';
export { PackReader } from './pack-reader.ts';
export {
  selectEntries,
  restoreEntries,
  openEntry,
  streamEntry,
  archivedWorkflowObject,
  restoreWorkflow,
  RESUBMIT_FILE,
  type EntrySelector,
  type EntrySelection,
  type EntriesRestoreResult,
  type RestoreOptions,
  type RestoreResult,
} from './restorer.ts';
export { artifactBucketOf, artifactKeyOf } from './artifact-location.ts';
export {
  bucketEntriesOf,
  bucketKeysOf,
  restoreToBucket,
  type BucketRestoreOptions,
  type BucketRestoreResult,
} from './restore-to-bucket.ts';
export { argoNodeId, resubmitWorkflow, type ResubmitOptions } from './argo-resubmit.ts';
export { verifyRepository, type Problem, type VerifyOptions, type VerifyReport } from './checker.ts';
export { collectGarbage, type GcOptions, type GcReport } from './gc.ts';
