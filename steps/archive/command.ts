// `strata archive` (alias `compress`): archives every workflow of a directory export into the repository.
import type { CommandModule } from 'yargs';
import { archiveSource } from '../../lib/archive/batch.ts';
import { initRepository } from '../../lib/archive/index.ts';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { ConfigError, ExitCode } from '../../lib/errors.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';

interface ArchiveArgs {
  from: string;
  group: string;
  workflow?: string;
  level?: number;
}

export const archiveCommand: CommandModule<GlobalArgs, GlobalArgs & ArchiveArgs> = {
  command: ['archive', 'compress'],
  describe: 'Collect workflows from a directory export and archive them (dedup, compress, commit a manifest each)',
  builder: (y) =>
    y
      .option('from', {
        type: 'string',
        demandOption: true,
        describe: 'directory export (layout: docs/directory-export.md)',
      })
      .option('group', {
        type: 'string',
        default: 'default',
        describe: 'timeline group: retention class + period, e.g. standard-2026-11',
      })
      .option('workflow', { type: 'string', describe: 'only this workflow (uid, name or namespace/name)' })
      .option('level', {
        type: 'number',
        describe: "zstd level 1-22 for new packs (default: the repository's, 8 for new ones)",
      }) as never,
  handler: runStep<ArchiveArgs>(async (args, ctx) => {
    if (args.level !== undefined && !(Number.isInteger(args.level) && args.level >= 1 && args.level <= 22)) {
      throw new ConfigError(`--level ${args.level} is not a zstd level (1-22)`);
    }
    const repo = await initRepository(ctx.store());
    const report = await archiveSource(repo, openDirectorySource(args.from), {
      group: args.group,
      workflow: args.workflow,
      compressionLevel: args.level,
      progress: ctx.progress,
      onResult: async (id, result) => {
        const failed = 'error' in result;
        if (failed) ctx.log(`failed: ${id.namespace}/${id.name}: ${result.error}`);
        await ctx.audit.record({
          action: 'archive',
          actor: 'strata/archive',
          subject: id.uid,
          outcome: failed ? 'failed' : 'ok',
          ...(failed && { reason: result.error }),
          details: failed
            ? { namespace: id.namespace, name: id.name, group: args.group }
            : {
                namespace: id.namespace,
                name: id.name,
                group: args.group,
                manifestId: result.manifestId,
                created: result.created,
                incomplete: result.incomplete,
                ...result.stats,
              },
        });
      },
    });
    for (const p of report.problems) ctx.log(`problem: ${p.where}: ${p.message}`);
    ctx.output(report);
    return report.failed > 0 || (report.workflows === 0 && report.problems.length > 0) ? ExitCode.Failed : ExitCode.Ok;
  }),
};
