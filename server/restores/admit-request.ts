// What both job runners check before a restore job exists, in the same order: may the caller restore this archive,
// does the scope exist (a 404, not a failed job), and is a bucket target the namespace's own (403, audited).
import type { CatalogWorkflow, Catalog } from '../../lib/catalog/catalog.ts';
import type { Manifest, ManifestEntry } from '../../lib/archive/manifest.ts';
import type { AuditLog } from '../../lib/audit/audit.ts';
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
