// Runs the real `strata` CLI in-process for tests: exit code, stdout and stderr captured, process state restored.
import { vi } from 'vitest';
import { buildCli } from '../../steps/cli.ts';

export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const outs: string[] = [];
  const errs: string[] = [];
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c) => (outs.push(String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c) => (errs.push(String(c)), true));
  process.exitCode = 0;
  try {
    await buildCli(args).parseAsync();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, out: outs.join(''), err: errs.join('') };
}
