// What both job runners check before a restore job exists, in the same order: may the caller restore this archive,
// does the scope exist (a 404, not a failed job), and is a bucket target the namespace's own (403, audited).
import type { CatalogWorkflow, Catalog } from '../../lib/catalog/catalog.ts';
import type { Manifest, ManifestEntry } from '../../lib/archive/manifest.ts';
import type { AuditLog } from '../../lib/audit/audit.ts';
import { describeError } from '../../lib/errors.ts';
import { HttpError } from '../api/errors.ts';
import type { Authorizer, Caller } from '../auth/access.ts';
import { requestedBucketTarget, writtenEntries, type ArtifactBuckets } from './artifact-bucket.ts';
import { targetOf, type RestoreRequest, type RestoreTarget } from './job.ts';
import { restorableWorkflow, selectScope } from './restorable.ts';

export interface AdmissionDeps {
  catalog: Catalog;
  authorizer: Authorizer;
  audit: AuditLog;
  artifactBuckets?: ArtifactBuckets;
}

export interface AdmittedRequest {
  row: CatalogWorkflow;
  manifest: Manifest;
  target: RestoreTarget;
  /** The namespace's artifact repository when the target is the bucket. */
  bucketUrl: string | undefined;
  /** The entries the job writes: what its progress counts. */
  entries: ManifestEntry[];
}

export async function admitRestore(
  deps: AdmissionDeps,
  caller: Caller,
  req: RestoreRequest,
  readManifest: (manifestId: string) => Promise<Manifest>,
): Promise<AdmittedRequest> {
  const row = await restorableWorkflow(deps.catalog, deps.authorizer, caller, req.manifestId);
  const manifest = await readManifest(req.manifestId);
  const selected = selectScope(manifest, req.scope).entries;
  const target = targetOf(req);
  const bucketUrl = await requestedBucketTarget(
    deps.artifactBuckets,
    deps.audit,
    caller,
    { ...req, target },
    row.namespace,
    manifest,
  );
  return { row, manifest, target, bucketUrl, entries: writtenEntries(selected, bucketUrl) };
}

/**
 * The `restore`/`started` audit record, written before the job exists: when it cannot be written nothing starts
 * (503). `extra` is what the runner adds (the Argo Workflow of a cluster job).
 */
export async function recordStarted(
  audit: AuditLog,
  caller: Caller,
  req: RestoreRequest,
  jobId: string,
  admitted: Pick<AdmittedRequest, 'row' | 'bucketUrl'>,
  extra: Record<string, string> = {},
): Promise<void> {
  try {
    await audit.record({
      action: 'restore',
      actor: caller.username,
      verified: true,
      subject: req.manifestId,
      outcome: 'started',
      details: {
        job: jobId,
        requestId: req.requestId,
        scope: req.scope,
        namespace: admitted.row.namespace,
        name: admitted.row.name,
        ...extra,
        ...(admitted.bucketUrl && { toBucket: admitted.bucketUrl }),
      },
    });
  } catch (err) {
    throw new HttpError(503, `cannot record the audit entry of this restore: ${describeError(err)}`);
  }
}
