// Runs the real `strata` CLI as a subprocess (exit codes, stderr lines), with no STRATA_* leaking from the caller.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function spawnCli(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  return new Promise((done) => {
    execFile(
      process.execPath,
      // The launcher's V8 flags given up front, so it does not start a second process.
      ['--max-semi-space-size=4', join(repoRoot, 'bin/strata.js'), ...args],
      { cwd: opts.cwd ?? repoRoot, env: { ...base, ...opts.env }, timeout: 60_000 },
      (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}
