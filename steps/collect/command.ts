// `strata collect`: loads workflow bundles from a directory export and prints what an archive run would take.
import type { CommandModule } from 'yargs';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { ExitCode } from '../../lib/errors.ts';
import { collectFromSource } from '../../lib/sources/collect.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';

interface CollectArgs {
  from: string;
  workflow?: string;
}

export const collectCommand: CommandModule<GlobalArgs, GlobalArgs & CollectArgs> = {
  command: 'collect',
  describe:
    'Read workflows with their logs, artifacts and related resources from a directory export and summarise them',
  builder: (y) =>
    y
      .option('from', {
        type: 'string',
        demandOption: true,
        describe: 'directory export (layout: docs/directory-export.md)',
      })
      .option('workflow', { type: 'string', describe: 'only this workflow (uid, name or namespace/name)' }) as never,
  handler: runStep<CollectArgs>(async (args, ctx) => {
    const report = await collectFromSource(openDirectorySource(args.from), {
      workflow: args.workflow,
      progress: ctx.progress,
    });
    for (const p of report.problems) ctx.log(`problem: ${p.where}: ${p.message}`);
    for (const w of report.perWorkflow) {
      for (const note of w.notes) ctx.log(`note: ${w.namespace}/${w.name}: ${note}`);
      if (w.missing) ctx.log(`incomplete: ${w.namespace}/${w.name}: ${w.missing} missing (${w.missingSample[0]} …)`);
    }
    if (ctx.config.output === 'table') {
      // The per-workflow detail went to stderr above; the table keeps to the totals.
      const { perWorkflow: _perWorkflow, problems, ...totals } = report;
      ctx.output({ ...totals, problems: problems.length });
    } else {
      ctx.output(report);
    }
    if (report.workflows === 0 && (report.problems.length > 0 || args.workflow)) return ExitCode.Failed;
    return ExitCode.Ok;
  }),
};
