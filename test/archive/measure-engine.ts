// Measures the engine end to end on a file: store (run by hand: npx tsx test/archive/measure-engine.ts [MB]); numbers go in docs/format.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { archiveBundle, initRepository, restoreWorkflow } from '../../lib/archive/index.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { bundleOf, logText } from './fixtures.ts';

const totalMb = Number(process.argv[2] ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'strata-measure-'));
try {
  const repo = await initRepository(new FileSystemStore(join(dir, 'repo')));
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  // Workflows of 10 MB: 8 node logs, the first two shared with the previous workflow (a retry repeating its logs).
  const workflows = Math.max(1, Math.floor(totalMb / 10));
  let bytes = 0;
  let stored = 0;
  let ingestS = 0;
  for (let w = 0; w < workflows; w++) {
    const files = Array.from({ length: 8 }, (_, i) => ({
      path: `logs/n${i}/main.log`,
      nodeId: `n${i}`,
      data: logText(i < 2 ? w - 1 + i * 10_000 : w * 100 + i, 1_250_000),
    }));
    const t0 = performance.now();
    const r = await archiveBundle(repo, bundleOf(`m${w}`, files));
    ingestS += (performance.now() - t0) / 1000;
    bytes += r.stats.bytes;
    stored += r.stats.storedBytes;
  }
  // One 100 MB workflow, restored whole.
  // Its logs are generated as they are read, so the measurement holds no 100 MB buffer.
  const big = bundleOf('big', []);
  for (let i = 0; i < 10; i++) {
    big.entries.push({
      path: `logs/b${i}/main.log`,
      kind: 'log',
      open: async () =>
        Readable.from(
          (function* () {
            for (let k = 0; k < 10; k++) yield logText(900_000 + i * 100 + k, 1_000_000);
          })(),
        ),
    });
  }
  const res = await archiveBundle(repo, big);
  const t1 = performance.now();
  await restoreWorkflow(repo, res.manifestId, join(dir, 'restore'));
  const restoreS = (performance.now() - t1) / 1000;
  clearInterval(timer);
  console.log(
    JSON.stringify({
      workflows,
      originalMB: +(bytes / 1e6).toFixed(1),
      storedOverOriginal: +(stored / bytes).toFixed(4),
      ingestMBps: +(bytes / 1e6 / ingestS).toFixed(1),
      workflowsPerS: +(workflows / ingestS).toFixed(2),
      restore100MBs: +restoreS.toFixed(2),
      peakRssMiB: Math.round(peak / 2 ** 20),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
