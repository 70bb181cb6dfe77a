// Walks a workflow's data directory in an export: every regular file, symlinks resolved and kept inside the export.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { limiter, type Limit } from '../concurrency.ts';
import { notReadReason } from './file-reader.ts';
import { resolveInside } from './safe-path.ts';

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

/** Every regular file below `dir`, symlinks checked against `realRoot` (refused with an InputError when outside). */
export async function walkFiles(realRoot: string, dir: string): Promise<Walk> {
  const acc: Walk = { files: [], skipped: [], seen: new Set([dir]) };
  await flatten(realRoot, await readTree(realRoot, dir, limiter(FS_CONCURRENCY)), '', acc);
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
async function readTree(realRoot: string, dir: string, limit: Limit): Promise<Tree> {
  const names = await limit(() => sortedEntries(dir));
  const entries = await Promise.all(
    names.map(async (entry) => {
      let looked: Looked | { error: unknown };
      try {
        looked = await limit(() => lookAt(realRoot, dir, entry));
      } catch (err) {
        looked = { error: err };
      }
      const sub =
        'type' in looked && looked.type === 'dir' && !looked.link ? readTree(realRoot, looked.real, limit) : undefined;
      // Read-ahead of a subtree that flatten skips or never reaches must not become an unhandled rejection.
      sub?.catch(() => undefined);
      return sub ? { name: entry.name, looked, sub } : { name: entry.name, looked };
    }),
  );
  return { entries };
}

/** Takes a read-ahead tree in name order, depth first, each real directory once; the first error in that order throws. */
async function flatten(realRoot: string, tree: Tree, relPrefix: string, acc: Walk): Promise<void> {
  for (const { name, looked, sub } of tree.entries) {
    if ('error' in looked) throw looked.error;
    const rel = relPrefix + name;
    if (looked.type === 'skipped') acc.skipped.push({ rel, reason: looked.reason });
    else if (looked.type === 'file') acc.files.push({ rel, real: looked.real, size: looked.size });
    else if (looked.type === 'dir' && !acc.seen.has(looked.real)) {
      acc.seen.add(looked.real);
      const subtree = await (sub ?? readTree(realRoot, looked.real, limiter(FS_CONCURRENCY)));
      await flatten(realRoot, subtree, rel + '/', acc);
    }
  }
}

/** What one directory entry is, symlinks followed and checked against `realRoot`. */
async function lookAt(realRoot: string, dir: string, entry: Dirent): Promise<Looked> {
  let real = join(dir, entry.name);
  const link = entry.isSymbolicLink();
  if (link) {
    try {
      await stat(real);
    } catch {
      return { type: 'skipped', reason: 'symlink whose target does not exist' };
    }
    real = await resolveInside(realRoot, real.slice(realRoot.length + 1));
  } else if (entry.isDirectory()) {
    return { type: 'dir', real, link }; // not a link below a real directory, so already a real path
  }
  const info = await stat(real);
  if (info.isDirectory()) return { type: 'dir', real, link };
  if (info.isFile()) return { type: 'file', real, size: info.size };
  return { type: 'skipped', reason: notReadReason(info) };
}
