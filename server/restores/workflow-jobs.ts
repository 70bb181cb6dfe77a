// Restore jobs in a cluster: each job is a strata-restore Workflow submitted through Argo, so it runs (and thaws,
// and retries) under the controller and its progress is in the Argo UI. The Workflow is the job's only state: its
// name comes from the caller and request id, its annotations say what was asked and by whom, its nodes how far it
// got. A restarted server, or a second replica, reads the same Workflow and answers the same.
import { createHash } from 'node:crypto';
import type { AuditLog } from '../../lib/audit/audit.ts';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { readManifest } from '../../lib/archive/manifest-lookup.ts';
import type { Manifest } from '../../lib/archive/manifest.ts';
import type { Repository } from '../../lib/archive/repository.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import type { WorkflowSubmitter } from '../../lib/kube/workflow-submitter.ts';
import { HttpError } from '../api/errors.ts';
import { admitRestore, recordStarted } from './admit-request.ts';
import type { Authorizer, Caller } from '../auth/access.ts';
import {
  byNewest,
  restoreJobId,
  sameRequest,
  TERMINAL,
  type RestoreJob,
  type RestoreJobService,
  type RestorePhase,
  type RestoreRequest,
  type RestoreScope,
  type ResultFile,
  type ThawProgress,
  type BucketRestoreSummary,
  type RestoreTarget,
  targetOf,
} from './job.ts';
import type { ArtifactBuckets } from './artifact-bucket.ts';
import { archivedBytes, expectedFiles, mayViewJob, selectScope } from './restorable.ts';

export const RESTORE_TEMPLATE = 'strata-restore';

/** Labels and annotations the server writes on the Workflows it submits. */
export const RESTORE_JOB_LABEL = 'strata.dev/restore-job';
const REQUESTER_LABEL = 'strata.dev/requester-hash';
export const REQUESTED_BY = 'strata.dev/requested-by';
const ANNOTATIONS = {
  requestId: 'strata.dev/request-id',
  manifestId: 'strata.dev/manifest-id',
  scope: 'strata.dev/restore-scope',
  workflow: 'strata.dev/archived-workflow',
  bytesTotal: 'strata.dev/bytes-total',
  entriesTotal: 'strata.dev/entries-total',
  cancelledBy: 'strata.dev/cancelled-by',
  target: 'strata.dev/restore-target',
  bucketUrl: 'strata.dev/restore-bucket',
} as const;

export interface WorkflowRestoreJobsDeps {
  catalog: Catalog;
  repository(): Promise<Repository>;
  authorizer: Authorizer;
  audit: AuditLog;
  submitter: WorkflowSubmitter;
  /** Strata's namespace: where strata-restore and its ServiceAccount live. */
  namespace: string;
  /** The artifact repositories a job may restore into (configuration artifactRepositories); none without. */
  artifactBuckets?: ArtifactBuckets;
}

/** A label value naming the caller without their name's characters (labels allow no ':' or '@'). */
const requesterHash = (username: string) => createHash('sha256').update(username).digest('hex').slice(0, 40);

const workflowName = (id: string) => `${RESTORE_TEMPLATE}-${id}`;

/** The template's parameters for a scope: the whole workflow, or one entry path (a log, an artifact, a directory). */
function scopeParameters(manifest: Manifest, scope: RestoreScope): Array<{ name: string; value: string }> {
  if (scope.kind === 'workflow') return [];
  const selection = selectScope(manifest, scope);
  return [{ name: 'path', value: selection.directory ?? selection.entries[0]!.path }];
}

type Node = {
  type?: string;
  phase?: string;
  templateName?: string;
  displayName?: string;
  message?: string;
  progress?: string;
  startedAt?: string;
  finishedAt?: string;
  outputs?: {
    parameters?: Array<{ name: string; value?: string }>;
    artifacts?: Array<{ name: string; s3?: { key?: string } }>;
  };
};

const podsOf = (nodes: Node[], template: (name: string) => boolean) =>
  nodes
    .filter((n) => n.type === 'Pod' && template(n.templateName ?? ''))
    .sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));

const param = (n: Node | undefined, name: string) => n?.outputs?.parameters?.find((p) => p.name === name)?.value;

/** The thaw step's last report: how many of the workflow's packs are cold, and how many of those are readable. */
function thawOf(nodes: Node[]): ThawProgress | undefined {
  const last = podsOf(nodes, (t) => t === 'thaw')
    .filter((n) => param(n, 'cold-packs') !== undefined)
    .at(-1);
  if (!last) return undefined;
  const coldPacks = Number(param(last, 'cold-packs'));
  const readyPacks = Number(param(last, 'cold-ready') ?? 0);
  if (!Number.isFinite(coldPacks) || !Number.isFinite(readyPacks)) return undefined;
  if (coldPacks === 0) return { state: 'not-needed', coldPacks: 0, readyPacks: 0 };
  return { state: readyPacks >= coldPacks ? 'ready' : 'thawing', coldPacks, readyPacks };
}

/** What the restore-to-bucket step reported (`strata restore --to-bucket`'s counts, conflicts and bytes). */
function bucketOf(url: string, node: Node | undefined): BucketRestoreSummary {
  const json = (name: string): unknown => {
    try {
      return JSON.parse(param(node, name) ?? 'null');
    } catch {
      return null;
    }
  };
  const counts = (json('counts') ?? {}) as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const listed = json('conflicts');
  const conflicts = (Array.isArray(listed) ? listed : [])
    .filter((c): c is Record<string, unknown> => typeof c === 'object' && c !== null)
    .map(({ path, key, reason }) => ({ path: String(path), key: String(key), reason: String(reason) }))
    .slice(0, 100);
  return {
    url,
    written: count(counts.written),
    unchanged: count(counts.unchanged),
    skipped: count(counts.skipped),
    bytes: count(Number(param(node, 'bytes') ?? 0)),
    conflicts,
  };
}

/** Maps the Workflow to the job (the result's files are filled in by the caller, from the manifest). */
export function jobOfWorkflow(wf: KubeObject): RestoreJob {
  const a = wf.metadata.annotations ?? {};
  const status = (wf.status ?? {}) as {
    phase?: string;
    message?: string;
    finishedAt?: string;
    nodes?: Record<string, Node>;
  };
  const nodes = Object.values(status.nodes ?? {});
  const restorePods = podsOf(nodes, (t) => t.startsWith('restore-'));
  const restoring = restorePods.at(-1);
  const shutdown = Boolean((wf.spec as { shutdown?: string } | undefined)?.shutdown);
  const argoPhase = status.phase ?? '';
  let phase: RestorePhase;
  if (argoPhase === 'Succeeded') phase = 'Succeeded';
  else if (argoPhase === 'Failed' || argoPhase === 'Error') phase = shutdown ? 'Cancelled' : 'Failed';
  else phase = argoPhase === 'Running' ? 'Running' : 'Pending';
  const bytesTotal = Number(a[ANNOTATIONS.bytesTotal] ?? 0);
  const entriesTotal = Number(a[ANNOTATIONS.entriesTotal] ?? 0);
  // Argo shows a step's `N/M` progress (ARGO_PROGRESS_FILE): the restore step counts bytes.
  const reported = /^(\d+)\/(\d+)$/.exec(restoring?.progress ?? '');
  const done = phase === 'Succeeded' || restoring?.phase === 'Succeeded';
  const failing = nodes.filter((n) => n.type === 'Pod' && (n.phase === 'Failed' || n.phase === 'Error')).at(-1);
  const artifactKey = restoring?.outputs?.artifacts?.find((x) => x.name === 'restored')?.s3?.key;
  const thaw = thawOf(nodes);
  const created = wf.metadata.creationTimestamp ?? new Date(0).toISOString();
  const target = JSON.parse(a[ANNOTATIONS.target] ?? '{"kind":"download"}') as RestoreTarget;
  const job: RestoreJob = {
    id: wf.metadata.labels?.[RESTORE_JOB_LABEL] ?? '',
    requestId: a[ANNOTATIONS.requestId] ?? '',
    manifestId: a[ANNOTATIONS.manifestId] ?? '',
    namespace: (a[ANNOTATIONS.workflow] ?? '/').split('/')[0]!,
    workflow: (a[ANNOTATIONS.workflow] ?? '/').split('/').slice(1).join('/'),
    scope: JSON.parse(a[ANNOTATIONS.scope] ?? '{"kind":"workflow"}') as RestoreScope,
    target,
    ...(target.kind === 'bucket' && { bucket: bucketOf(a[ANNOTATIONS.bucketUrl] ?? '', restoring) }),
    requestedBy: a[REQUESTED_BY] ?? '',
    createdAt: created,
    updatedAt:
      [status.finishedAt, ...nodes.flatMap((n) => [n.finishedAt, n.startedAt])]
        .filter((t): t is string => Boolean(t))
        .sort()
        .at(-1) ?? created,
    phase,
    progress: {
      bytesDone: done ? bytesTotal : reported ? Math.min(Number(reported[1]), bytesTotal) : 0,
      bytesTotal,
      entriesVerified: done ? entriesTotal : 0,
      entriesTotal,
      ...(thaw && { thaw }),
    },
    argoWorkflow: {
      namespace: wf.metadata.namespace ?? '',
      name: wf.metadata.name,
      ...(wf.metadata.uid && { uid: wf.metadata.uid }),
      ...(argoPhase && { phase: argoPhase }),
      ...(artifactKey && { artifactKey }),
    },
  };
  if (phase === 'Failed') job.error = failing?.message || status.message || `workflow ${wf.metadata.name} ${argoPhase}`;
  if (a[ANNOTATIONS.cancelledBy]) job.cancelledBy = a[ANNOTATIONS.cancelledBy];
  return job;
}

export class WorkflowRestoreJobs implements RestoreJobService {
  /** Manifests of finished jobs, for their result files (a manifest never changes). */
  private readonly manifests = new Map<string, Promise<Manifest>>();

  constructor(private readonly deps: WorkflowRestoreJobsDeps) {}

  private manifest(id: string): Promise<Manifest> {
    let m = this.manifests.get(id);
    if (!m) {
      if (this.manifests.size > 256) this.manifests.clear();
      m = this.deps.repository().then((repo) => readManifest(repo, id));
      m.catch(() => this.manifests.delete(id));
      this.manifests.set(id, m);
    }
    return m;
  }

  private isJob(wf: KubeObject | undefined): wf is KubeObject {
    return Boolean(wf?.metadata.labels?.[RESTORE_JOB_LABEL] && wf.metadata.annotations?.[REQUESTED_BY]);
  }

  /** The job with its verified result once the Workflow Succeeded (the step checked every entry's SHA-256). */
  private async complete(wf: KubeObject): Promise<RestoreJob> {
    const job = jobOfWorkflow(wf);
    if (job.phase === 'Succeeded' && targetOf(job).kind === 'download') {
      const files = expectedFiles(await this.manifest(job.manifestId), job.scope);
      job.result = { files, bytes: files.reduce((s, f) => s + f.size, 0), verified: true };
    }
    return job;
  }

  async create(caller: Caller, req: RestoreRequest): Promise<{ job: RestoreJob; created: boolean }> {
    const id = restoreJobId(caller.username, req.requestId);
    const ns = this.deps.namespace;
    const existing = await this.deps.submitter.get(ns, workflowName(id));
    if (this.isJob(existing)) return { job: await this.same(existing, req), created: false };
    const { row, manifest, target, bucketUrl, entries } = await admitRestore(this.deps, caller, req, (manifestId) =>
      this.manifest(manifestId),
    );
    const workflow: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: {
        name: workflowName(id),
        namespace: ns,
        labels: { [RESTORE_JOB_LABEL]: id, [REQUESTER_LABEL]: requesterHash(caller.username) },
        annotations: {
          [REQUESTED_BY]: caller.username,
          [ANNOTATIONS.requestId]: req.requestId,
          [ANNOTATIONS.manifestId]: req.manifestId,
          [ANNOTATIONS.scope]: JSON.stringify(req.scope),
          [ANNOTATIONS.target]: JSON.stringify(target),
          ...(bucketUrl && { [ANNOTATIONS.bucketUrl]: bucketUrl }),
          [ANNOTATIONS.workflow]: `${row.namespace}/${row.name}`,
          [ANNOTATIONS.bytesTotal]: String(entries.reduce((s, e) => s + e.size, 0)),
          [ANNOTATIONS.entriesTotal]: String(entries.length),
        },
      },
      spec: {
        workflowTemplateRef: { name: RESTORE_TEMPLATE },
        arguments: {
          parameters: [
            { name: 'workflow', value: req.manifestId },
            // The step asks the API server again what this caller may do (SubjectAccessReview as them).
            { name: 'requester', value: caller.username },
            { name: 'requester-groups', value: caller.groups.filter((g) => !g.includes(',')).join(',') },
            ...scopeParameters(manifest, req.scope),
            // The step checks this target again against the same configuration (strata restore --to-bucket).
            ...(bucketUrl && target.kind === 'bucket'
              ? [
                  { name: 'to-bucket', value: bucketUrl },
                  { name: 'overwrite', value: String(target.overwrite) },
                ]
              : []),
          ],
        },
      },
    };
    await recordStarted(
      this.deps.audit,
      caller,
      req,
      id,
      { row, bucketUrl },
      { argoWorkflow: `${ns}/${workflowName(id)}` },
    );
    const { workflow: submitted, created } = await this.deps.submitter.submit(workflow);
    // Another replica submitted the same request in between: the same job, if it asked for the same.
    if (!created) return { job: await this.same(submitted, req), created: false };
    return { job: await this.complete(submitted), created: true };
  }

  private async same(wf: KubeObject, req: RestoreRequest): Promise<RestoreJob> {
    const job = await this.complete(wf);
    if (!sameRequest(job, req))
      throw new HttpError(
        409,
        `request id ${req.requestId} was already used for another restore (job ${job.id}): use a new request id`,
        'requestId',
      );
    return job;
  }

  async get(caller: Caller, id: string): Promise<RestoreJob> {
    const wf = await this.deps.submitter.get(this.deps.namespace, workflowName(id));
    if (this.isJob(wf) && wf.metadata.labels![RESTORE_JOB_LABEL] === id) {
      const job = jobOfWorkflow(wf);
      if (await mayViewJob(this.deps.authorizer, caller, job)) return this.complete(wf);
    }
    throw new HttpError(404, `no restore job ${id}`);
  }

  async list(caller: Caller): Promise<RestoreJob[]> {
    const wfs = await this.deps.submitter.list(
      this.deps.namespace,
      `${RESTORE_JOB_LABEL},${REQUESTER_LABEL}=${requesterHash(caller.username)}`,
    );
    const mine = wfs.filter((wf) => this.isJob(wf) && wf.metadata.annotations![REQUESTED_BY] === caller.username);
    return (await Promise.all(mine.map((wf) => this.complete(wf)))).sort(byNewest);
  }

  async cancel(caller: Caller, id: string): Promise<RestoreJob> {
    const job = await this.get(caller, id);
    if (job.phase === 'Cancelled' || job.cancelledBy) return job;
    if (TERMINAL.includes(job.phase)) throw new HttpError(409, `restore job ${id} already ended (${job.phase})`);
    await this.deps.submitter.terminate(this.deps.namespace, workflowName(id), {
      [ANNOTATIONS.cancelledBy]: caller.username,
    });
    await this.deps.audit
      .record({
        action: 'restore',
        actor: caller.username,
        verified: true,
        subject: job.manifestId,
        outcome: 'failed',
        reason: `cancelled by ${caller.username}`,
        details: { job: id, argoWorkflow: `${this.deps.namespace}/${workflowName(id)}` },
      })
      .catch(() => {});
    // Argo stops the pods and fails the Workflow; the job reads Cancelled from then on.
    return { ...job, cancelledBy: caller.username };
  }

  async resultFile(caller: Caller, id: string, path: string): Promise<ResultFile> {
    const job = await this.get(caller, id);
    if (job.phase !== 'Succeeded') throw new HttpError(409, `restore job ${id} has no result yet (${job.phase})`);
    if (!job.result)
      throw new HttpError(404, `restore job ${id} restored into ${job.bucket?.url}: no files to download`);
    const file = job.result.files.find((f) => f.path === path);
    if (!file) throw new HttpError(404, `restore job ${id} has no file ${path}`);
    return {
      job,
      file,
      open: async (span) =>
        archivedBytes(await this.deps.repository(), await this.manifest(job.manifestId), file.entry, span),
    };
  }

  async active(): Promise<number> {
    const wfs = await this.deps.submitter.list(this.deps.namespace, RESTORE_JOB_LABEL);
    return wfs.filter((wf) => this.isJob(wf) && !TERMINAL.includes(jobOfWorkflow(wf).phase)).length;
  }
}
