#!/usr/bin/env node
// Development launcher: runs the TypeScript CLI through tsx. Step images run esbuild bundles instead.
import { register } from 'tsx/esm/api';

register();
const { buildCli } = await import('../steps/cli.ts');
const { hideBin } = await import('yargs/helpers');
await buildCli(hideBin(process.argv)).parseAsync();
