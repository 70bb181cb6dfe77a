// What both job runners check and derive the same way: may the caller restore this archive, which entries a scope
// selects, where each lands in the result, and the bytes of a result file read back from the archive (verified).
import { Readable } from 'node:stream';
import type { Catalog, CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import type { Manifest, ManifestEntry } from '../../lib/archive/manifest.ts';
import type { Repository } from '../../lib/archive/repository.ts';
import { entryRange } from '../../lib/archive/entry-range.ts';
import { selectEntries, streamEntry, type EntrySelection, type EntrySelector } from '../../lib/archive/restorer.ts';
import { describeError } from '../../lib/errors.ts';
import { HttpError } from '../api/errors.ts';
import type { Authorizer, Caller } from '../auth/access.ts';
import type { ByteSpan } from '../service/log-stream.ts';
import type { RestoredFile, RestoreJob, RestoreScope } from './job.ts';

/** The workflow row, if the caller may restore from its namespace (404 when they cannot even list it). */
export async function restorableWorkflow(
  catalog: Catalog,
  authorizer: Authorizer,
  caller: Caller,
  manifestId: string,
): Promise<CatalogWorkflow> {
  const row = (await catalog.get(manifestId)).find((w) => w.manifestId === manifestId);
  const notFound = new HttpError(404, `no archived workflow with manifest id ${manifestId}`);
  if (!row) throw notFound;
  if (await authorizer.allows(caller, 'restore', row.namespace)) return row;
  if (await authorizer.allows(caller, 'list', row.namespace))
    throw new HttpError(403, `${caller.username} may not restore archives in namespace ${row.namespace}`);
  throw notFound;
}

/** A job the caller may see: their own, or any in a namespace where they may restore. */
export async function mayViewJob(authorizer: Authorizer, caller: Caller, job: RestoreJob): Promise<boolean> {
  return job.requestedBy === caller.username || authorizer.allows(caller, 'restore', job.namespace);
}

/** A partial scope as the core's selector (as `strata restore --node/--log` or `--path`); the whole workflow: none. */
export function selectorOf(scope: RestoreScope): EntrySelector | undefined {
  if (scope.kind === 'workflow') return undefined;
  return scope.kind === 'log' ? { nodeId: scope.nodeId, container: scope.container } : { path: scope.path };
}

/** The entries a scope selects (404 naming what is missing, so a bad request is not a failed job). */
export function selectScope(manifest: Manifest, scope: RestoreScope): EntrySelection {
  const selector = selectorOf(scope);
  if (selector === undefined) return { entries: manifest.entries, what: 'the whole workflow' };
  try {
    return selectEntries(manifest, selector);
  } catch (err) {
    throw new HttpError(404, describeError(err));
  }
}

/** Where each selected entry lands inside a job's result (as restoreWorkflow / restoreEntries into a directory). */
export function resultPath(scope: RestoreScope, selection: EntrySelection, entry: ManifestEntry): string {
  if (scope.kind === 'workflow') return entry.path;
  if (selection.directory !== undefined) return entry.path.slice(selection.directory.length + 1);
  return entry.path.slice(entry.path.lastIndexOf('/') + 1);
}

/** The result files of a scope, as the manifest describes them (what a verified restore wrote). */
export function expectedFiles(manifest: Manifest, scope: RestoreScope): RestoredFile[] {
  const selection = selectScope(manifest, scope);
  return selection.entries.map((e) => ({
    path: resultPath(scope, selection, e),
    entry: e.path,
    size: e.size,
    sha256: e.sha256,
  }));
}

/** A result file's bytes read from the archive: the same, checked against the manifest while they stream. */
export function archivedBytes(repo: Repository, manifest: Manifest, entryPath: string, span?: ByteSpan): Readable {
  const entry = manifest.entries.find((e) => e.path === entryPath);
  if (!entry) throw new HttpError(404, `the archive has no entry ${entryPath}`);
  // A range starts at the chunk holding its first byte (entry-range.ts).
  return span
    ? Readable.from(entryRange(repo, manifest, entry, span), { objectMode: false })
    : streamEntry(repo, manifest, entry);
}
