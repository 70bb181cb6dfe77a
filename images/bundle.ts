// Bundles the strata CLI with esbuild (ESM, code behind dynamic imports split into chunks loaded on demand);
// native modules stay external and are copied beside it as .node files.
import { cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';

const repoRoot = resolve(import.meta.dirname, '..');

/**
 * V8 flags the image's `strata` wrapper (images/strata.sh) runs the bundle with; the benchmark uses them too.
 * A 4 MiB young-generation semi-space (default 16): the archive allocates many short-lived buffers, and the young
 * generation's growth was ~30-50 MiB of peak RSS for no speed (200 MB: 2.34-2.37 s vs 2.46-2.66 s).
 */
export const NODE_FLAGS = ['--max-semi-space-size=4'];

/** Packages with compiled addons (and what they require at run time): never bundled, copied as they are. */
export const NATIVE_PACKAGES = ['better-sqlite3', 'bindings', 'file-uri-to-path', 'zstd-napi'];
/** Build leftovers a runtime image does not need. */
const SKIP = /(^|\/)(deps|src|obj|obj\.target|test|docs?)(\/|$)|\.(a|gyp|gypi|cc|h|md|d\.ts)$/;

export interface BundleResult {
  outDir: string;
  entry: string;
  bytes: number;
  externals: string[];
}

export async function bundleCli(outDir: string): Promise<BundleResult> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const entry = join(outDir, 'strata.mjs');
  const result = await build({
    // Worker threads load their module from beside the CLI (lib/threads/worker-url.ts): the frame encoder's
    // (lib/archive/frame-encoder.ts) and the catalog's search threads (lib/catalog/search-threads.ts).
    entryPoints: {
      strata: join(repoRoot, 'steps/cli.ts'),
      'frame-worker': join(repoRoot, 'lib/archive/frame-worker.ts'),
      'search-worker': join(repoRoot, 'lib/catalog/search-worker.ts'),
    },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    // Dynamic imports (the S3 SDK, the Kubernetes client) become chunks parsed only by the commands that use them.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    external: NATIVE_PACKAGES,
    logLevel: 'silent',
    // Bundled CommonJS dependencies call require(); ESM output has none unless we make one.
    banner: {
      js: "import { createRequire as __strataRequire } from 'node:module'; const require = __strataRequire(import.meta.url);",
    },
  });
  for (const name of NATIVE_PACKAGES) {
    const from = join(repoRoot, 'node_modules', name);
    cpSync(from, join(outDir, 'node_modules', name), {
      recursive: true,
      filter: (src) => !SKIP.test(relative(from, src)),
    });
  }
  writeFileSync(
    join(outDir, 'package.json'),
    JSON.stringify({ name: 'strata-bundle', private: true, type: 'module' }, null, 2) + '\n',
  );
  return { outDir, entry, bytes: statSync(entry).size, externals: externalsOf(result.metafile) };
}

function externalsOf(meta: Metafile): string[] {
  const out = new Set<string>();
  for (const o of Object.values(meta.outputs))
    for (const i of o.imports) if (i.external && !i.path.startsWith('node:')) out.add(i.path);
  return [...out].sort();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = resolve(process.argv[2] ?? join(repoRoot, 'dist/image'));
  const r = await bundleCli(out);
  if (!existsSync(dirname(r.entry))) throw new Error('bundle missing');
  process.stdout.write(
    `${relative(process.cwd(), r.entry)}: ${(r.bytes / 1024).toFixed(0)} KiB; external: ${r.externals.join(', ') || '(none)'}\n`,
  );
}
