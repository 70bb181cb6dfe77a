// The step image without a Docker engine: the esbuild bundle builds and runs (natives included); the Dockerfile lints.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundleCli, NATIVE_PACKAGES, NODE_FLAGS, type BundleResult } from '../../images/bundle.ts';
import { lintDockerfile } from './dockerfile-lint.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

describe('the bundled CLI', () => {
  let bundle: BundleResult;
  let work: string;
  beforeAll(async () => {
    // Outside the repository, so nothing resolves from the repo's node_modules: only what the image would hold.
    work = mkdtempSync(join(tmpdir(), 'strata-image-'));
    bundle = await bundleCli(join(work, 'app'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const run = (args: string[], cwd = work) =>
    execFileSync(process.execPath, [bundle.entry, ...args], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      // Frames are encoded on a worker thread loaded from beside the bundle, whatever the core count.
      env: { ...process.env, STRATA_ENCODER_THREADS: '1' },
    });

  test('is the CLI, the frame encoder thread and the search thread; only the native packages stay external', () => {
    expect(
      readdirSync(bundle.outDir)
        .filter((f) => f.endsWith('.mjs'))
        .sort(),
    ).toEqual(['frame-worker.mjs', 'search-worker.mjs', 'strata.mjs']);
    const packages = bundle.externals.filter((e) => !/^[a-z_]+$/.test(e) || NATIVE_PACKAGES.includes(e));
    expect(packages.filter((p) => NATIVE_PACKAGES.includes(p)).sort()).toEqual(['better-sqlite3', 'zstd-napi']);
    const nodeFiles = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) =>
        statSync(join(dir, n)).isDirectory() ? nodeFiles(join(dir, n)) : n.endsWith('.node') ? [n] : [],
      );
    expect(nodeFiles(join(bundle.outDir, 'node_modules')).sort()).toEqual(
      expect.arrayContaining(['better_sqlite3.node', 'binding.node']),
    );
    expect(bundle.bytes).toBeGreaterThan(100_000);
  });

  test('runs --help and lists the pipeline steps', () => {
    const help = run(['--help']);
    for (const step of ['assess', 'archive', 'index', 'verify', 'finalize', 'watch', 'restore'])
      expect(help).toContain(`strata ${step}`);
  });

  test('archives, indexes and verifies with the copied native addons (zstd, SQLite)', () => {
    const exp = join(work, 'export');
    mkdirSync(exp);
    const sample = join(resolve(repoRoot, '../shared'), 'argo/workflows/util_test__dagDiamondRetry.yaml');
    let text: string;
    try {
      text = readFileSync(sample, 'utf8');
    } catch {
      text =
        'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: ns, uid: 0b5e9b8e-0000-4000-8000-000000000001}\nstatus: {phase: Succeeded, finishedAt: "2026-01-01T00:00:00Z"}\n';
    }
    writeFileSync(join(exp, 'wf.yaml'), text);
    const store = ['--store', `file:${join(work, 'repo')}`, '-o', 'json'];
    expect(JSON.parse(run(['archive', '--from', exp, ...store]))).toMatchObject({ archived: 1, failed: 0 });
    expect(JSON.parse(run(['index', '--catalog', join(work, 'catalog.db'), ...store]))).toMatchObject({ indexed: 1 });
    expect(JSON.parse(run(['verify', '--read-data', ...store]))).toMatchObject({ ok: true, manifests: 1 });
  });
});

describe('the image wrapper', () => {
  test('runs the bundle with the V8 flags the benchmark measures (NODE_FLAGS)', () => {
    const wrapper = readFileSync(join(repoRoot, 'images/strata.sh'), 'utf8');
    const exec = wrapper.split('\n').find((l) => l.startsWith('exec node '));
    expect(exec?.split(' ').filter((w) => w.startsWith('--'))).toEqual(NODE_FLAGS);
  });

  test('the development launcher bin/strata.js runs the CLI with the same flags', () => {
    const launcher = readFileSync(join(repoRoot, 'bin/strata.js'), 'utf8');
    const flags = /const NODE_FLAGS = (\[[^\]]*\]);/.exec(launcher)?.[1];
    expect(JSON.parse(flags!.replaceAll("'", '"'))).toEqual(NODE_FLAGS);
    const child = spawnSync(process.execPath, [join(repoRoot, 'bin/strata.js'), '--help'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(child.status).toBe(0);
    expect(child.stdout).toMatch(/archive/);
  });
});

describe('Dockerfiles', () => {
  const dockerfiles = readdirSync(join(repoRoot, 'images')).filter(
    (f) => f === 'Dockerfile' || f.endsWith('.Dockerfile'),
  );
  test('there is at least one', () => expect(dockerfiles.length).toBeGreaterThan(0));
  test.each(dockerfiles)('%s: pinned base, multi-stage, non-root, no remote ADD', (f) => {
    expect(lintDockerfile(readFileSync(join(repoRoot, 'images', f), 'utf8'))).toEqual([]);
  });
  test('the lint catches what it is for', () => {
    const bad = 'FROM node:latest\nADD https://example.com/x.tgz /x\nRUN apt-get install -y curl\n';
    const problems = lintDockerfile(bad);
    expect(problems.join('\n')).toMatch(/multi-stage/);
    expect(problems.join('\n')).toMatch(/moving tag/);
    expect(problems.join('\n')).toMatch(/ADD of a URL/);
    expect(problems.join('\n')).toMatch(/no USER/);
    expect(problems.join('\n')).toMatch(/no-install-recommends/);
    expect(lintDockerfile('FROM node:22.1.0 AS a\nFROM node:22.1.0\nUSER 0\n')).toEqual(['final stage runs as 0']);
  });
});
