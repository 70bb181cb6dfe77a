// The originals in Argo's artifact repository that a verified archive holds copies of: which keys its manifest lists
// (with the archived SHA-256), what the repository holds under them now, and removing them with a check they are gone.
import { createHash } from 'node:crypto';
import { artifactBucketOf, artifactKeyOf } from '../archive/artifact-location.ts';
import type { Manifest } from '../archive/manifest.ts';
import { readManifest } from '../archive/manifest-lookup.ts';
import type { Repository } from '../archive/repository.ts';
import { describeError, InputError, IntegrityError } from '../errors.ts';
import type { TrustedRepositoryAccess } from '../sources/argo-artifact-repository.ts';

/** An output artifact or archived log the manifest copied from the artifact repository. */
export interface ArchivedOriginal {
  /** The manifest entry holding the copy. */
  path: string;
  kind: 'log' | 'artifact';
  /** The bucket Argo recorded for it (undefined: the repository's own bucket). */
  bucket?: string;
  key: string;
  sha256: string;
  size: number;
}

export type OriginalState =
  { state: 'present'; sha256: string; size: number } | { state: 'absent' } | { state: 'unreadable'; error: string };

export interface OriginalFact extends ArchivedOriginal {
  /** What the repository holds under the key now; undefined when the key is not Strata's to read. */
  now?: OriginalState;
  /** Why the key is not Strata's to touch (another bucket, outside the namespace's prefix). */
  outside?: string;
}

export interface OriginalsFacts {
  /** Where the originals live (`s3://argo-artifacts at minio:9000`). */
  repository?: string;
  /** Why none of them may be touched (no trusted repository); such originals are left in place for good. */
  untouchable?: string;
  /** Why the repository could not be looked at now (a re-run may): nothing is deleted meanwhile. */
  unavailable?: string;
  objects: OriginalFact[];
}

/**
 * The originals a manifest lists: entries read from the artifact repository record the key (`meta.s3Key`, or the
 * artifact's own `s3.key` as Argo recorded it). A log read from a live pod records none and is never listed.
 */
export function archivedOriginals(manifest: Manifest): ArchivedOriginal[] {
  const out: ArchivedOriginal[] = [];
  for (const e of manifest.entries) {
    if (e.kind !== 'log' && e.kind !== 'artifact') continue;
    const key = artifactKeyOf(e);
    if (!key) continue;
    const bucket = artifactBucketOf(e);
    out.push({ path: e.path, kind: e.kind, ...(bucket ? { bucket } : {}), key, sha256: e.sha256, size: e.size });
  }
  return out;
}

async function stateOf(access: TrustedRepositoryAccess, o: ArchivedOriginal): Promise<OriginalState> {
  try {
    const info = await access.store.head(o.key);
    if (!info) return { state: 'absent' };
    // A different size is already a different object: no need to read it.
    if (info.size !== o.size) return { state: 'present', sha256: '', size: info.size };
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await access.store.get(o.key)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { state: 'present', sha256: hash.digest('hex'), size };
  } catch (err) {
    return { state: 'unreadable', error: describeError(err) };
  }
}

/** What the repository holds now under each listed key (streamed and hashed), and which keys it may not touch. */
export async function inspectOriginals(
  archived: readonly ArchivedOriginal[],
  access: TrustedRepositoryAccess,
): Promise<OriginalsFacts> {
  const objects: OriginalFact[] = [];
  for (const o of archived) {
    const outside = access.refused(o.bucket, o.key);
    objects.push(outside ? { ...o, outside } : { ...o, now: await stateOf(access, o) });
  }
  return { repository: access.description, objects };
}

/**
 * Deletes the originals, then checks each is gone; IntegrityError names any still there (a re-run deletes it again).
 * A key outside the trusted repository is refused here too, whatever the caller planned.
 */
export async function removeOriginals(
  access: TrustedRepositoryAccess,
  originals: readonly Pick<ArchivedOriginal, 'bucket' | 'key'>[],
): Promise<void> {
  if (originals.length === 0) return;
  for (const o of originals) {
    const outside = access.refused(o.bucket, o.key);
    if (outside) throw new InputError(`original not deleted: ${outside}`);
  }
  const keys = originals.map((o) => o.key);
  await access.store.delete(keys);
  const still: string[] = [];
  for (const key of keys) if (await access.store.head(key)) still.push(key);
  if (still.length) {
    throw new IntegrityError(`${still.length} original(s) still present after delete: ${still.join(', ')}`, {
      key: access.description,
    });
  }
}

/** The originals of one manifest, looked at now, and the one way finalize removes them. */
export interface OriginalsAccess {
  facts: OriginalsFacts;
  remove(originals: readonly Pick<ArchivedOriginal, 'bucket' | 'key'>[]): Promise<void>;
}

/** Resolves a workflow's trusted artifact repository (trustedRepositoryFor); InputError when it may not be used. */
export type RepositoryResolver = (workflow: {
  metadata: { namespace?: string };
  status?: Record<string, unknown>;
}) => Promise<TrustedRepositoryAccess | undefined>;

const nothingToRemove = async (): Promise<void> => {
  throw new InputError('no original of this manifest may be deleted');
};

/**
 * For finalize: reads the manifest's list of originals and looks at each in the workflow's trusted repository. A
 * repository the configuration does not trust leaves them untouchable; one that cannot be read now, unavailable.
 */
export function artifactOriginals(
  repo: Repository,
  resolve: RepositoryResolver,
): (manifestId: string, workflow: Parameters<RepositoryResolver>[0]) => Promise<OriginalsAccess> {
  return async (manifestId, workflow) => {
    const archived = archivedOriginals(await readManifest(repo, manifestId));
    if (archived.length === 0) return { facts: { objects: [] }, remove: nothingToRemove };
    let access: TrustedRepositoryAccess | undefined;
    try {
      access = await resolve(workflow);
    } catch (err) {
      const why = describeError(err);
      const facts = err instanceof InputError ? { untouchable: why } : { unavailable: why };
      return { facts: { ...facts, objects: archived }, remove: nothingToRemove };
    }
    if (!access) {
      return {
        facts: { untouchable: 'the workflow names no artifact repository', objects: archived },
        remove: nothingToRemove,
      };
    }
    if (access.keepsOriginals) {
      return { facts: { untouchable: access.keepsOriginals, objects: archived }, remove: nothingToRemove };
    }
    const found = access;
    return { facts: await inspectOriginals(archived, found), remove: (o) => removeOriginals(found, o) };
  };
}
