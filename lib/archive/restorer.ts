// Gets archived workflows back: one entry as a verified stream, or entries and whole workflows into a directory.
import { stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { stringify } from 'yaml';
import { parseWorkflowDocument } from '../bundle/workflow-text.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { InputError, NotFoundError } from '../errors.ts';
import { resubmitWorkflow, type ResubmitOptions } from './argo-resubmit.ts';
import type { Manifest, ManifestEntry } from './manifest.ts';
import { readManifest } from './manifest-lookup.ts';
import { PackReader } from './pack-reader.ts';
import { manifestKey, type Repository } from './repository.ts';
import { isStagingName, RestoreTarget } from './restore-target.ts';
import { checkDigest, Sha256Tally } from '../store/sha256.ts';
import { readWhole } from '../store/read-whole.ts';

export interface EntrySelector {
  path?: string;
  nodeId?: string;
  /** With nodeId: the log of this container (default main). */
  container?: string;
  /** With nodeId: this artifact instead of a log. */
  artifactName?: string;
}

/** What a partial restore takes: one file, or every file of a directory (a directory artifact, or a path prefix). */
export interface EntrySelection {
  entries: ManifestEntry[];
  /** For a directory: its path in the archive; entries land at their path below it. */
  directory?: string;
  /** The selection in words, for messages. */
  what: string;
}

/** Up to `max` of the paths, then how many more. */
function listPaths(entries: ManifestEntry[], max = 10): string {
  const shown = entries.slice(0, max).map((e) => e.path);
  return shown.join(', ') + (entries.length > max ? ` and ${entries.length - max} more` : '');
}

export function selectEntries(manifest: Manifest, sel: EntrySelector): EntrySelection {
  let entries: ManifestEntry[];
  let directory: string | undefined;
  let what: string;
  if (sel.path !== undefined) {
    const path = sel.path.replace(/\/+$/, '');
    what = `path ${path}`;
    entries = manifest.entries.filter((e) => e.path === path);
    if (entries.length === 0) {
      entries = manifest.entries.filter((e) => e.path.startsWith(`${path}/`));
      if (entries.length > 0) directory = path;
    }
  } else if (sel.artifactName !== undefined) {
    what = `artifact "${sel.artifactName}" of node ${sel.nodeId}`;
    entries = manifest.entries.filter(
      (e) => e.kind === 'artifact' && e.nodeId === sel.nodeId && e.artifactName === sel.artifactName,
    );
    // A file artifact is `artifacts/<node>/<file>`; a directory artifact is every file below `artifacts/<node>/<name>/`.
    if (entries.length > 1 || (entries.length === 1 && entries[0]!.path.split('/').length > 3)) {
      directory = commonDirectory(
        entries.map((e) => e.path),
        3,
      );
    }
  } else {
    what = `${sel.container ?? 'main'} log of node ${sel.nodeId}`;
    entries = manifest.entries
      .filter(
        (e) => e.kind === 'log' && e.nodeId === sel.nodeId && (e.container ?? 'main') === (sel.container ?? 'main'),
      )
      .slice(0, 1);
  }
  if (entries.length === 0) {
    const gone = manifest.missing.find((m) => m.path === sel.path || (sel.nodeId && m.nodeId === sel.nodeId));
    throw new NotFoundError(
      `workflow ${manifest.workflow.namespace}/${manifest.workflow.name} has no ${what}${gone ? ` (missing at archive time: ${gone.reason})` : ''}`,
    );
  }
  if (directory !== undefined) what += ` (directory ${directory}/, ${entries.length} files: ${listPaths(entries)})`;
  return { entries, ...(directory !== undefined && { directory }), what };
}

/** The deepest directory (at most `maxDepth` segments) that holds every path. */
function commonDirectory(paths: string[], maxDepth: number): string {
  let common = paths[0]!.split('/').slice(0, -1);
  for (const p of paths.slice(1)) {
    const parts = p.split('/').slice(0, -1);
    let n = 0;
    while (n < common.length && n < parts.length && common[n] === parts[n]) n++;
    common = common.slice(0, n);
  }
  return common.slice(0, maxDepth).join('/');
}

/** Streams one entry's bytes; the stream errors with IntegrityError if size or SHA-256 differ from the manifest. */
export function streamEntry(
  repo: Repository,
  manifest: Manifest,
  entry: ManifestEntry,
  reader = new PackReader(repo),
): Readable {
  async function* chunks() {
    const tally = new Sha256Tally();
    for (const [p, id] of entry.chunks) {
      const data = await reader.chunk(manifest.group, manifest.packs[p]!, id);
      tally.add(data);
      yield data;
    }
    checkDigest(entry, tally.digest(), 'read back against the manifest', { file: entry.path });
  }
  return Readable.from(chunks(), { objectMode: false });
}

export async function openEntry(repo: Repository, manifestId: string, path: string): Promise<Readable> {
  const manifest = await readManifest(repo, manifestId);
  const entry = manifest.entries.find((e) => e.path === path);
  if (!entry) throw new NotFoundError(`no entry at path ${path}`, { key: manifestKey(manifestId) });
  return streamEntry(repo, manifest, entry);
}

/** Where an entry lands under `root`; refuses absolute paths and anything that climbs out. */
export function safeTarget(root: string, path: string): string {
  const refuse = (why: string): never => {
    throw new InputError(`refusing to restore entry path ${JSON.stringify(path)}: ${why}`, { file: path });
  };
  if (path.length === 0 || path.includes('\0')) refuse('empty or contains NUL');
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.includes('\\'))
    refuse('absolute or not a POSIX relative path');
  if (path.split('/').some((s) => s === '..' || s === '.' || s === '')) refuse('has "..", "." or empty segments');
  if (isStagingName(path.split('/')[0]!)) refuse('uses the name of a restore staging directory');
  const base = resolve(root);
  const target = resolve(base, path);
  if (!target.startsWith(base + sep)) refuse('escapes the target directory');
  return target;
}

/** Picks the Workflow out of the stored entry, which may be a single object or a List. */
function findWorkflow(text: string, path: string, uid: string): Record<string, unknown> | undefined {
  const doc = parseWorkflowDocument(text, path) as Record<string, unknown> | null | undefined;
  if (!doc || typeof doc !== 'object') return undefined;
  if (Array.isArray(doc.items)) {
    const items = doc.items as Array<Record<string, unknown>>;
    return items.find((i) => (i.metadata as { uid?: string } | undefined)?.uid === uid) ?? items[0];
  }
  return doc;
}

/**
 * The archived Workflow object of a manifest, read from the archive and verified, when it was archived and is at
 * most `maxBytes` (a larger one is left to a restore rather than held in memory).
 */
export async function archivedWorkflowObject(
  repo: Repository,
  manifest: Manifest,
  maxBytes: number,
): Promise<Record<string, unknown> | undefined> {
  const entry = manifest.entries.find((e) => e.path === manifest.workflowPath);
  if (!entry || entry.size > maxBytes) return undefined;
  const parts: Buffer[] = [];
  let size = 0;
  for await (const piece of streamEntry(repo, manifest, entry) as AsyncIterable<Uint8Array>) {
    size += piece.length;
    if (size > maxBytes) return undefined;
    parts.push(Buffer.from(piece));
  }
  const found = findWorkflow(Buffer.concat(parts).toString('utf8'), entry.path, manifest.workflow.uid);
  return found && !Array.isArray(found) ? found : undefined;
}

export const RESUBMIT_FILE = 'workflow.resubmit.yaml';

export interface RestoreOptions {
  progress?: Progress;
  /** How workflow.resubmit.yaml is made (memoized, keep the creator labels). */
  resubmit?: Omit<ResubmitOptions, 'manifestId'>;
}

export interface RestoreResult {
  manifestId: string;
  /** The target directory (its real path). */
  to: string;
  files: number;
  bytes: number;
  resubmitPath?: string;
  /** Staging directories of an interrupted earlier restore into the same target, removed. */
  leftoversRemoved?: string[];
  /** What was read around (a pack index that did not verify); the data itself verified. */
  warnings?: string[];
}

/** A file a restore writes: its path below the target and its bytes (opened only when its turn comes). */
interface StagedFile {
  rel: string;
  data: () => AsyncIterable<Uint8Array> | Uint8Array;
}

/** Passes a stream through, reporting each piece to the progress port (a 'data' listener would start the flow). */
export async function* counted(stream: AsyncIterable<Uint8Array>, progress: Progress): AsyncIterable<Uint8Array> {
  for await (const piece of stream) {
    progress.advance(piece.length);
    yield piece;
  }
}

/** Refuses two entries at one path, or a file where another entry needs a directory. */
function checkLayout(paths: string[]): void {
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const p of paths) {
    if (files.has(p)) throw new InputError(`refusing to restore: two entries at path ${JSON.stringify(p)}`);
    files.add(p);
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const p of files) {
    if (dirs.has(p)) throw new InputError(`refusing to restore: ${JSON.stringify(p)} is both a file and a directory`);
  }
}

/**
 * Writes `files` (relative path → entry or bytes) into `targetDir`: staged inside it, verified, then moved in
 * together. A failure anywhere (a corrupt chunk, a full disk, a link in the way) leaves the target as it was.
 */
async function writeIntoDirectory(targetDir: string, files: StagedFile[]): Promise<{ target: RestoreTarget }> {
  for (const f of files) safeTarget(targetDir, f.rel);
  checkLayout(files.map((f) => f.rel));
  const target = await RestoreTarget.open(targetDir);
  try {
    for (const f of files) await target.write(f.rel, f.data());
    await target.commit();
  } catch (err) {
    await target.discard();
    throw err;
  }
  return { target };
}

/**
 * Writes every entry at its path under `targetDir`, plus the Workflow object ready for resubmission. All paths
 * are checked before anything is written; nothing appears in the target until every entry verified.
 */
export async function restoreWorkflow(
  repo: Repository,
  manifestId: string,
  targetDir: string,
  opts: RestoreOptions = {},
): Promise<RestoreResult> {
  const progress = opts.progress ?? silentProgress;
  const manifest = await readManifest(repo, manifestId);
  const reader = new PackReader(repo);
  const files: StagedFile[] = manifest.entries.map((e) => ({
    rel: e.path,
    data: () => counted(streamEntry(repo, manifest, e, reader), progress),
  }));
  const wfEntry = manifest.entries.find((e) => e.path === manifest.workflowPath);
  let resubmit = false;
  if (wfEntry && !manifest.entries.some((e) => e.path === RESUBMIT_FILE)) {
    const text = (await readWhole(streamEntry(repo, manifest, wfEntry, reader))).toString('utf8');
    const wf = findWorkflow(text, wfEntry.path, manifest.workflow.uid);
    if (wf) {
      const bytes = Buffer.from(stringify(resubmitWorkflow(wf, { ...opts.resubmit, manifestId })));
      files.push({ rel: RESUBMIT_FILE, data: () => bytes });
      resubmit = true;
    }
  }
  progress.start(
    manifest.entries.reduce((a, e) => a + e.size, 0),
    `restore ${manifest.workflow.namespace}/${manifest.workflow.name}`,
  );
  const { target } = await writeIntoDirectory(targetDir, files);
  progress.done();
  return {
    manifestId,
    to: target.dir,
    files: manifest.entries.length,
    bytes: manifest.entries.reduce((a, e) => a + e.size, 0),
    ...(resubmit && { resubmitPath: join(target.dir, RESUBMIT_FILE) }),
    ...(target.leftovers.length > 0 && { leftoversRemoved: target.leftovers }),
    ...(reader.warnings.length > 0 && { warnings: reader.warnings }),
  };
}

export interface EntriesRestoreResult {
  manifestId: string;
  /** Each restored entry and the file it became. */
  files: Array<{ path: string; to: string }>;
  bytes: number;
  leftoversRemoved?: string[];
  warnings?: string[];
}

/**
 * Writes a partial restore to a local path. A directory selection goes below `to` (a directory, created when
 * missing) at each file's path inside the selected directory. One file goes to `to`, or into it under the
 * entry's own name when `to` is a directory (or ends with a slash), like `cp`. Staged and verified first, as a
 * whole restore is.
 */
export async function restoreEntries(
  repo: Repository,
  manifestId: string,
  manifest: Manifest,
  selection: EntrySelection,
  to: string,
  opts: RestoreOptions = {},
): Promise<EntriesRestoreResult> {
  const progress = opts.progress ?? silentProgress;
  const reader = new PackReader(repo);
  let dir: string;
  let rels: string[];
  if (selection.directory !== undefined) {
    dir = to;
    rels = selection.entries.map((e) => e.path.slice(selection.directory!.length + 1));
  } else {
    const intoDir =
      to.endsWith('/') ||
      (await stat(to).then(
        (st) => st.isDirectory(),
        () => false,
      ));
    dir = intoDir ? to : dirname(to);
    rels = [intoDir ? basename(selection.entries[0]!.path) : basename(to)];
  }
  const bytes = selection.entries.reduce((a, e) => a + e.size, 0);
  progress.start(bytes, `restore ${selection.what}`);
  const { target } = await writeIntoDirectory(
    dir,
    selection.entries.map((e, i) => ({
      rel: rels[i]!,
      data: () => counted(streamEntry(repo, manifest, e, reader), progress),
    })),
  );
  progress.done();
  return {
    manifestId,
    files: selection.entries.map((e, i) => ({ path: e.path, to: join(target.dir, rels[i]!) })),
    bytes,
    ...(target.leftovers.length > 0 && { leftoversRemoved: target.leftovers }),
    ...(reader.warnings.length > 0 && { warnings: reader.warnings }),
  };
}
