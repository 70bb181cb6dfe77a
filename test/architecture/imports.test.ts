// Guards the layering rules: no import cycles, steps never import each other, the pure core imports no adapters.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE_DIRS = ['lib', 'steps', 'server'];

/** Packages that are adapters: only modules named as adapters may import them. */
const ADAPTER_PACKAGES = ['@aws-sdk/', '@kubernetes/client-node', 'better-sqlite3', '@elastic/elasticsearch'];
/** Pure domain areas (ARCHITECTURE.md): they talk to I/O only through ports. */
const PURE_AREAS = ['lib/policy/', 'lib/archive/', 'lib/pipeline/', 'lib/tier/', 'lib/replica/'];

function sourceFiles(dir: string): string[] {
  const abs = join(root, dir);
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(abs, name);
    if (statSync(path).isDirectory()) return sourceFiles(relative(root, path));
    return name.endsWith('.ts') ? [relative(root, path)] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers: string[] = [];
  // Static `import … from '…'`, `export … from '…'` and dynamic `import('…')`; `import type` cannot form runtime cycles.
  const re = /(?:^|\n)\s*(import|export)(\s+type)?[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) {
    if (m[2]) continue;
    specifiers.push((m[3] ?? m[4])!);
  }
  return specifiers;
}

/** Every import, `import type` included: a layering rule is about knowing, not only about runtime loading. */
function allImportsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const re = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...text.matchAll(re)].map((m) => (m[1] ?? m[2])!);
}

function resolveLocal(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return relative(root, resolve(root, dirname(from), spec));
}

const files = SOURCE_DIRS.flatMap(sourceFiles);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('module layering', () => {
  test('the source tree is not empty', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  test('no import cycles among lib/, steps/ and server/ files, type-only imports included', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const spec of allImportsOf(file)) {
        const target = resolveLocal(file, spec);
        if (target && graph.has(target)) visit(target, [...trail, file]);
      }
      state.set(file, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  test('no cycles between areas (lib/<area>, steps/<step>, server/<part>), type-only imports included', () => {
    // A file-level DAG can still tie two areas into a knot (kube ↔ sources); each area depends one way.
    const areaOf = (file: string) => /^((?:lib|steps|server)\/[^/]+)\//.exec(file)?.[1] ?? file;
    const edges = new Map<string, Map<string, string>>();
    for (const file of files) {
      for (const spec of allImportsOf(file)) {
        const target = resolveLocal(file, spec);
        if (!target || !graph.has(target)) continue;
        const [from, to] = [areaOf(file), areaOf(target)];
        if (from === to) continue;
        if (!edges.has(from)) edges.set(from, new Map());
        if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, `${file} imports ${spec}`);
      }
    }
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (area: string, trail: string[]) => {
      if (state.get(area) === 'done') return;
      if (state.get(area) === 'visiting') {
        const loop = [...trail.slice(trail.indexOf(area)), area];
        cycles.push(
          loop
            .slice(1)
            .map((to, i) => edges.get(loop[i]!)!.get(to)!)
            .join('; '),
        );
        return;
      }
      state.set(area, 'visiting');
      for (const to of edges.get(area)?.keys() ?? []) visit(to, [...trail, area]);
      state.set(area, 'done');
    };
    for (const area of edges.keys()) visit(area, []);
    expect(cycles).toEqual([]);
  });

  test('steps never import other steps', () => {
    const offenders: string[] = [];
    for (const [file, specs] of graph) {
      const own = /^steps\/([^/]+)\//.exec(file)?.[1];
      if (!own) continue;
      for (const spec of specs) {
        const other = /^steps\/([^/]+)\//.exec(resolveLocal(file, spec) ?? '')?.[1];
        if (other && other !== own) offenders.push(`${file} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('the pure core imports no adapter packages and no adapter modules', () => {
    const offenders: string[] = [];
    for (const [file, specs] of graph) {
      if (!PURE_AREAS.some((area) => file.startsWith(area))) continue;
      for (const spec of specs) {
        const local = resolveLocal(file, spec);
        if (ADAPTER_PACKAGES.some((p) => spec.startsWith(p))) offenders.push(`${file} imports ${spec}`);
        if (local && /^lib\/(store\/(s3|fs)|kube\/|catalog\/sqlite)/.test(local))
          offenders.push(`${file} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('the core (lib/ outside lib/cli) knows no terminal: no lib/cli, no yargs; no lib/ file imports steps/', () => {
    const offenders: string[] = [];
    for (const file of files) {
      if (!file.startsWith('lib/')) continue;
      const core = !file.startsWith('lib/cli/');
      for (const spec of allImportsOf(file)) {
        const local = resolveLocal(file, spec);
        if (local?.startsWith('steps/')) offenders.push(`${file} imports ${spec}`);
        if (core && local?.startsWith('lib/cli/')) offenders.push(`${file} imports ${spec}`);
        if (core && /^yargs(\/|$)/.test(spec)) offenders.push(`${file} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('the policy engine (lib/policy) is pure: no filesystem, OS, network or process, no store, audit, cluster or catalog', () => {
    // Reading policy files, pricing and fixtures lives in lib/policy-files; holds in the store in lib/holds.
    const IO_MODULES = /^(node:)?(fs|fs\/promises|os|child_process|net|http|https|http2|dgram|dns|tls|worker_threads)$/;
    const offenders: string[] = [];
    for (const file of files) {
      if (!file.startsWith('lib/policy/')) continue;
      for (const spec of allImportsOf(file)) {
        const local = resolveLocal(file, spec);
        if (IO_MODULES.test(spec) || ADAPTER_PACKAGES.some((p) => spec.startsWith(p)))
          offenders.push(`${file} imports ${spec}`);
        if (local && /^lib\/(store|audit|kube|catalog|holds|policy-files|cli)\//.test(local))
          offenders.push(`${file} imports ${spec}`);
      }
      if (/\bprocess\.(env|cwd|argv|stdout|stderr)\b/.test(readFileSync(join(root, file), 'utf8')))
        offenders.push(`${file} reads the process (env, cwd, argv or stdio)`);
    }
    expect(offenders).toEqual([]);
  });

  test('the core reads no environment: configuration comes in from the step (lib/config, lib/cli) as arguments', () => {
    // Adapters at the process edge (lib/store, lib/kube, lib/holds, lib/policy-files) may default from the process.
    const EDGE = /^lib\/(cli|config|store|kube|holds|policy-files)\//;
    const offenders = files
      .filter((file) => file.startsWith('lib/') && !EDGE.test(file))
      .filter((file) => /\bprocess\.env\b/.test(readFileSync(join(root, file), 'utf8')));
    expect(offenders).toEqual([]);
  });

  test('the server knows the catalog by its port: no catalog adapter, no search threads, no database package', () => {
    // Which engine answers (SQLite on search threads, PostgreSQL, Elasticsearch) is chosen where the catalog is opened.
    const ADAPTERS = /^lib\/catalog\/(sqlite|postgres|pg-|elasticsearch|es-|search-threads|search-worker|open)/;
    const offenders: string[] = [];
    for (const file of files) {
      if (!file.startsWith('server/')) continue;
      for (const spec of allImportsOf(file)) {
        const local = resolveLocal(file, spec);
        if ((local && ADAPTERS.test(local)) || ADAPTER_PACKAGES.some((p) => spec.startsWith(p)) || spec === 'pg')
          offenders.push(`${file} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('worker threads are started only by the modules that own them, from a module found by workerUrl', () => {
    const OWNERS = [
      'lib/archive/frame-encoder.ts',
      'lib/archive/frame-worker.ts',
      'lib/catalog/search-threads.ts',
      'lib/catalog/search-worker.ts',
    ];
    const offenders: string[] = [];
    for (const [file, specs] of graph) {
      if (!specs.some((s) => /^(node:)?worker_threads$/.test(s))) continue;
      if (!OWNERS.includes(file)) offenders.push(`${file} imports worker_threads`);
      const text = readFileSync(join(root, file), 'utf8');
      if (/new Worker\(/.test(text) && !/new Worker\(\s*workerUrl\(/.test(text))
        offenders.push(`${file} starts a Worker from a path of its own (use lib/threads/worker-url.ts)`);
    }
    expect(offenders).toEqual([]);
  });

  const staticImports = function* (): Generator<{ file: string; spec: string; local: string | undefined }> {
    const staticImport = /(?:^|\n)\s*import\s+(?!type\b)[^'"]*?from\s*['"]([^'"]+)['"]/g;
    for (const file of files) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const m of text.matchAll(staticImport)) yield { file, spec: m[1]!, local: resolveLocal(file, m[1]!) };
    }
  };

  test('the Kubernetes client adapter is loaded only on demand (not by commands that never use the cluster)', () => {
    // The cluster port's adapter, the identity port's (SelfSubjectReview, SubjectAccessReview), the approvals', and
    // the Workflow submitter of the server's restore jobs.
    const adapters = [
      'lib/kube/client.ts',
      'lib/identity/kube.ts',
      'lib/identity/kube-approvals.ts',
      'lib/kube/workflow-submitter.ts',
    ];
    const offenders: string[] = [];
    for (const { file, spec, local } of staticImports()) {
      if (local && adapters.includes(local) && !adapters.includes(file)) offenders.push(`${file} imports ${spec}`);
      if (spec.startsWith('@kubernetes/client-node') && !adapters.includes(file))
        offenders.push(`${file} imports ${spec}`);
    }
    expect(offenders).toEqual([]);
  });

  test('the S3 adapter and SDK are loaded only on demand (not by commands on a file: store)', () => {
    const offenders: string[] = [];
    for (const { file, spec, local } of staticImports()) {
      if (file.startsWith('lib/store/s3')) continue; // the adapter's own modules
      if (local?.startsWith('lib/store/s3') || spec.startsWith('@aws-sdk/')) offenders.push(`${file} imports ${spec}`);
    }
    expect(offenders).toEqual([]);
  });
});
