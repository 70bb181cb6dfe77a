// Faults the scenarios inject into the running cluster: a container killed by the node, a process restarted, S3
// refusing connections (hack/e2e/s3-gate.ts).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FaultRule } from '../../../hack/e2e/standin/faults.ts';
import { repoRoot, type E2eCluster } from './cluster.ts';

const run = promisify(execFile);

/** The node kills the next matching pods' containers (hack/e2e/standin/faults.ts). */
export function injectContainerFault(c: E2eCluster, rule: FaultRule): void {
  writeFileSync(join(c.state, 'standin', 'faults.json'), JSON.stringify([rule], null, 2));
}

/** How many times the injected fault is still to fire. */
export function faultsLeft(c: E2eCluster): number {
  const rules = JSON.parse(readFileSync(join(c.state, 'standin', 'faults.json'), 'utf8')) as FaultRule[];
  return rules.reduce((n, r) => n + r.times, 0);
}

/** Stops a cluster process by its PID, keeps it down for a while, starts it again (hack/e2e/restart.sh). */
export async function restart(c: E2eCluster, name: string, downSeconds: number): Promise<void> {
  await run('bash', [join(repoRoot, 'hack/e2e/restart.sh'), name, String(downSeconds)], {
    env: { ...process.env, STRATA_E2E_STATE: c.state },
    timeout: 180_000,
  });
}

/** Closes (refuse) or reopens (accept) the S3 endpoint every pod and the host use. */
export function s3Gate(c: E2eCluster, action: 'refuse' | 'accept'): void {
  const pidfile = readdirSync(join(c.state, 'pids')).find((f) => f.endsWith('-s3-gate.pid'));
  if (!pidfile) throw new Error(`no s3-gate in ${c.state}/pids`);
  const pid = Number(readFileSync(join(c.state, 'pids', pidfile), 'utf8'));
  process.kill(pid, action === 'refuse' ? 'SIGUSR1' : 'SIGUSR2');
}
