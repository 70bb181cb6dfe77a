// Tells a long-running process that configuration files may have changed: directories watched (a mounted
// ConfigMap's `..data` symlink swap is a rename in its directory), events debounced into one call.
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface WatchOptions {
  /** Events closer together than this become one call (a ConfigMap update is several renames). Default 250 ms. */
  debounceMs?: number;
  /** A watch that fails (the directory went away, too many watches) is reported here; the others go on. */
  onError?: (path: string, err: unknown) => void;
}

export interface Watch {
  close(): void;
}

/**
 * The directories whose entries change when `paths` change: a directory and its sub-directories (not the
 * dot-directories a ConfigMap mount keeps its versions in: the `..data` swap is a rename in the top one), a file's
 * parent (editors and kubelet replace files by rename, which a watch on the file itself would not follow).
 */
export function watchedDirectories(paths: readonly string[]): string[] {
  const dirs = new Set<string>();
  const addTree = (dir: string) => {
    dirs.add(resolve(dir));
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory() && !e.name.startsWith('.')) addTree(join(dir, e.name));
  };
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      // Not there yet: its parent says when it appears.
    }
    if (isDir) addTree(p);
    else dirs.add(resolve(dirname(p)));
  }
  return [...dirs];
}

/**
 * Calls `changed` (debounced) after anything under the watched directories changes. The call only says "look
 * again": the caller re-reads and compares, so a spurious event costs one read.
 */
export function watchPaths(paths: readonly string[], changed: () => void, opts: WatchOptions = {}): Watch {
  const debounceMs = opts.debounceMs ?? 250;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) changed();
    }, debounceMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of watchedDirectories(paths)) {
    try {
      // Not `recursive`: Node 20 on Linux loses track of files replaced by rename under a recursive watch.
      const w = watch(dir, { persistent: false }, fire);
      w.on('error', (err) => opts.onError?.(dir, err));
      watchers.push(w);
    } catch (err) {
      opts.onError?.(dir, err);
    }
  }
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
