// Runs one Strata operation in its own process so the benchmark can read its peak RSS: archive a corpus, restore one.
import { archiveSource, initRepository, openRepository, restoreWorkflow } from '../../lib/archive/index.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';

export interface WorkerResult {
  seconds: number;
  maxRssBytes: number;
  detail: Record<string, unknown>;
}

async function run(): Promise<Record<string, unknown>> {
  const [op, a, b, c] = process.argv.slice(2);
  if (op === 'archive' && a && b) {
    const store = new FileSystemStore(b);
    const repo = await initRepository(store).catch(() => openRepository(store));
    const report = await archiveSource(repo, openDirectorySource(a));
    return {
      workflows: report.workflows,
      archived: report.archived,
      failed: report.failed,
      incomplete: report.incomplete,
      problems: report.problems.length,
      bytes: report.bytes,
      storedBytes: report.storedBytes,
      manifests: report.results.map((r) => ({
        namespace: r.namespace,
        name: r.name,
        manifestId: r.manifestId,
        error: r.error,
      })),
    };
  }
  if (op === 'restore' && a && b && c) {
    const repo = await openRepository(new FileSystemStore(a));
    const result = await restoreWorkflow(repo, b, c);
    return { files: result.files, bytes: result.bytes };
  }
  throw new Error('usage: strata-worker.ts archive <corpusDir> <repoDir> | restore <repoDir> <manifestId> <targetDir>');
}

const started = process.hrtime.bigint();
const detail = await run();
const result: WorkerResult = {
  seconds: Number(process.hrtime.bigint() - started) / 1e9,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  detail,
};
process.stdout.write(JSON.stringify(result) + '\n');
