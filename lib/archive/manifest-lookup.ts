// Finds manifests in the store: list them, read one by id, or resolve what a user typed to the archive they mean.
import { describeError, InputError, IntegrityError, NotFoundError } from '../errors.ts';
import { decodeManifest, type Manifest } from './manifest.ts';
import { HEX_ID, manifestKey, MANIFESTS_PREFIX, readObject, type Repository } from './repository.ts';
import { manifestsByRef } from './workflow-refs.ts';

export interface ManifestInfo {
  id: string;
  size: number;
  lastModified: Date;
}

export async function* listManifests(repo: Repository): AsyncIterable<ManifestInfo> {
  for await (const info of repo.store.list(MANIFESTS_PREFIX)) {
    const id = info.key.slice(MANIFESTS_PREFIX.length);
    if (HEX_ID.test(id)) yield { id, size: info.size, lastModified: info.lastModified };
  }
}

export async function readManifest(repo: Repository, manifestId: string): Promise<Manifest> {
  if (!HEX_ID.test(manifestId)) throw new InputError(`"${manifestId}" is not a manifest id (64 hex digits)`);
  const key = manifestKey(manifestId);
  return decodeManifest(manifestId, await readObject(repo.store, key), key);
}

/** Another archive of the workflow a name or uid resolved to (the workflow was archived more than once). */
export interface OtherArchive {
  id: string;
  incomplete: boolean;
  /** When the manifest object was written. */
  archivedAt: string;
}

export interface ResolvedManifest {
  id: string;
  manifest: Manifest;
  /** When `id` was chosen among several archives of the workflow: the others, best first. Empty for an exact id. */
  others: OtherArchive[];
  /** Manifests that could not be read while looking (corrupt): skipped, and said. */
  unreadable: Array<{ id: string; error: string }>;
}

/** True when `ref` names the manifest's workflow (uid, name or namespace/name). */
export function namesWorkflow(manifest: Manifest, ref: string): boolean {
  const wf = manifest.workflow;
  return wf.uid === ref || wf.name === ref || `${wf.namespace}/${wf.name}` === ref;
}

/**
 * Finds the manifest a user means: a manifest id (exactly that one), or a workflow uid, name or namespace/name.
 * A workflow archived more than once resolves to its newest complete archive (newest incomplete when none is
 * complete); `others` lists the rest so the caller can say so. Throws when nothing or several workflows match.
 */
export async function resolveManifest(repo: Repository, ref: string): Promise<ResolvedManifest> {
  if (HEX_ID.test(ref)) return { id: ref, manifest: await readManifest(repo, ref), others: [], unreadable: [] };
  const found: Array<{ id: string; manifest: Manifest; at: Date }> = [];
  const unreadable: Array<{ id: string; error: IntegrityError }> = [];
  const consider = async (id: string, at: Date) => {
    let manifest: Manifest;
    try {
      manifest = await readManifest(repo, id);
    } catch (err) {
      // One corrupt manifest must not hide every other workflow from a name lookup; verify reports it.
      if (!(err instanceof IntegrityError)) throw err;
      unreadable.push({ id, error: err });
      return;
    }
    if (namesWorkflow(manifest, ref)) found.push({ id, manifest, at });
  };
  // Refs name the candidates in one listing; a repository without them (or a manifest whose refs a crash cut
  // off before they were written) is found by reading every manifest.
  for (const id of (await manifestsByRef(repo, ref)) ?? []) {
    const info = await repo.store.head(manifestKey(id));
    if (info) await consider(id, info.lastModified); // else a stale ref
  }
  if (found.length === 0) {
    unreadable.length = 0;
    for await (const info of listManifests(repo)) await consider(info.id, info.lastModified);
  }
  if (found.length === 0 && unreadable.length > 0) {
    const { id, error } = unreadable[0]!;
    throw new IntegrityError(
      `no readable archive matches "${ref}"; ${unreadable.length} manifest(s) could not be read, first ${id}: ${describeError(error)}`,
    );
  }
  if (found.length === 0)
    throw new NotFoundError(`no archived workflow matches "${ref}" (give a manifest id, uid, name or namespace/name)`);
  const uids = new Set(found.map((f) => f.manifest.workflow.uid));
  if (uids.size > 1) {
    throw new InputError(
      `"${ref}" matches ${uids.size} workflows (uids ${[...uids].join(', ')}); give the uid or a manifest id`,
    );
  }
  // Complete before incomplete, then the archive written last. `createdAt` is the workflow's own time (its finish,
  // or its creation when the source had no finish), so two archives of one workflow say nothing by it.
  found.sort(
    (a, b) =>
      Number(a.manifest.incomplete) - Number(b.manifest.incomplete) ||
      b.at.getTime() - a.at.getTime() ||
      a.id.localeCompare(b.id),
  );
  const [best, ...rest] = found;
  return {
    id: best!.id,
    manifest: best!.manifest,
    others: rest.map((r) => ({ id: r.id, incomplete: r.manifest.incomplete, archivedAt: r.at.toISOString() })),
    unreadable: unreadable.map((u) => ({ id: u.id, error: describeError(u.error) })),
  };
}

/** One line for humans saying which archive a workflow name resolved to, and what else there is. */
export function describeResolution(r: ResolvedManifest): string {
  const wf = r.manifest.workflow;
  const what = `${wf.namespace}/${wf.name} (uid ${wf.uid}): manifest ${r.id}${r.manifest.incomplete ? ' (incomplete)' : ''}`;
  const skipped = r.unreadable.length
    ? `; skipped ${r.unreadable.length} unreadable manifest(s) (${r.unreadable.map((u) => u.id).join(', ')}; see strata verify)`
    : '';
  if (r.others.length === 0) return what + skipped;
  const incomplete = r.others.filter((o) => o.incomplete).length;
  const list = r.others.map((o) => `${o.id}${o.incomplete ? ' (incomplete)' : ''} ${o.archivedAt}`).join(', ');
  return (
    `${what}, the ${r.manifest.incomplete ? 'newest' : 'newest complete'} of ${r.others.length + 1} archives` +
    `${incomplete ? ` (${incomplete} other${incomplete > 1 ? 's' : ''} incomplete)` : ''}; others: ${list}; ` +
    'pick one with --manifest <id>' +
    skipped
  );
}

/**
 * The namespace of an archived workflow, by uid (its newest archive), or undefined when it has none: permission
 * checks about a workflow are asked in its namespace.
 */
export async function archivedNamespace(repo: Repository, uid: string): Promise<string | undefined> {
  try {
    const { manifest } = await resolveManifest(repo, uid);
    return manifest.workflow.uid === uid ? manifest.workflow.namespace : undefined;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}
