// `strata selfcheck`: proves the configured store works (write, read back, list, delete) before real work.
import type { CommandModule } from 'yargs';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { ExitCode } from '../../lib/errors.ts';
import { checkStore } from '../../lib/store/self-check.ts';

export const selfcheckCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'selfcheck',
  describe: 'Check that the archive store is reachable and writable',
  handler: runStep(async (_args, ctx) => {
    const report = await checkStore(ctx.store());
    ctx.output(report);
    return report.ok ? ExitCode.Ok : ExitCode.Failed;
  }),
};
