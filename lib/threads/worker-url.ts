// Where a worker thread's module is: built from its TypeScript in development, beside the bundle in images.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * In development the worker body is TypeScript. Booting tsx's loader in the worker cost ~70 MiB of peak RSS (its
 * hooks thread and transform caches: 268 vs 198 MiB archiving 200 MB through bin/strata.js), so the body is built
 * once per process with esbuild (which tsx runs on) into node_modules/.cache, where its imports resolve.
 */
function devWorkerFile(here: string, name: string): URL {
  const require = createRequire(here);
  const esbuild = require('esbuild') as {
    buildSync(o: Record<string, unknown>): { outputFiles: Array<{ contents: Uint8Array }> };
  };
  const out = esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL(`./${name}.ts`, here))],
    bundle: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    write: false,
  });
  const dir = join(dirname(require.resolve('esbuild/package.json')), '..', '.cache', 'strata');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.mjs`);
  // Several processes may start at once: each writes its own file and renames it into place.
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, out.outputFiles[0]!.contents);
  renameSync(temp, file);
  return pathToFileURL(file);
}

const built = new Map<string, URL>();

/**
 * The module of worker `name` (e.g. `frame-worker`) that sits beside the module at `here` (its import.meta.url):
 * `<name>.ts` built for development (devWorkerFile), `<name>.mjs` beside the bundle in images (images/bundle.ts
 * builds each worker as an entry point of its own).
 */
export function workerUrl(here: string, name: string): URL {
  if (!here.endsWith('.ts')) return new URL(`./${name}.mjs`, here);
  const key = `${here}#${name}`;
  let url = built.get(key);
  if (!url) built.set(key, (url = devWorkerFile(here, name)));
  return url;
}
