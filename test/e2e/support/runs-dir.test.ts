import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { e2eRunsDir } from './runs-dir.ts';

const lib = resolve(import.meta.dirname, '../../../hack/e2e/lib.sh');

function shellRunsDir(repo: string): string {
  const r = spawnSync('bash', ['-c', 'source "$1"; e2e_runs_dir "$2"', 'sh', lib, repo], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

describe('e2e state directory', () => {
  it('is the repository cache, unless the repository is under /tmp, which pods do not see', () => {
    expect(e2eRunsDir('/work/strata')).toBe('/work/strata/.cache/e2e');
    for (const repo of ['/tmp/clean', '/tmp/a/b', '/tmp']) {
      expect(e2eRunsDir(repo).startsWith('/tmp')).toBe(false);
      expect(e2eRunsDir(repo)).not.toBe(e2eRunsDir('/tmp/other'));
    }
  });

  it('follows the same rule in the scripts and in the test setup', () => {
    for (const repo of ['/work/strata', '/tmp/clean', '/tmp', '/tmpfoo/x'])
      expect(shellRunsDir(repo)).toBe(e2eRunsDir(repo));
  });
});
