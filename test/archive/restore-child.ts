// Child process for the restore crash test: restores a workflow and SIGKILLs itself after N bytes were written.
// Usage: restore-child.ts <repo-root> <manifest id> <target> <kill after bytes>
import { openRepository, restoreWorkflow } from '../../lib/archive/index.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';

if (process.argv[1]?.endsWith('restore-child.ts')) {
  const [root, manifestId, target, killAfter] = process.argv.slice(2);
  const repo = await openRepository(new FileSystemStore(root!));
  let written = 0;
  await restoreWorkflow(repo, manifestId!, target!, {
    progress: {
      start() {},
      advance(by = 0) {
        written += by;
        if (written >= Number(killAfter)) process.kill(process.pid, 'SIGKILL');
      },
      done() {},
    },
  });
}
