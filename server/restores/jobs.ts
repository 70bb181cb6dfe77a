// Restore jobs run in the server's own process (embedded mode): a caller asks for a whole workflow, one log or one
// artifact; the server thaws its cold packs if any, restores it into the job's own directory in the background
// (staged, verified against the manifest, moved in at once), then hashes what landed on disk once more. Job records
// live in the archive's store (job-records.ts), so every replica on that store sees every job and its progress; the
// replica that took a job runs it, and runs it again after a restart (a restore is idempotent: the staging of an
// interrupted run is discarded). One job per caller and request id. A runner renews its jobs' lease (a heartbeat in
// the record); a job whose lease expired (its replica is gone) is taken over by exactly one other replica, the one
// whose claim of the next lease generation wins, and the old runner, should it come back, sees that claim and stops
// writing. Finished jobs expire after a while, with their result files.
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AuditLog } from '../../lib/audit/audit.ts';
import { systemClock, type Clock } from '../../lib/clock.ts';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { readManifest } from '../../lib/archive/manifest-lookup.ts';
import type { Manifest, ManifestEntry } from '../../lib/archive/manifest.ts';
import type { Repository } from '../../lib/archive/repository.ts';
import { restoreEntries, restoreWorkflow, safeTarget, selectEntries } from '../../lib/archive/restorer.ts';
import { restoreToBucket } from '../../lib/archive/restore-to-bucket.ts';
import { describeError } from '../../lib/errors.ts';
import type { Progress } from '../../lib/progress.ts';
import { digestOf } from '../../lib/store/sha256.ts';
import { RESTORE_CLASSES } from '../../lib/tier/storage-class.ts';
import { planThaw, requestThaw, thawStates, type PackThawState } from '../../lib/tier/thaw.ts';
import { HttpError } from '../api/errors.ts';
import { admitRestore, recordStarted } from './admit-request.ts';
import type { Authorizer, Caller } from '../auth/access.ts';
import { DirJobRecords, type JobRecords } from './job-records.ts';
import {
  byNewest,
  restoreJobId,
  sameRequest,
  TERMINAL,
  type RestoredFile,
  type RestoreJob,
  type RestoreJobService,
  type RestorePhase,
  type RestoreRequest,
  type ResultFile,
  type ThawProgress,
  targetOf,
} from './job.ts';
import { archivedBytes, mayViewJob, selectorOf, selectScope } from './restorable.ts';
import { bucketTargetUrl, summarize, type ArtifactBuckets } from './artifact-bucket.ts';

export type { RestoredFile, RestoreJob, RestorePhase, RestoreRequest, RestoreScope, ThawProgress } from './job.ts';

/**
 * The embedded runner's record of a job: which replica runs it (it resumes it after a restart) and its lease: the
 * generation it claimed and when it last said it is alive (records from before leases: generation 1, `updatedAt`).
 */
type RunnerJob = RestoreJob & { runner?: string; lease?: { generation: number; heartbeatAt: string } };

export interface RestoreJobsDeps {
  catalog: Catalog;
  repository(): Promise<Repository>;
  authorizer: Authorizer;
  audit: AuditLog;
  /** Where results (and, without `records`, job records) live on this replica. */
  dir: string;
  /** Where job records live (default: files in `dir`); the archive's store for several replicas. */
  records?: JobRecords;
  /** This replica's name (default: the host name): it resumes the unfinished jobs it took. */
  replica?: string;
  /** Jobs running at once (the rest wait, Pending). */
  concurrency?: number;
  /** How long to wait between looks at packs that are thawing (default 5 min; S3 thaws take hours). */
  thawPollMs?: number;
  /** Days a thawed copy stays readable (default 7). */
  thawDays?: number;
  /** The artifact repositories a job may restore into (configuration artifactRepositories); none without. */
  artifactBuckets?: ArtifactBuckets;
  /** Awaited once a job is Running, before it reads the archive (tests hold a job there to cancel or restart it). */
  beforeRead?(job: RestoreJob): Promise<void>;
  /** Failures outside any request (logged by the command). */
  onError?(err: unknown): void;
  /** Time for leases and expiry (default the system's). */
  clock?: Clock;
  /** A job whose runner has not renewed its lease for this long is taken over (default 2 min; renewed every third). */
  leaseMs?: number;
  /** Finished jobs (records and result files) are removed this long after they ended (default 7 days). */
  retainFinishedMs?: number;
}

class Cancelled extends Error {}

/** Another replica took the job over (this one was presumed gone): it stops, and writes nothing more. */
class LeaseLost extends Error {}

export const DEFAULT_LEASE_MS = 120_000;
export const DEFAULT_RETAIN_FINISHED_MS = 7 * 24 * 3600_000;

/** The job as the API shows it: which replica runs it is the runner's own business. */
function view(job: RunnerJob): RestoreJob {
  const { runner: _runner, lease: _lease, ...shown } = job;
  return shown;
}

/** How often (bytes) a running job's progress is written to its record. */
const PERSIST_EVERY = 4 * 1024 * 1024;

/** Cold packs of a workflow and how many of them are readable now. */
function thawProgressOf(states: readonly PackThawState[]): ThawProgress {
  const cold = states.filter((s) => s.storageClass && RESTORE_CLASSES.has(s.storageClass));
  const ready = cold.filter((s) => s.restore === 'restored').length;
  if (cold.length === 0) return { state: 'not-needed', coldPacks: 0, readyPacks: 0 };
  return { state: ready === cold.length ? 'ready' : 'thawing', coldPacks: cold.length, readyPacks: ready };
}

export class RestoreJobs implements RestoreJobService {
  /** The jobs this replica runs or queued (the records of the others are read from `records`). */
  private readonly jobs = new Map<string, RunnerJob>();
  private readonly aborts = new Map<string, AbortController>();
  private readonly queue: string[] = [];
  private running = 0;
  private readonly settled = new Map<string, Array<() => void>>();
  private readonly records: JobRecords;
  private readonly replica: string;
  private readonly clock: Clock;
  private readonly leaseMs: number;
  /** Jobs another replica took over from this one: whatever this one still does with them is dropped. */
  private readonly lost = new Set<string>();
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(private readonly deps: RestoreJobsDeps) {
    this.records = deps.records ?? new DirJobRecords(deps.dir);
    this.replica = deps.replica ?? hostname();
    this.clock = deps.clock ?? systemClock;
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /**
   * Loads the jobs this replica took in earlier runs and starts again those that had not finished (unless another
   * replica took them over meanwhile).
   */
  static async open(deps: RestoreJobsDeps): Promise<RestoreJobs> {
    const jobs = new RestoreJobs(deps);
    await mkdir(deps.dir, { recursive: true });
    for (const job of (await jobs.records.all()) as RunnerJob[]) {
      if (TERMINAL.includes(job.phase) || (job.runner !== undefined && job.runner !== jobs.replica)) continue;
      const generation = job.lease?.generation ?? 1;
      if (await jobs.records.claimed(job.id, generation + 1)) continue;
      await jobs.take(job, generation);
    }
    return jobs;
  }

  /** Starts running a job this replica holds the lease of (again from the start: a restore is idempotent). */
  private async take(job: RunnerJob, generation: number): Promise<void> {
    job.runner = this.replica;
    job.lease = { generation, heartbeatAt: this.clock.now().toISOString() };
    job.phase = 'Pending';
    job.progress = { ...job.progress, bytesDone: 0, entriesVerified: 0 };
    this.jobs.set(job.id, job);
    try {
      await this.persist(job);
    } catch (err) {
      if (err instanceof LeaseLost) return; // taken over again in between: the newer claim runs it
      throw err;
    }
    this.enqueue(job.id);
  }

  /**
   * Renews the lease of every job this replica runs or queued; drops those another replica took over. Runs every
   * third of the lease (startMaintenance); tests call it with their clock.
   */
  async heartbeat(): Promise<void> {
    for (const job of [...this.jobs.values()]) {
      try {
        await this.persist(job);
      } catch (err) {
        if (!(err instanceof LeaseLost)) this.deps.onError?.(err);
      }
    }
  }

  /**
   * Takes over the unfinished jobs whose lease expired (their replica is gone): each goes to the one replica whose
   * claim of the next generation is created first. Removes finished jobs older than `retainFinishedMs`, and this
   * replica's result files of jobs that no longer exist or that another replica ran.
   */
  async sweep(): Promise<void> {
    const now = this.clock.now().getTime();
    const retain = this.deps.retainFinishedMs ?? DEFAULT_RETAIN_FINISHED_MS;
    const kept = new Map<string, RunnerJob>();
    for (const job of (await this.records.all()) as RunnerJob[]) {
      if (TERMINAL.includes(job.phase)) {
        if (now - Date.parse(job.updatedAt) >= retain) await this.records.remove(job.id);
        else kept.set(job.id, job);
        continue;
      }
      kept.set(job.id, job);
      if (this.jobs.has(job.id)) continue;
      if (now - Date.parse(job.lease?.heartbeatAt ?? job.updatedAt) < this.leaseMs) continue;
      const generation = (job.lease?.generation ?? 1) + 1;
      if (!(await this.records.claim(job.id, generation, this.replica))) continue;
      this.lost.delete(job.id);
      await this.take(job, generation);
    }
    let local: string[] = [];
    try {
      local = await readdir(join(this.deps.dir, 'results'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const id of local) {
      const job = kept.get(id);
      if (this.jobs.has(id) || (job && job.runner === this.replica)) continue;
      await rm(this.filesDir(id), { recursive: true, force: true });
    }
  }

  /** Heartbeats and sweeps in the background until the returned function is called (strata serve). */
  startMaintenance(): () => void {
    const report = (err: unknown) => this.deps.onError?.(err);
    void this.sweep().catch(report);
    const beat = setInterval(() => void this.heartbeat().catch(report), Math.max(1000, this.leaseMs / 3));
    const sweep = setInterval(() => void this.sweep().catch(report), Math.max(1000, this.leaseMs));
    beat.unref();
    sweep.unref();
    return () => {
      clearInterval(beat);
      clearInterval(sweep);
    };
  }

  private filesDir(id: string) {
    return join(this.deps.dir, 'results', id);
  }

  /**
   * Writes the job's record, renewing its lease — unless another replica claimed the next generation: then this one
   * lost the job, drops it and throws LeaseLost (its successor's record is left alone).
   */
  private persist(job: RunnerJob): Promise<void> {
    // One write at a time per job, in order: a heartbeat's older copy never lands after the final phase.
    const next = (this.writes.get(job.id) ?? Promise.resolve()).catch(() => {}).then(() => this.write(job));
    this.writes.set(job.id, next);
    void next
      .catch(() => {})
      .finally(() => {
        if (this.writes.get(job.id) === next) this.writes.delete(job.id);
      });
    return next;
  }

  private async write(job: RunnerJob): Promise<void> {
    if (this.lost.has(job.id)) throw new LeaseLost();
    const generation = job.lease?.generation ?? 1;
    if (await this.records.claimed(job.id, generation + 1)) {
      this.drop(job);
      throw new LeaseLost();
    }
    const now = this.clock.now().toISOString();
    job.updatedAt = now;
    job.lease = { generation, heartbeatAt: now };
    await this.records.save(job);
  }

  /** Forgets a job another replica took over: a queued one never starts, a running one stops at its next step. */
  private drop(job: RunnerJob): void {
    this.lost.add(job.id);
    this.jobs.delete(job.id);
    const at = this.queue.indexOf(job.id);
    if (at >= 0) this.queue.splice(at, 1);
    this.aborts.get(job.id)?.abort();
    for (const resolve of this.settled.get(job.id) ?? []) resolve();
    this.settled.delete(job.id);
  }

  /** A job as every replica sees it: this replica's own copy while it runs it, else its record. */
  private async find(id: string): Promise<RunnerJob | undefined> {
    return this.jobs.get(id) ?? ((await this.records.load(id)) as RunnerJob | undefined);
  }

  async create(caller: Caller, req: RestoreRequest): Promise<{ job: RestoreJob; created: boolean }> {
    const id = restoreJobId(caller.username, req.requestId);
    const existing = await this.find(id);
    if (existing) {
      if (!sameRequest(existing, req))
        throw new HttpError(
          409,
          `request id ${req.requestId} was already used for another restore (job ${id}): use a new request id`,
          'requestId',
        );
      return { job: view(existing), created: false };
    }
    const { row, target, bucketUrl, entries } = await admitRestore(this.deps, caller, req, async (manifestId) =>
      readManifest(await this.deps.repository(), manifestId),
    );
    const now = this.clock.now().toISOString();
    const job: RunnerJob = {
      id,
      requestId: req.requestId,
      manifestId: req.manifestId,
      namespace: row.namespace,
      workflow: row.name,
      scope: req.scope,
      target,
      ...(bucketUrl && { bucket: { url: bucketUrl, written: 0, unchanged: 0, skipped: 0, bytes: 0, conflicts: [] } }),
      requestedBy: caller.username,
      createdAt: now,
      updatedAt: now,
      phase: 'Pending',
      progress: {
        bytesDone: 0,
        bytesTotal: entries.reduce((a, e) => a + e.size, 0),
        entriesVerified: 0,
        entriesTotal: entries.length,
      },
      runner: this.replica,
      lease: { generation: 1, heartbeatAt: now },
    };
    await recordStarted(this.deps.audit, caller, req, id, { row, bucketUrl });
    this.jobs.set(id, job);
    await this.persist(job);
    // The same request on two replicas at once: the one whose claim of the first generation wins runs it.
    if (!(await this.records.claim(id, 1, this.replica))) {
      this.jobs.delete(id);
      const winner = (await this.records.load(id)) ?? job;
      return { job: view(winner), created: false };
    }
    this.enqueue(id);
    return { job: view(job), created: true };
  }

  async get(caller: Caller, id: string): Promise<RestoreJob> {
    const job = await this.find(id);
    if (!job || !(await mayViewJob(this.deps.authorizer, caller, job)))
      throw new HttpError(404, `no restore job ${id}`);
    return view(job);
  }

  async active(): Promise<number> {
    let n = 0;
    for (const j of this.jobs.values()) if (!TERMINAL.includes(j.phase)) n++;
    return n;
  }

  async list(caller: Caller): Promise<RestoreJob[]> {
    const byId = new Map<string, RestoreJob>();
    for (const j of await this.records.all()) if (j.requestedBy === caller.username) byId.set(j.id, view(j));
    for (const j of this.jobs.values()) if (j.requestedBy === caller.username) byId.set(j.id, view(j));
    return [...byId.values()].sort(byNewest);
  }

  async cancel(caller: Caller, id: string): Promise<RestoreJob> {
    const job = await this.get(caller, id);
    if (job.phase === 'Cancelled') return job;
    if (TERMINAL.includes(job.phase)) throw new HttpError(409, `restore job ${id} already ended (${job.phase})`);
    const mine = this.jobs.get(id);
    if (!mine) {
      // Another replica runs it: it sees the request the next time it writes the job's progress.
      await this.records.requestCancel(id, caller.username);
      return { ...job, cancelledBy: caller.username };
    }
    mine.cancelledBy = caller.username;
    const abort = this.aborts.get(id);
    if (abort) abort.abort();
    else {
      // Still queued: it never starts.
      const at = this.queue.indexOf(id);
      if (at >= 0) this.queue.splice(at, 1);
      await this.finish(mine, 'Cancelled');
    }
    await this.whenSettled(id);
    return view(mine);
  }

  /** Resolves once a job this replica runs is in a final phase (for cancel's answer, tests and shutdown). */
  whenSettled(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (!job || TERMINAL.includes(job.phase)) return Promise.resolve();
    return new Promise((resolve) => this.settled.set(id, [...(this.settled.get(id) ?? []), resolve]));
  }

  /**
   * A file of a finished job's result: from this replica's disk when it ran the job, else read again from the
   * archive (the same bytes, verified against the manifest while they stream).
   */
  async resultFile(caller: Caller, id: string, path: string): Promise<ResultFile> {
    const job = await this.get(caller, id);
    if (job.phase !== 'Succeeded') throw new HttpError(409, `restore job ${id} has no result yet (${job.phase})`);
    if (!job.result)
      throw new HttpError(404, `restore job ${id} restored into ${job.bucket?.url}: no files to download`);
    const file = job.result.files.find((f) => f.path === path);
    if (!file) throw new HttpError(404, `restore job ${id} has no file ${path}`);
    const local = safeTarget(this.filesDir(id), file.path);
    return {
      job,
      file,
      open: async (span) => {
        if (existsSync(local)) return createReadStream(local, span ? { start: span.start, end: span.end } : {});
        const repo = await this.deps.repository();
        return archivedBytes(repo, await readManifest(repo, job.manifestId), file.entry, span);
      },
    };
  }

  private enqueue(id: string) {
    this.queue.push(id);
    this.pump();
  }

  private pump() {
    const limit = this.deps.concurrency ?? 2;
    while (this.running < limit && this.queue.length > 0) {
      const id = this.queue.shift()!;
      this.running++;
      void this.run(this.jobs.get(id)!)
        .catch((err: unknown) => this.deps.onError?.(err))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  private async finish(job: RunnerJob, phase: RestorePhase, error?: string) {
    job.phase = phase;
    if (error !== undefined) job.error = error;
    try {
      await this.persist(job);
    } catch (err) {
      if (err instanceof LeaseLost) return; // its new runner finishes it and records the outcome
      throw err;
    }
    this.jobs.delete(job.id);
    await this.deps.audit
      .record({
        action: 'restore',
        actor: job.requestedBy,
        verified: true,
        subject: job.manifestId,
        outcome: phase === 'Succeeded' ? 'ok' : 'failed',
        ...(phase !== 'Succeeded' && {
          reason: phase === 'Cancelled' ? `cancelled by ${job.cancelledBy ?? 'unknown'}` : error,
        }),
        ...(job.result && { hashes: job.result.files.map((f) => `sha256:${f.sha256}`) }),
        details: {
          job: job.id,
          scope: job.scope,
          bytes: job.progress.bytesDone,
          ...(job.bucket && {
            toBucket: job.bucket.url,
            written: job.bucket.written,
            unchanged: job.bucket.unchanged,
            conflicts: job.bucket.conflicts.length,
          }),
        },
      })
      .catch((err: unknown) => this.deps.onError?.(err));
    for (const resolve of this.settled.get(job.id) ?? []) resolve();
    this.settled.delete(job.id);
  }

  /** Writes the job's progress, and stops it if another replica recorded a cancel request meanwhile. */
  private async checkpoint(job: RunnerJob, abort: AbortController): Promise<void> {
    const by = await this.records.cancelRequest(job.id);
    if (by !== undefined && !abort.signal.aborted) {
      job.cancelledBy = by;
      abort.abort();
    }
    await this.persist(job);
  }

  /** Requests the thaw of the workflow's cold packs and waits until every one is readable. */
  private async thaw(job: RunnerJob, repo: Repository, manifest: Manifest, abort: AbortController): Promise<void> {
    let states = await thawStates(repo, manifest);
    job.progress.thaw = thawProgressOf(states);
    if (job.progress.thaw.state !== 'thawing') return;
    states = await requestThaw(repo, manifest, planThaw(states), this.deps.thawDays ?? 7);
    for (;;) {
      job.progress.thaw = thawProgressOf(states);
      await this.checkpoint(job, abort);
      if (abort.signal.aborted) throw new Cancelled();
      if (job.progress.thaw.state === 'ready') return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.deps.thawPollMs ?? 300_000);
        abort.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      states = await thawStates(repo, manifest);
    }
  }

  /**
   * Back into the namespace's artifact repository (checked again: configuration may have changed since the job was
   * asked for), through the CLI's core; then every object written is read back and hashed. Conflicts fail the job.
   */
  private async restoreIntoBucket(
    job: RunnerJob,
    repo: Repository,
    manifest: Manifest,
    progress: Progress,
    abort: AbortController,
  ): Promise<void> {
    const target = targetOf(job);
    const url = bucketTargetUrl(this.deps.artifactBuckets, job.namespace, manifest, job.scope, target)!;
    const bucket = this.deps.artifactBuckets!.open(url);
    const select = selectorOf(job.scope);
    const result = await restoreToBucket(repo, job.manifestId, bucket, {
      progress,
      overwrite: target.kind === 'bucket' && target.overwrite,
      ...(select && { select }),
    });
    if (abort.signal.aborted) throw new Cancelled();
    job.bucket = summarize(url, result);
    job.phase = 'Verifying';
    job.progress.entriesTotal = result.written.length + result.unchanged.length;
    await this.checkpoint(job, abort);
    const sha = new Map(manifest.entries.map((e) => [e.path, e]));
    for (const w of [...result.written, ...result.unchanged]) {
      if (abort.signal.aborted) throw new Cancelled();
      const entry = sha.get(w.path)!;
      const digest = await digestOf(await bucket.get(w.key));
      if (digest.sha256 !== entry.sha256 || digest.size !== entry.size)
        throw new Error(
          `${url}${w.key} reads back as ${digest.size} bytes with SHA-256 ${digest.sha256}; the manifest says ${entry.size} bytes, ${entry.sha256}`,
        );
      job.progress.entriesVerified++;
    }
    if (result.conflicts.length > 0) {
      const first = result.conflicts[0]!;
      await this.finish(
        job,
        'Failed',
        `${result.conflicts.length} key(s) hold other objects and were left as they are (first: ${first.key}); ask again with overwrite to replace them`,
      );
      return;
    }
    await this.finish(job, 'Succeeded');
  }

  private async run(job: RunnerJob): Promise<void> {
    const abort = new AbortController();
    this.aborts.set(job.id, abort);
    const dir = this.filesDir(job.id);
    try {
      job.phase = 'Running';
      job.progress.bytesDone = 0;
      await this.checkpoint(job, abort);
      let unsaved = 0;
      const progress: Progress = {
        start: () => {},
        advance: (by = 0) => {
          // Thrown inside the restore's write: it discards its staging, so a cancelled job leaves nothing behind.
          if (abort.signal.aborted) throw new Cancelled();
          job.progress.bytesDone += by;
          unsaved += by;
          if (unsaved >= PERSIST_EVERY) {
            unsaved = 0;
            void this.checkpoint(job, abort).catch(() => {});
          }
        },
        done: () => {},
      };
      await this.deps.beforeRead?.(job);
      if (abort.signal.aborted) throw new Cancelled();
      const repo = await this.deps.repository();
      const manifest = await readManifest(repo, job.manifestId);
      await this.thaw(job, repo, manifest, abort);
      await this.checkpoint(job, abort);
      if (abort.signal.aborted) throw new Cancelled();
      if (targetOf(job).kind === 'bucket') return await this.restoreIntoBucket(job, repo, manifest, progress, abort);
      const entries = selectScope(manifest, job.scope).entries;
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      let landed: Array<{ entry: ManifestEntry; path: string }>;
      if (job.scope.kind === 'workflow') {
        await restoreWorkflow(repo, job.manifestId, dir, { progress });
        landed = entries.map((entry) => ({ entry, path: entry.path }));
      } else {
        const selection = selectEntries(
          manifest,
          job.scope.kind === 'log'
            ? { nodeId: job.scope.nodeId, container: job.scope.container }
            : { path: job.scope.path },
        );
        const result = await restoreEntries(repo, job.manifestId, manifest, selection, `${dir}/`, { progress });
        landed = result.files.map((f) => ({
          entry: entries.find((e) => e.path === f.path)!,
          path: f.to.slice(dir.length + 1),
        }));
      }
      if (abort.signal.aborted) throw new Cancelled();
      job.phase = 'Verifying';
      await this.checkpoint(job, abort);
      const files: RestoredFile[] = [];
      for (const { entry, path } of landed) {
        if (abort.signal.aborted) throw new Cancelled();
        const digest = await digestOf(createReadStream(safeTarget(dir, path)));
        if (digest.sha256 !== entry.sha256 || digest.size !== entry.size)
          throw new Error(
            `${path} on disk is ${digest.size} bytes with SHA-256 ${digest.sha256}; the manifest says ${entry.size} bytes, ${entry.sha256}`,
          );
        files.push({ path, entry: entry.path, size: digest.size, sha256: digest.sha256 });
        job.progress.entriesVerified++;
      }
      if (abort.signal.aborted) throw new Cancelled();
      job.result = { files, bytes: files.reduce((a, f) => a + f.size, 0), verified: true };
      await this.finish(job, 'Succeeded');
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      if (err instanceof LeaseLost || this.lost.has(job.id)) return;
      if (err instanceof Cancelled || abort.signal.aborted) await this.finish(job, 'Cancelled');
      else await this.finish(job, 'Failed', describeError(err));
    } finally {
      this.aborts.delete(job.id);
    }
  }
}
