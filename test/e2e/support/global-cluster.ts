// vitest globalSetup of the end-to-end suite (vitest.e2e.config.ts): builds the binaries if the cache lacks them,
// starts the loopback cluster (hack/e2e/up.sh), installs Strata (hack/e2e/install.sh), and stops it all afterwards.
// Without Go (and no cached binaries) or without root, the suite skips and says why.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { E2eClusterInfo } from './cluster.ts';
import { e2eRunsDir } from './runs-dir.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    e2eCluster: E2eClusterInfo;
  }
}

const repoRoot = resolve(import.meta.dirname, '../../..');

function script(name: string, env: Record<string, string>): { ok: boolean; code: number | null; out: string } {
  const started = Date.now();
  const r = spawnSync('bash', [join(repoRoot, 'hack/e2e', name)], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.stderr.write(`e2e: ${name} took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return { ok: r.status === 0, code: r.status, out: r.stdout };
}

function why(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'the stand-in kubelet runs pods in mount namespaces as their users and needs root';
  if (spawnSync('unshare', ['--mount', 'true']).status !== 0) return 'unshare --mount does not work here';
  return undefined;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const skip = why();
  if (skip) {
    process.stderr.write(`e2e: skipped: ${skip}\n`);
    project.provide('e2eCluster', { skip });
    return async () => {};
  }
  // A cluster already up (hack/e2e/up.sh + install.sh, e.g. while writing a scenario): use it, leave it running.
  const reuse = process.env.STRATA_E2E_REUSE;
  if (reuse) {
    process.stderr.write(`e2e: using the running cluster in ${reuse}\n`);
    project.provide('e2eCluster', JSON.parse(readFileSync(join(reuse, 'cluster.json'), 'utf8')) as E2eClusterInfo);
    return async () => {};
  }
  const build = script('build.sh', {});
  if (!build.ok) {
    const reason =
      build.code === 3
        ? 'Go is not installed and the e2e binaries are not cached (hack/e2e/build.sh)'
        : 'hack/e2e/build.sh failed';
    if (build.code === 3) {
      process.stderr.write(`e2e: skipped: ${reason}\n`);
      project.provide('e2eCluster', { skip: reason });
      return async () => {};
    }
    throw new Error(reason);
  }
  const runs = e2eRunsDir(repoRoot);
  mkdirSync(runs, { recursive: true });
  // Earlier runs' logs (their processes were stopped by their own teardown or by down.sh below).
  for (const old of readdirSync(runs).filter((d) => d.startsWith('run-'))) {
    script('down.sh', { STRATA_E2E_STATE: join(runs, old) });
    rmSync(join(runs, old), { recursive: true, force: true });
  }
  const state = join(runs, `run-${process.pid}`);
  mkdirSync(state, { recursive: true });
  const env = { STRATA_E2E_STATE: state };
  const stop = () => script('down.sh', env);
  if (!script('up.sh', env).ok) throw new Error(`hack/e2e/up.sh failed; logs in ${state}/logs`);
  if (!script('install.sh', env).ok) {
    stop();
    throw new Error(`hack/e2e/install.sh failed; logs in ${state}/logs`);
  }
  project.provide('e2eCluster', JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8')) as E2eClusterInfo);
  return async () => {
    const stopped = stop().ok;
    // The logs stay for a look after a failure (the next run removes them); the data goes unless asked to keep it.
    if (stopped && !process.env.STRATA_E2E_KEEP)
      for (const d of readdirSync(state).filter((d) => d !== 'logs'))
        rmSync(join(state, d), { recursive: true, force: true });
    process.stderr.write(`e2e: logs in ${state}/logs\n`);
  };
}
