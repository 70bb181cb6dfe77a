// `strata collect`: loads workflow bundles from a directory export and prints what an archive run would take.
import { stepCommand } from '../../lib/cli/step-command.ts';
import { ExitCode } from '../../lib/errors.ts';
import { collectFromSource } from '../../lib/sources/collect.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';
import { withArtifactRepository } from '../../lib/sources/s3-artifacts.ts';
import { openStore, parseStoreUrl } from '../../lib/store/open.ts';

export const collectCommand = stepCommand({
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
      .option('workflow', { type: 'string', describe: 'only this workflow (uid, name or namespace/name)' })
      .option('artifacts', {
        type: 'string',
        describe:
          "Argo's artifact repository (s3://bucket[/prefix] or file:/path): logs and artifacts missing from the export are read from it",
      }),
  handler: async (args, ctx) => {
    let source = openDirectorySource(args.from);
    if (args.artifacts) {
      const location = parseStoreUrl(args.artifacts);
      const bucket = location.kind === 's3' ? location.bucket : undefined;
      source = withArtifactRepository(source, openStore(args.artifacts, ctx.config.s3), bucket ? { bucket } : {});
    }
    const report = await collectFromSource(source, {
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
  },
});
