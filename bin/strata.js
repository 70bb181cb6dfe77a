#!/usr/bin/env node
// Development launcher: runs the TypeScript CLI through tsx. Step images run esbuild bundles instead.
import { spawn } from 'node:child_process';
import { register } from 'tsx/esm/api';

// The image wrapper's V8 flags (images/strata.sh; test/images checks they agree), so that what is measured through
// this launcher is what the image does: without them the young generation alone adds ~50 MiB of peak RSS to an
// archive run. Node takes them only on its command line: start again with them when they are missing.
const NODE_FLAGS = ['--max-semi-space-size=4'];
if (!NODE_FLAGS.every((f) => process.execArgv.includes(f))) {
  const child = spawn(process.execPath, [...NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  const [code, signal] = await new Promise((done) => child.on('exit', (c, s) => done([c, s])));
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
}

register();
const { buildCli } = await import('../steps/cli.ts');
const { hideBin } = await import('yargs/helpers');
await buildCli(hideBin(process.argv)).parseAsync();
