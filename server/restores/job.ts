// What a restore job is, whoever runs it: the in-process runner (jobs.ts, embedded mode) or a strata-restore Workflow
// submitted through Argo (workflow-jobs.ts, in a cluster). The REST and GraphQL layers see only RestoreJobService.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ByteSpan } from '../service/log-stream.ts';
import type { Caller } from '../auth/access.ts';

export type RestoreScope =
  { kind: 'workflow' } | { kind: 'log'; nodeId: string; container: string } | { kind: 'artifact'; path: string };

/**
 * Where the restored bytes go: files of the job to download (default), or back into the workflow namespace's artifact
 * repository at the keys Argo recorded (the repository comes from the server's configuration, never the request).
 */
export type RestoreTarget = { kind: 'download' } | { kind: 'bucket'; overwrite: boolean };

export interface RestoreRequest {
  /** The client's idempotency key: the same caller sending the same id gets the same job. */
  requestId: string;
  manifestId: string;
  scope: RestoreScope;
  /** Absent: download. */
  target?: RestoreTarget;
}

export type RestorePhase = 'Pending' | 'Running' | 'Verifying' | 'Succeeded' | 'Failed' | 'Cancelled';
export const TERMINAL: readonly RestorePhase[] = ['Succeeded', 'Failed', 'Cancelled'];

/**
 * The packs the job reads that sit in a cold storage class (GLACIER, DEEP_ARCHIVE): `not-needed` when none do,
 * `thawing` once their restore is requested and until every one is readable, then `ready`.
 */
export interface ThawProgress {
  state: 'not-needed' | 'thawing' | 'ready';
  /** Packs of the workflow in a cold class (0 when not-needed). */
  coldPacks: number;
  /** Of those, readable now (a restored copy). */
  readyPacks: number;
}

export interface RestoreProgress {
  bytesDone: number;
  bytesTotal: number;
  entriesVerified: number;
  entriesTotal: number;
  /** Absent until the job has looked at where its packs are. */
  thaw?: ThawProgress;
}

export interface RestoredFile {
  /** Path inside the job's result (download it from /api/v1/restores/{id}/files/{path}). */
  path: string;
  /** The archive entry it came from. */
  entry: string;
  size: number;
  sha256: string;
}

/** What a restore into the artifact repository did (lib/archive/restore-to-bucket.ts, counted). */
export interface BucketRestoreSummary {
  /** s3://bucket/ of the namespace's artifact repository. */
  url: string;
  written: number;
  /** Already there with the same SHA-256. */
  unchanged: number;
  /** Entries with no recorded key (the Workflow object, sidecar logs). */
  skipped: number;
  bytes: number;
  /** Another object is at the key and overwrite was not asked: left as it is (the job fails). */
  conflicts: Array<{ path: string; key: string; reason: string }>;
}

/** The Argo Workflow that runs a job in a cluster (see it in the Argo UI). */
export interface RestoreWorkflowRef {
  namespace: string;
  name: string;
  uid?: string;
  /** Argo's phase of it (Pending, Running, Succeeded, Failed, Error). */
  phase?: string;
  /** The `restored` output artifact's key in the artifact repository, once the restore step uploaded it. */
  artifactKey?: string;
}

export interface RestoreJob {
  id: string;
  requestId: string;
  manifestId: string;
  namespace: string;
  workflow: string;
  scope: RestoreScope;
  requestedBy: string;
  createdAt: string;
  updatedAt: string;
  phase: RestorePhase;
  progress: RestoreProgress;
  /** Absent on jobs recorded before targets existed: download. */
  target?: RestoreTarget;
  /** A bucket target's outcome: what was written, found there already, left alone. */
  bucket?: BucketRestoreSummary;
  /** Set once Succeeded: every file equal to the manifest's size and SHA-256. */
  result?: { files: RestoredFile[]; bytes: number; verified: true };
  error?: string;
  cancelledBy?: string;
  /** In a cluster: the strata-restore Workflow that runs this job. */
  argoWorkflow?: RestoreWorkflowRef;
}

/** A file of a finished job, and its bytes (a range of them) as a stream. */
export interface ResultFile {
  job: RestoreJob;
  file: RestoredFile;
  open(span?: ByteSpan): Promise<Readable>;
}

/** Restore jobs as the API serves them, whoever runs them. */
export interface RestoreJobService {
  /** Starts a job, or returns the caller's job for the same request id (409 if that asked for something else). */
  create(caller: Caller, req: RestoreRequest): Promise<{ job: RestoreJob; created: boolean }>;
  /** A job the caller may see: their own, or any in a namespace where they may restore (404 otherwise). */
  get(caller: Caller, id: string): Promise<RestoreJob>;
  /** The caller's own jobs, newest first. */
  list(caller: Caller): Promise<RestoreJob[]>;
  cancel(caller: Caller, id: string): Promise<RestoreJob>;
  resultFile(caller: Caller, id: string, path: string): Promise<ResultFile>;
  /** Jobs pending or running (for /metrics). */
  active(): Promise<number>;
}

/** One job per caller and request id, on every replica and after every restart. */
export const restoreJobId = (username: string, requestId: string) =>
  createHash('sha256').update(`${username}\0${requestId}`).digest('hex').slice(0, 32);

const DOWNLOAD: RestoreTarget = { kind: 'download' };
export const targetOf = (x: { target?: RestoreTarget }): RestoreTarget => x.target ?? DOWNLOAD;

export const sameRequest = (job: RestoreJob, req: RestoreRequest) =>
  job.manifestId === req.manifestId &&
  JSON.stringify(job.scope) === JSON.stringify(req.scope) &&
  JSON.stringify(targetOf(job)) === JSON.stringify(targetOf(req));

export const byNewest = (a: RestoreJob, b: RestoreJob) =>
  b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id);
