// Where a directory replica really is: its path with symlinks and `..` resolved, so that no spelling of a path (a link
// into another site's mount, `eu-nfs/../us-nfs`) can pass a residency pattern meant for another place.
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseStoreUrl } from '../store/open.ts';

/** The real path of `path`: the deepest existing ancestor resolved (the replica may not exist yet), the rest kept. */
export function canonicalDirectory(path: string): string {
  const rest: string[] = [];
  let at = resolve(path);
  for (;;) {
    try {
      return join(realpathSync(at), ...rest.reverse());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw err;
      rest.push(basename(at));
      at = dirname(at);
    }
  }
}

/**
 * A `file:` store URL, or a residency pattern over them, in one canonical form (`file:///real/path`); the part of a
 * pattern before its first `*` is resolved like a path. Anything else is returned as it is.
 */
export function canonicalFileUrl(urlOrPattern: string): string {
  if (!urlOrPattern.startsWith('file:')) return urlOrPattern;
  const star = urlOrPattern.indexOf('*');
  const literal = star < 0 ? urlOrPattern : urlOrPattern.slice(0, star);
  const cut = literal.lastIndexOf('/');
  const head = star < 0 ? literal : literal.slice(0, cut + 1);
  const tail = star < 0 ? '' : urlOrPattern.slice(cut + 1);
  const trimmed = head.replace(/\/+$/, '');
  const loc = parseStoreUrl(trimmed === 'file:' ? 'file:/' : trimmed);
  if (loc.kind !== 'file') return urlOrPattern;
  const path = canonicalDirectory(loc.root);
  return pathToFileURL(tail ? join(path, tail) : path).href;
}
