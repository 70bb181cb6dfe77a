// Walks a workflow's data directory in an export: every regular file, symlinks resolved and kept inside the export,
// nothing taken that belongs to another workflow.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { limiter, type Limit } from '../concurrency.ts';
import { notReadReason } from './file-reader.ts';
import { isInside, resolveInside } from './safe-path.ts';

/** File system calls in flight at once while reading a workflow directory (libuv runs 4 at a time by default). */
export const FS_CONCURRENCY = 8;

export interface FoundFile {
  /** Path relative to the workflow directory, POSIX. */
  rel: string;
  real: string;
  size: number;
}

/** Something below the workflow directory that is not taken, and why (it becomes a missing entry). */
export interface SkippedPath {
  /** Path relative to the workflow directory, POSIX. */
  rel: string;
  reason: string;
}

export interface Walk {
  files: FoundFile[];
  /** Dangling symlinks, named pipes, sockets, devices. */
  skipped: SkippedPath[];
  seen: Set<string>;
}

/** Where a walk may go: the export, and within it the workflow's own directory. */
export interface WalkScope {
  /** Real path of the export directory: a symlink out of it is refused with an InputError. */
  root: string;
  /** Real path of the workflow's own directory: symlinked directories are followed only inside it. */
  dir: string;
  /**
   * The other workflow (`namespace/name`) a real path belongs to, if any: its directory or its workflow file,
   * or anything below them. Such paths are not taken, so one workflow's archive never holds another's files.
   */
  ownerElsewhere(real: string): string | undefined;
}

/**
 * Every regular file below the workflow's directory. Symlinks that leave the export are refused (InputError);
 * dangling links, special files, links to directories outside the workflow's own and anything of another
 * workflow are skipped with the reason.
 */
export async function walkFiles(scope: WalkScope): Promise<Walk> {
  const acc: Walk = { files: [], skipped: [], seen: new Set([scope.dir]) };
  await flatten(scope, await readTree(scope, scope.dir, limiter(FS_CONCURRENCY)), '', acc);
  return acc;
}

/** A directory's entries in name order. */
export async function sortedEntries(dir: string): Promise<Dirent[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A directory read ahead: its entries in name order; plain subdirectories read ahead too. */
interface Tree {
  entries: Array<{ name: string; looked: Looked | { error: unknown }; sub?: Promise<Tree> }>;
}

type Looked =
  | { type: 'skipped'; reason: string }
  | { type: 'dir'; real: string; link: boolean }
  | { type: 'file'; real: string; size: number };

/**
 * Reads a directory and, concurrently, every plain (not symlinked) directory below it: one file system round
 * trip after another made walking a workflow directory slower than reading its bytes. Symlinked directories
 * are left to `flatten`, which reads them only when it gets to them, so links cannot multiply the work.
 */
async function readTree(scope: WalkScope, dir: string, limit: Limit): Promise<Tree> {
  const names = await limit(() => sortedEntries(dir));
  const entries = await Promise.all(
    names.map(async (entry) => {
      let looked: Looked | { error: unknown };
      try {
        looked = await limit(() => lookAt(scope, dir, entry));
      } catch (err) {
        looked = { error: err };
      }
      const sub =
        'type' in looked && looked.type === 'dir' && !looked.link ? readTree(scope, looked.real, limit) : undefined;
      // Read-ahead of a subtree that flatten skips or never reaches must not become an unhandled rejection.
      sub?.catch(() => undefined);
      return sub ? { name: entry.name, looked, sub } : { name: entry.name, looked };
    }),
  );
  return { entries };
}

/** Takes a read-ahead tree in name order, depth first, each real directory once; the first error in that order throws. */
async function flatten(scope: WalkScope, tree: Tree, relPrefix: string, acc: Walk): Promise<void> {
  for (const { name, looked, sub } of tree.entries) {
    if ('error' in looked) throw looked.error;
    const rel = relPrefix + name;
    if (looked.type === 'skipped') acc.skipped.push({ rel, reason: looked.reason });
    else if (looked.type === 'file') acc.files.push({ rel, real: looked.real, size: looked.size });
    else if (looked.type === 'dir' && !acc.seen.has(looked.real)) {
      acc.seen.add(looked.real);
      const subtree = await (sub ?? readTree(scope, looked.real, limiter(FS_CONCURRENCY)));
      await flatten(scope, subtree, rel + '/', acc);
    }
  }
}

/** What one directory entry is, symlinks followed and checked against the scope. */
async function lookAt(scope: WalkScope, dir: string, entry: Dirent): Promise<Looked> {
  let real = join(dir, entry.name);
  const link = entry.isSymbolicLink();
  if (link) {
    try {
      await stat(real);
    } catch {
      return { type: 'skipped', reason: 'symlink whose target does not exist' };
    }
    real = await resolveInside(scope.root, real.slice(scope.root.length + 1));
  }
  const owner = scope.ownerElsewhere(real);
  if (owner) {
    const reason = link
      ? `symlink into the directory of workflow ${owner}: not followed`
      : `${entry.isDirectory() ? 'directory' : 'file'} of workflow ${owner}: not taken`;
    return { type: 'skipped', reason };
  }
  // Not a link below a real directory, so already a real path.
  if (!link && entry.isDirectory()) return { type: 'dir', real, link };
  const info = await stat(real);
  if (info.isDirectory()) {
    if (link && !isInside(scope.dir, real)) {
      const where = relative(scope.root, real) || 'the export root';
      return {
        type: 'skipped',
        reason: `symlink to a directory outside this workflow's directory (${where}): not followed`,
      };
    }
    return { type: 'dir', real, link };
  }
  if (info.isFile()) return { type: 'file', real, size: info.size };
  return { type: 'skipped', reason: notReadReason(info) };
}
