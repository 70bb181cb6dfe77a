// `strata gc`: removes packs no manifest references, after a grace period (safe beside a running archive).
import { collectGarbage, describeUnfinishedWrite } from '../../lib/archive/gc.ts';
import { openRepository } from '../../lib/archive/index.ts';
import { stepCommand } from '../../lib/cli/step-command.ts';
import { fixedDurationFlagMs } from '../../lib/policy/duration.ts';

export const gcCommand = stepCommand({
  command: 'gc',
  describe: 'Delete unreferenced packs: condemned after --grace, deleted a grace period later',
  builder: (y) =>
    y
      .option('grace', {
        type: 'string',
        default: '1h',
        describe:
          'minimum age of an unreferenced pack before it is condemned, of a condemned one before deletion, and of ' +
          "an unfinished write (a killed writer's temp file or multipart upload) before it is removed",
      })
      .option('dry-run', { type: 'boolean', describe: 'report what would happen, change nothing' }),
  handler: async (args, ctx) => {
    const graceMs = fixedDurationFlagMs('grace', args.grace);
    const repo = await openRepository(ctx.store());
    const report = await collectGarbage(repo, {
      graceMs,
      dryRun: args.dryRun,
      progress: ctx.progress,
      audit: ctx.audit,
    });
    const verb = report.dryRun ? 'would remove' : 'removed';
    for (const w of report.unfinished) ctx.log(`${verb} unfinished write: ${describeUnfinishedWrite(w)}`);
    ctx.output({
      ...report,
      condemned: report.condemned.length,
      deleted: report.deleted.length,
      revived: report.revived.length,
      unfinished: report.unfinished.length,
    });
    return ctx.auditAfter({
      action: 'gc',
      actor: 'strata/gc',
      subject: repo.store.url,
      outcome: 'ok',
      details: {
        dryRun: report.dryRun,
        condemned: report.condemned.length,
        deleted: report.deleted,
        deletedBytes: report.deletedBytes,
        revived: report.revived.length,
        unfinished: report.unfinished.length,
        unfinishedBytes: report.unfinishedBytes,
      },
    });
  },
});
