// `strata replicate --to <url>`: keeps a second store (another region or bucket) in step with the archive: copies
// what is missing, verifies, heals a bad or lost copy from the good side, reports drift; --prune follows deletions.
import type { Argv, CommandModule } from 'yargs';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { ExitCode } from '../../lib/errors.ts';
import { replicate } from '../../lib/replica/replicate.ts';
import { openStore } from '../../lib/store/open.ts';

interface ReplicateArgs {
  to: string;
  verify?: boolean;
  prune?: boolean;
  'dry-run'?: boolean;
}

export const replicateCommand: CommandModule<GlobalArgs, ReplicateArgs> = {
  command: 'replicate',
  describe: 'Copy the archive to a second store, verify both sides, heal a bad copy from the good one, report drift',
  builder: (y) =>
    y
      .option('to', {
        type: 'string',
        demandOption: true,
        describe: 'the replica: file:/path or s3://bucket/prefix (same S3 settings as --store)',
      })
      .option('verify', { type: 'boolean', describe: 'read every object on both sides (else sizes only)' })
      .option('prune', {
        type: 'boolean',
        describe: 'delete from the replica what the archive deleted (expiry, emergency deletion, gc)',
      })
      .option('dry-run', { type: 'boolean', describe: 'report, change nothing' }) as Argv<ReplicateArgs>,
  handler: runStep<ReplicateArgs>(async (args, ctx) => {
    const report = await replicate(ctx.store(), openStore(args.to, ctx.config.s3), {
      verify: Boolean(args.verify),
      prune: Boolean(args.prune),
      dryRun: Boolean(args['dry-run']),
      progress: ctx.progress,
      audit: args['dry-run'] ? undefined : ctx.audit,
    });
    for (const h of report.healed) ctx.log(`healed on the ${h.side}: ${h.key} (${h.why})`);
    for (const d of report.drift) ctx.log(`drift: ${d.key}: ${d.problem}`);
    ctx.output({
      checked: report.checked,
      copied: report.copied.length,
      healed: report.healed.length,
      pruned: report.pruned.length,
      extra: report.extra.length,
      drift: report.drift.length,
      dryRun: Boolean(args['dry-run']),
    });
    if (report.drift.length)
      return ctx.fail(
        `replicate: ${report.drift.length} object(s) drift; first: ${report.drift[0]!.key}: ${report.drift[0]!.problem}`,
      );
    return ExitCode.Ok;
  }),
};
