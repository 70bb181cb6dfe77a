// Child process for crash and concurrency tests: archives deterministic bundles into a file: repository.
// Usage: archive-child.ts <repo-root> <first-uid-number> <count> [<start at, epoch ms>]
import { join } from 'node:path';
import { archiveBundle, initRepository } from '../../lib/archive/index.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { bundleOf, logText, SMALL } from './fixtures.ts';

/** Workflow n: a log shared by all workflows, one of its own, and a binary-ish artifact. */
export function childBundle(n: number) {
  return bundleOf(`w${n}`, [
    { path: 'logs/shared/main.log', nodeId: 'shared', container: 'main', data: logText(1000, 400_000) },
    { path: `logs/n${n}/main.log`, nodeId: `n${n}`, container: 'main', data: logText(n, 300_000) },
    {
      path: `artifacts/n${n}/out.txt`,
      kind: 'artifact',
      nodeId: `n${n}`,
      artifactName: 'out',
      data: logText(n * 7 + 1, 100_000),
    },
  ]);
}

if (process.argv[1]?.endsWith('archive-child.ts')) {
  const [root, first, count, startAt] = process.argv.slice(2);
  const repo = await initRepository(new FileSystemStore(join(root!)), SMALL);
  // Lets two children start archiving at the same moment despite different start-up times.
  if (startAt) await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
  process.stdout.write('started\n');
  for (let n = Number(first); n < Number(first) + Number(count); n++) {
    const r = await archiveBundle(repo, childBundle(n));
    process.stdout.write(`${n} ${r.manifestId}\n`);
  }
}
