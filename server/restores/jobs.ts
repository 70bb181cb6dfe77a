// Restore jobs: a caller asks for a whole workflow, one log or one artifact; the server restores it into the job's
// own directory in the background (staged, verified against the manifest, moved in at once), then hashes what
// landed on disk once more. Jobs are JSON files, so a restarted server finds them and runs unfinished ones again
// (a restore is idempotent: the staging of an interrupted run is discarded). One job per caller and request id.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditLog } from '../../lib/audit/audit.ts';
import type { Catalog, CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import { readManifest } from '../../lib/archive/manifest-lookup.ts';
import type { ManifestEntry } from '../../lib/archive/manifest.ts';
import type { Repository } from '../../lib/archive/repository.ts';
import { restoreEntries, restoreWorkflow, safeTarget, selectEntries } from '../../lib/archive/restorer.ts';
import { describeError } from '../../lib/errors.ts';
import type { Progress } from '../../lib/progress.ts';
import { digestOf } from '../../lib/store/sha256.ts';
import { HttpError } from '../api/errors.ts';
import type { Authorizer, Caller } from '../auth/access.ts';

export type RestoreScope =
  { kind: 'workflow' } | { kind: 'log'; nodeId: string; container: string } | { kind: 'artifact'; path: string };

export interface RestoreRequest {
  /** The client's idempotency key: the same caller sending the same id gets the same job. */
  requestId: string;
  manifestId: string;
  scope: RestoreScope;
}

export type RestorePhase = 'Pending' | 'Running' | 'Verifying' | 'Succeeded' | 'Failed' | 'Cancelled';
const TERMINAL: readonly RestorePhase[] = ['Succeeded', 'Failed', 'Cancelled'];

export interface RestoredFile {
  /** Path inside the job's result (download it from /api/v1/restores/{id}/files/{path}). */
  path: string;
  /** The archive entry it came from. */
  entry: string;
  size: number;
  sha256: string;
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
  progress: { bytesDone: number; bytesTotal: number; entriesVerified: number; entriesTotal: number };
  /** Set once Succeeded: every file, hashed again after it landed, equal to the manifest's size and SHA-256. */
  result?: { files: RestoredFile[]; bytes: number; verified: true };
  error?: string;
  cancelledBy?: string;
}

export interface RestoreJobsDeps {
  catalog: Catalog;
  repository(): Promise<Repository>;
  authorizer: Authorizer;
  audit: AuditLog;
  /** Where jobs and their results live. */
  dir: string;
  /** Jobs running at once (the rest wait, Pending). */
  concurrency?: number;
  /** Awaited once a job is Running, before it reads the archive (tests hold a job there to cancel or restart it). */
  beforeRead?(job: RestoreJob): Promise<void>;
  /** Failures outside any request (logged by the command). */
  onError?(err: unknown): void;
}

class Cancelled extends Error {}

const jobId = (username: string, requestId: string) =>
  createHash('sha256').update(`${username}\0${requestId}`).digest('hex').slice(0, 32);

/** How often (bytes) a running job's progress is written to its file. */
const PERSIST_EVERY = 4 * 1024 * 1024;

export class RestoreJobs {
  private readonly jobs = new Map<string, RestoreJob>();
  private readonly aborts = new Map<string, AbortController>();
  private readonly queue: string[] = [];
  private running = 0;
  private readonly settled = new Map<string, Array<() => void>>();

  private constructor(private readonly deps: RestoreJobsDeps) {}

  /** Loads the jobs of earlier runs and starts again those that had not finished. */
  static async open(deps: RestoreJobsDeps): Promise<RestoreJobs> {
    const jobs = new RestoreJobs(deps);
    await mkdir(join(deps.dir, 'jobs'), { recursive: true });
    for (const name of await readdir(join(deps.dir, 'jobs'))) {
      if (!/^[0-9a-f]{32}\.json$/.test(name)) continue;
      const job = JSON.parse(await readFile(join(deps.dir, 'jobs', name), 'utf8')) as RestoreJob;
      jobs.jobs.set(job.id, job);
      if (!TERMINAL.includes(job.phase)) {
        job.phase = 'Pending';
        job.progress = { ...job.progress, bytesDone: 0, entriesVerified: 0 };
        jobs.enqueue(job.id);
      }
    }
    return jobs;
  }

  private jobFile(id: string) {
    return join(this.deps.dir, 'jobs', `${id}.json`);
  }

  private filesDir(id: string) {
    return join(this.deps.dir, 'results', id);
  }

  private async persist(job: RestoreJob): Promise<void> {
    job.updatedAt = new Date().toISOString();
    const tmp = `${this.jobFile(job.id)}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify(job));
    await rename(tmp, this.jobFile(job.id));
  }

  /** The workflow row, if the caller may restore from its namespace (404 when they cannot even list it). */
  private async restorable(caller: Caller, manifestId: string): Promise<CatalogWorkflow> {
    const row = (await this.deps.catalog.get(manifestId)).find((w) => w.manifestId === manifestId);
    const notFound = new HttpError(404, `no archived workflow with manifest id ${manifestId}`);
    if (!row) throw notFound;
    if (await this.deps.authorizer.allows(caller, 'restore', row.namespace)) return row;
    if (await this.deps.authorizer.allows(caller, 'list', row.namespace))
      throw new HttpError(403, `${caller.username} may not restore archives in namespace ${row.namespace}`);
    throw notFound;
  }

  /** Starts a job, or returns the caller's job for the same request id (409 if that asked for something else). */
  async create(caller: Caller, req: RestoreRequest): Promise<{ job: RestoreJob; created: boolean }> {
    const id = jobId(caller.username, req.requestId);
    const existing = this.jobs.get(id);
    if (existing) {
      if (existing.manifestId !== req.manifestId || JSON.stringify(existing.scope) !== JSON.stringify(req.scope))
        throw new HttpError(
          409,
          `request id ${req.requestId} was already used for another restore (job ${id}): use a new request id`,
          'requestId',
        );
      return { job: existing, created: false };
    }
    const row = await this.restorable(caller, req.manifestId);
    // Check the selection now, so a log or artifact that does not exist is a 404 and not a failed job.
    const manifest = await readManifest(await this.deps.repository(), req.manifestId);
    const entries = this.select(manifest, req.scope);
    const now = new Date().toISOString();
    const job: RestoreJob = {
      id,
      requestId: req.requestId,
      manifestId: req.manifestId,
      namespace: row.namespace,
      workflow: row.name,
      scope: req.scope,
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
    };
    try {
      await this.deps.audit.record({
        action: 'restore',
        actor: caller.username,
        verified: true,
        subject: req.manifestId,
        outcome: 'started',
        details: { job: id, requestId: req.requestId, scope: req.scope, namespace: row.namespace, name: row.name },
      });
    } catch (err) {
      throw new HttpError(503, `cannot record the audit entry of this restore: ${describeError(err)}`);
    }
    this.jobs.set(id, job);
    await this.persist(job);
    this.enqueue(id);
    return { job, created: true };
  }

  private select(manifest: Awaited<ReturnType<typeof readManifest>>, scope: RestoreScope): ManifestEntry[] {
    if (scope.kind === 'workflow') return manifest.entries;
    try {
      return selectEntries(
        manifest,
        scope.kind === 'log' ? { nodeId: scope.nodeId, container: scope.container } : { path: scope.path },
      ).entries;
    } catch (err) {
      throw new HttpError(404, describeError(err));
    }
  }

  /** A job the caller may see: their own, or any in a namespace where they may restore. */
  async get(caller: Caller, id: string): Promise<RestoreJob> {
    const job = this.jobs.get(id);
    if (
      !job ||
      (job.requestedBy !== caller.username && !(await this.deps.authorizer.allows(caller, 'restore', job.namespace)))
    )
      throw new HttpError(404, `no restore job ${id}`);
    return job;
  }

  /** Jobs pending or running (for /metrics). */
  active(): number {
    let n = 0;
    for (const j of this.jobs.values()) if (!TERMINAL.includes(j.phase)) n++;
    return n;
  }

  /** The caller's own jobs, newest first. */
  list(caller: Caller): RestoreJob[] {
    return [...this.jobs.values()]
      .filter((j) => j.requestedBy === caller.username)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
  }

  async cancel(caller: Caller, id: string): Promise<RestoreJob> {
    const job = await this.get(caller, id);
    if (job.phase === 'Cancelled') return job;
    if (TERMINAL.includes(job.phase)) throw new HttpError(409, `restore job ${id} already ended (${job.phase})`);
    job.cancelledBy = caller.username;
    const abort = this.aborts.get(id);
    if (abort) abort.abort();
    else {
      // Still queued: it never starts.
      const at = this.queue.indexOf(id);
      if (at >= 0) this.queue.splice(at, 1);
      await this.finish(job, 'Cancelled');
    }
    await this.whenSettled(id);
    return job;
  }

  /** Resolves once the job is in a final phase (for cancel's answer, tests and shutdown). */
  whenSettled(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (!job || TERMINAL.includes(job.phase)) return Promise.resolve();
    return new Promise((resolve) => this.settled.set(id, [...(this.settled.get(id) ?? []), resolve]));
  }

  /** A file of a finished job's result and where it is on disk (the caller must be allowed to see the job). */
  async resultFile(caller: Caller, id: string, path: string) {
    const job = await this.get(caller, id);
    if (job.phase !== 'Succeeded') throw new HttpError(409, `restore job ${id} has no result yet (${job.phase})`);
    const file = job.result!.files.find((f) => f.path === path);
    if (!file) throw new HttpError(404, `restore job ${id} has no file ${path}`);
    return { job, file, path: safeTarget(this.filesDir(id), file.path) };
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

  private async finish(job: RestoreJob, phase: RestorePhase, error?: string) {
    job.phase = phase;
    if (error !== undefined) job.error = error;
    await this.persist(job);
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
        details: { job: job.id, scope: job.scope, bytes: job.progress.bytesDone },
      })
      .catch((err: unknown) => this.deps.onError?.(err));
    for (const resolve of this.settled.get(job.id) ?? []) resolve();
    this.settled.delete(job.id);
  }

  private async run(job: RestoreJob): Promise<void> {
    const abort = new AbortController();
    this.aborts.set(job.id, abort);
    const dir = this.filesDir(job.id);
    try {
      job.phase = 'Running';
      job.progress.bytesDone = 0;
      await this.persist(job);
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
            void this.persist(job).catch(() => {});
          }
        },
        done: () => {},
      };
      await this.deps.beforeRead?.(job);
      if (abort.signal.aborted) throw new Cancelled();
      const repo = await this.deps.repository();
      const manifest = await readManifest(repo, job.manifestId);
      const entries = this.select(manifest, job.scope);
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
      await this.persist(job);
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
      job.result = { files, bytes: files.reduce((a, f) => a + f.size, 0), verified: true };
      await this.finish(job, 'Succeeded');
    } catch (err) {
      if (err instanceof Cancelled || abort.signal.aborted) {
        await rm(dir, { recursive: true, force: true });
        await this.finish(job, 'Cancelled');
      } else {
        await rm(dir, { recursive: true, force: true });
        await this.finish(job, 'Failed', describeError(err));
      }
    } finally {
      this.aborts.delete(job.id);
    }
  }
}
