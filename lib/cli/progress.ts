// Progress adapters for the port in lib/progress.ts: a bar on a TTY, Argo's progress file (ARGO_PROGRESS_FILE) in a pod, silence otherwise.
import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { silentProgress, type Progress } from '../progress.ts';

export interface ProgressOptions {
  tty: boolean;
  argoProgressFile?: string;
}

export function createProgress(opts: ProgressOptions): Progress {
  const sinks: Progress[] = [];
  if (opts.argoProgressFile) sinks.push(argoFileProgress(opts.argoProgressFile));
  if (opts.tty) sinks.push(terminalProgress());
  if (sinks.length === 0) return silentProgress;
  return {
    start: (total, label) => sinks.forEach((s) => s.start(total, label)),
    advance: (by) => sinks.forEach((s) => s.advance(by)),
    done: () => sinks.forEach((s) => s.done()),
  };
}

/** Argo reads `N/M` from the file named by ARGO_PROGRESS_FILE and shows it in the UI. */
function argoFileProgress(path: string): Progress {
  let total = 0;
  let current = 0;
  let lastWrite = 0;
  const write = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastWrite < 1000) return;
    lastWrite = now;
    writeFileSync(path, `${current}/${Math.max(total, 1)}`);
  };
  return {
    start(t) {
      total = t;
      current = 0;
      write(true);
    },
    advance(by = 1) {
      current = Math.min(total, current + by);
      write(false);
    },
    done() {
      current = total;
      write(true);
    },
  };
}

function terminalProgress(): Progress {
  const bar = new cliProgress.SingleBar(
    { format: '{label} [{bar}] {value}/{total} {eta_formatted}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    start(total, label = '') {
      bar.start(total, 0, { label });
      running = true;
    },
    advance(by = 1) {
      if (running) bar.increment(by);
    },
    done() {
      if (running) bar.stop();
      running = false;
    },
  };
}
