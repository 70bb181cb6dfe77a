// The CPU count used to size worker pools honours a container's CPU quota (Node's own count does not).
import { describe, expect, test } from 'vitest';
import { cgroupCpuLimit, cpusFromQuota, usableCpus } from '../../lib/cpus.ts';

const files = (map: Record<string, string>) => (path: string) => {
  if (!(path in map)) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
  return map[path]!;
};

describe('usable CPUs', () => {
  test('a quota rounds up to whole CPUs; no quota is no limit', () => {
    expect(cpusFromQuota(150_000, 100_000)).toBe(2);
    expect(cpusFromQuota(50_000, 100_000)).toBe(1);
    expect(cpusFromQuota(-1, 100_000)).toBeUndefined();
  });

  test('cgroup v2 cpu.max, then cgroup v1 cfs files', () => {
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '100000 100000\n' }))).toBe(1);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
    const v1 = {
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '250000\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    };
    expect(cgroupCpuLimit(files(v1))).toBe(3);
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
  });

  test('this machine: at least one, never more than Node reports', async () => {
    const { availableParallelism } = await import('node:os');
    expect(usableCpus()).toBeGreaterThanOrEqual(1);
    expect(usableCpus()).toBeLessThanOrEqual(availableParallelism());
  });
});
