// Keeps source paths inside their export directory: refuses `..`, absolute names and symlinks that point out.
import { realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { InputError } from '../errors.ts';

/**
 * Checks one path segment that came from input data (a namespace, workflow name, node id, artifact name)
 * before it is joined into a filesystem path.
 */
export function checkSegment(segment: string, what: string, file?: string): string {
  if (
    segment === '' ||
    segment === '.' ||
    segment === '..' ||
    segment.includes('/') ||
    segment.includes('\\') ||
    segment.includes('\0')
  ) {
    throw new InputError(`${what} ${JSON.stringify(segment)} is not a safe path segment`, file ? { file } : undefined);
  }
  return segment;
}

/** True when `child` is `root` or below it (both absolute, already resolved). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Resolves `root/rel` following symlinks and throws an InputError naming the path when the result is outside
 * the real root. `realRoot` must be the root's realpath.
 */
export async function resolveInside(realRoot: string, rel: string): Promise<string> {
  if (isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) {
    throw new InputError(`path escapes the export directory`, { file: join(realRoot, rel) });
  }
  const full = join(realRoot, rel);
  let real: string;
  try {
    real = await realpath(full);
  } catch (err) {
    throw new InputError(`cannot resolve path: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file: full });
  }
  if (!isInside(realRoot, real)) {
    throw new InputError(`path escapes the export directory (resolves to ${real})`, { file: full });
  }
  return real;
}
