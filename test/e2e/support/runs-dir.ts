// Where end-to-end cluster state goes: <repo>/.cache/e2e, unless the repository lives under /tmp, which every pod's
// own /tmp hides (the stand-in gives each pod a private /tmp). Same rule as e2e_runs_dir in hack/e2e/lib.sh.
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export function e2eRunsDir(repoRoot: string): string {
  if (repoRoot === '/tmp' || repoRoot.startsWith('/tmp/'))
    return join('/var/tmp/strata-e2e', createHash('sha256').update(repoRoot).digest('hex').slice(0, 12));
  return join(repoRoot, '.cache/e2e');
}
