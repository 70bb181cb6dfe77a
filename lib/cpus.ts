// How many CPUs this process may really use: a container's CPU quota (a pod's limits.cpu) caps the core count.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** CPUs a CFS quota allows (`quota`/`period` µs, rounded up), or undefined when there is no quota. */
export function cpusFromQuota(quota: number, period: number): number | undefined {
  if (!(quota > 0) || !(period > 0)) return undefined;
  return Math.max(1, Math.ceil(quota / period));
}

/** cgroup v2 `cpu.max` ("max 100000" or "150000 100000"), else cgroup v1's cfs_quota_us / cfs_period_us. */
export function cgroupCpuLimit(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number | undefined {
  try {
    const [quota, period] = read('/sys/fs/cgroup/cpu.max').trim().split(/\s+/);
    return quota === 'max' ? undefined : cpusFromQuota(Number(quota), Number(period));
  } catch {
    // not cgroup v2
  }
  try {
    const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim());
    const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us').trim());
    return cpusFromQuota(quota, period);
  } catch {
    return undefined; // no cgroup CPU controller visible (not Linux, or not limited)
  }
}

/**
 * Node's core count follows CPU affinity but not a CFS quota, so in a pod limited to 1 CPU on a 16-core node it
 * says 16; starting 15 worker threads there only costs memory.
 */
export function usableCpus(): number {
  const cores = availableParallelism();
  const limit = cgroupCpuLimit();
  return limit === undefined ? cores : Math.min(cores, limit);
}
