// The `strata` command: global flags, one subcommand per pipeline step, errors as one line + exit code.
import { pathToFileURL } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { OUTPUT_FORMATS } from '../lib/config/config.ts';
import { ExitCode } from '../lib/errors.ts';
import { selfcheckCommand } from './selfcheck/command.ts';
import { archiveCommand } from './archive/command.ts';
import { restoreCommand } from './restore/command.ts';
import { verifyCommand } from './verify/command.ts';
import { drillCommand } from './drill/command.ts';
import { gcCommand } from './gc/command.ts';
import { collectCommand } from './collect/command.ts';
import { indexCommand } from './index/command.ts';
import { queryCommand, searchCommand } from './query/command.ts';
import { assessCommand } from './assess/command.ts';
import { finalizeCommand } from './finalize/command.ts';
import { watchCommand } from './watch/command.ts';
import { emergencyDeleteCommand } from './emergency-delete/command.ts';
import { policyCommand } from './policy/command.ts';
import { holdCommand } from './hold/command.ts';
import { extendCommand } from './extend/command.ts';
import { approveCommand } from './approve/command.ts';
import { tierCommand } from './tier/command.ts';
import { thawCommand } from './thaw/command.ts';
import { reportCommand } from './report/command.ts';
import { replicateCommand } from './replicate/command.ts';
import { keysCommand } from './keys/command.ts';
import { auditCommand } from './audit/command.ts';
import { serveCommand } from './serve/command.ts';
import { showCommand } from './show/command.ts';

export const commands = [
  selfcheckCommand,
  indexCommand,
  queryCommand,
  searchCommand,
  showCommand,
  collectCommand,
  archiveCommand,
  restoreCommand,
  verifyCommand,
  drillCommand,
  gcCommand,
  assessCommand,
  finalizeCommand,
  watchCommand,
  emergencyDeleteCommand,
  policyCommand,
  holdCommand,
  extendCommand,
  approveCommand,
  tierCommand,
  thawCommand,
  reportCommand,
  replicateCommand,
  keysCommand,
  auditCommand,
  serveCommand,
];

export function buildCli(argv: string[]): Argv {
  let cli = yargs(argv)
    .scriptName('strata')
    .usage('$0 <command> [options]\n\nTiered archival, retention and restore for Argo Workflows.')
    .option('config', { type: 'string', describe: 'YAML/JSON config file (env STRATA_CONFIG)' })
    .option('store', {
      type: 'string',
      describe: 'archive repository URL: file:/path or s3://bucket/prefix (env STRATA_STORE)',
    })
    .option('catalog', {
      type: 'string',
      describe: 'catalog: SQLite file, postgres://…, or elasticsearch+http(s)://host:port/prefix (env STRATA_CATALOG)',
    })
    .option('output', { alias: 'o', choices: OUTPUT_FORMATS, describe: 'output format (env STRATA_OUTPUT)' })
    .option('debug', { type: 'boolean', describe: 'print stack traces on errors (env STRATA_DEBUG)' })
    .option('s3-endpoint', {
      type: 'string',
      describe: 'S3 endpoint URL, e.g. http://minio:9000 (env STRATA_S3_ENDPOINT)',
    })
    .option('s3-region', { type: 'string', describe: 'S3 region (env STRATA_S3_REGION)' })
    .option('s3-path-style', { type: 'boolean', describe: 'path-style S3 addressing (env STRATA_S3_FORCE_PATH_STYLE)' })
    .option('outputs-dir', { type: 'string', describe: 'write result fields as Argo output parameter files here' })
    .group(
      ['config', 'store', 'catalog', 'output', 'debug', 's3-endpoint', 's3-region', 's3-path-style', 'outputs-dir'],
      'Global options:',
    )
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`strata: ${msg}\nRun with --help for usage.\n`);
      void y;
      process.exit(ExitCode.Usage);
    });
  for (const command of commands) cli = cli.command(command as never);
  return cli;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await buildCli(hideBin(process.argv)).parseAsync();
}
