// How object keys map onto a local directory: key validation, reserved sidecar/temp names, and the sorted walk.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.ts';

/** Sidecar holding an object's metadata: `<dir>/.<name>.strata-meta` beside `<dir>/<name>`. */
const META_SUFFIX = '.strata-meta';
/** Temp files of in-flight writes: `<dir>/.<name>.strata-tmp-<random>`. */
const TMP_MARK = '.strata-tmp-';

export function metaName(name: string): string {
  return `.${name}${META_SUFFIX}`;
}

export function tempName(name: string, random: string): string {
  return `.${name}${TMP_MARK}${random}`;
}

/** A directory segment no key can have: empty, `.`, `..`, or holding a backslash or NUL. */
function unsafeSegment(s: string): boolean {
  return s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0');
}

function isReserved(name: string): boolean {
  return name.endsWith(META_SUFFIX) || name.includes(TMP_MARK);
}

/**
 * The key a temp file (`.<name>.strata-tmp-<random>`) in directory `dirKey` was written for, or undefined when the
 * name is not a temp file's. A sidecar's temp file (`..<name>.strata-meta.strata-tmp-…`) names its object's key.
 */
export function keyOfTempFile(dirKey: string, name: string): string | undefined {
  const at = name.lastIndexOf(TMP_MARK);
  if (!name.startsWith('.') || at <= 1) return undefined;
  let target = name.slice(1, at);
  if (target.startsWith('.') && target.endsWith(META_SUFFIX)) target = target.slice(1, -META_SUFFIX.length);
  return target ? dirKey + target : undefined;
}

/** A temp file left in the store's tree: the key it was for and its path relative to the root (`/`-separated). */
export interface TempFileEntry {
  key: string;
  relPath: string;
}

/**
 * Every temp file under the directory of `prefix` whose key starts with `prefix` (any order). Temp files are what
 * a killed writer leaves: list() never shows them, so only this walk finds them for gc.
 */
export async function* walkTempFiles(root: string, prefix: string): AsyncGenerator<TempFileEntry> {
  const dirKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  const segments = dirKey.split('/').slice(0, -1);
  if (segments.some(unsafeSegment)) return;
  const pending = [dirKey];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let entries;
    try {
      entries = await readdir(join(root, dir), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new StoreError(`cannot list directory ${join(root, dir)}: ${code ?? String(err)}`);
    }
    for (const e of entries) {
      if (e.isDirectory()) pending.push(`${dir}${e.name}/`);
      else if (e.isFile()) {
        const key = keyOfTempFile(dir, e.name);
        if (key?.startsWith(prefix)) yield { key, relPath: dir + e.name };
      }
    }
  }
}

/** Refuses anything but the path of a temp file inside the root: removing unfinished writes never removes objects. */
export function checkTempFilePath(relPath: string): void {
  const segments = relPath.split('/');
  const name = segments.at(-1)!;
  const dirKey = segments.slice(0, -1).join('/');
  if (segments.some(unsafeSegment) || keyOfTempFile(dirKey ? `${dirKey}/` : '', name) === undefined) {
    throw new StoreError('not a temp file of this store', { key: JSON.stringify(relPath) });
  }
}

/**
 * Refuses keys that could escape the root or collide with our own files: absolute paths, `.`/`..` segments,
 * empty segments, NUL, backslashes (a Windows separator), and the reserved sidecar/temp names.
 */
export function checkKey(key: string): void {
  const refuse = (why: string): never => {
    throw new StoreError(`refusing object key: ${why}`, { key: JSON.stringify(key) });
  };
  if (key.length === 0) refuse('empty key');
  if (Buffer.byteLength(key) > 1024) refuse('longer than 1024 bytes');
  if (key.includes('\0')) refuse('contains NUL');
  if (key.includes('\\')) refuse('contains a backslash');
  if (key.startsWith('/')) refuse('absolute path');
  for (const segment of key.split('/')) {
    if (segment === '') refuse('empty path segment (leading, trailing or double "/")');
    if (segment === '.' || segment === '..') refuse(`"${segment}" segment escapes the store root`);
    if (isReserved(segment)) refuse(`"${segment}" is a name reserved for store metadata`);
  }
}

/** Orders like S3 ListObjectsV2: by the UTF-8 bytes of the key. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export interface WalkEntry {
  key: string;
  path: string;
  /** Names present in the entry's directory, so callers can see whether a sidecar exists without a stat. */
  siblings: ReadonlySet<string>;
}

/**
 * Yields every object file under `root` whose key starts with `prefix`, in key order, one directory in memory
 * at a time. A directory `d` sorts as `d/` so that `a-b` (0x2D) comes before `a/x` (0x2F), as S3 orders them.
 */
export async function* walkSorted(root: string, prefix: string): AsyncGenerator<WalkEntry> {
  const cut = prefix.lastIndexOf('/');
  const dirKey = cut < 0 ? '' : prefix.slice(0, cut + 1);
  const fragment = prefix.slice(cut + 1);
  // No valid key lies under a prefix with an empty, "." or ".." segment (e.g. "/" or "a//"): list nothing.
  const segments = dirKey.split('/').slice(0, -1);
  if (segments.some(unsafeSegment)) return;
  yield* walkDir(root, dirKey, fragment);
}

async function* walkDir(root: string, dirKey: string, fragment: string): AsyncGenerator<WalkEntry> {
  const dirPath = join(root, dirKey);
  let entries;
  try {
    entries = await readdir(dirPath, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw new StoreError(`cannot list directory ${dirPath}: ${code ?? String(err)}`);
  }
  const siblings = new Set(entries.map((e) => e.name));
  const visible = entries
    .filter((e) => !isReserved(e.name) && e.name.startsWith(fragment) && (e.isFile() || e.isDirectory()))
    .map((e) => ({ name: e.name, dir: e.isDirectory(), sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
    .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
  for (const e of visible) {
    if (e.dir) yield* walkDir(root, `${dirKey}${e.name}/`, '');
    else yield { key: dirKey + e.name, path: join(dirPath, e.name), siblings };
  }
}
