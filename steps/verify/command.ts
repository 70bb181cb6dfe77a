// `strata verify`: checks the archive's structure, and with --read-data the packs' bytes (all, or a sample).
import { verifyRepository } from '../../lib/archive/checker.ts';
import { describeUnfinishedWrite } from '../../lib/archive/gc.ts';
import { openRepository } from '../../lib/archive/index.ts';
import { stepCommand } from '../../lib/cli/step-command.ts';
import { ExitCode } from '../../lib/errors.ts';
import { recordIntent } from '../../lib/audit/write-ahead.ts';
import { crossCheckStore } from '../../lib/pipeline/log-store-check.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { recoverableKeys, recoverAll } from '../../lib/replica/fallback.ts';
import { openStore } from '../../lib/store/open.ts';
import { ConfigError } from '../../lib/errors.ts';

export const verifyCommand = stepCommand({
  command: 'verify',
  describe: 'Check the archive: structure always, pack data with --read-data',
  builder: (y) =>
    y
      .option('read-data', { type: 'boolean', describe: 'read packs back and check every chunk hash' })
      .option('sample', {
        type: 'number',
        describe: 'with --read-data: percent of packs to read (default 100)',
      })
      .option('audit-log', {
        type: 'boolean',
        default: true,
        describe: 'check the store against the audit log (--no-audit-log: skip, for a repository older than its log)',
      })
      .option('replica', {
        type: 'string',
        describe:
          'a replica (file:/path or s3://…): for each pack, index or manifest missing or bad here, check its copy',
      })
      .option('heal', {
        type: 'boolean',
        describe: 'with --replica: copy good replica copies back, then verify again',
      }),
  handler: async (args, ctx) => {
    const repo = await openRepository(ctx.store());
    const readData = Boolean(args.readData) || args.sample !== undefined;
    if (args.heal && !args.replica) throw new ConfigError('--heal goes with --replica <url>');
    // A verification run (and a heal) is evidence: one that cannot be recorded is not run.
    await recordIntent(ctx.audit, {
      action: 'verify',
      actor: 'strata/verify',
      subject: repo.store.url,
      details: {
        readData,
        samplePercent: args.sample ?? (readData ? 100 : 0),
        ...(args.replica && { replica: args.replica, heal: Boolean(args.heal) }),
      },
    });
    let report = await verifyRepository(repo, { readData, samplePercent: args.sample, progress: ctx.progress });
    // The replica: which of the problems its copies can answer, healed when asked (then everything is checked again).
    const fromReplica = args.replica
      ? await recoverAll(
          repo.store,
          openStore(args.replica, ctx.config.s3),
          recoverableKeys(report.problems),
          Boolean(args.heal),
        )
      : undefined;
    for (const f of fromReplica?.recovered ?? [])
      ctx.log(`replica: ${f.key}: ${f.why}: ${f.healed ? 'healed from' : 'a good copy is on'} ${args.replica}`);
    for (const u of fromReplica?.unrecoverable ?? []) ctx.log(`replica cannot help: ${u.why}`);
    if (fromReplica?.recovered.some((f) => f.healed))
      report = await verifyRepository(repo, { readData, samplePercent: args.sample, progress: ctx.progress });
    // Hold and extension records that do not verify keep their data (fail closed) and are problems to look at.
    const records = await new HoldRepository(repo.store).recordProblems();
    for (const r of records) report.problems.push({ kind: 'record', key: r.key, message: r.message });
    report.ok &&= records.length === 0;
    // The store against the audit log: nothing in it that the log does not know, nothing gone that the log does not
    // say was deleted.
    const logCheck = args.auditLog ? await crossCheckStore(repo) : undefined;
    for (const p of logCheck?.problems ?? []) report.problems.push({ kind: 'audit', key: p.key, message: p.message });
    report.ok &&= !logCheck?.problems.length;
    for (const p of report.problems) ctx.log(`problem: ${p.kind}: ${p.key}: ${p.message}`);
    for (const w of report.unfinished) ctx.log(`unfinished write (gc reclaims it): ${describeUnfinishedWrite(w)}`);
    ctx.output({
      ...report,
      unfinished: report.unfinished.length,
      unfinishedBytes: report.unfinished.reduce((n, w) => n + w.size, 0),
      problems: report.problems.length,
      auditLog: logCheck ? { ...logCheck.checked, problems: logCheck.problems.length } : 'not checked',
      ...(fromReplica && {
        replica: { recovered: fromReplica.recovered, unrecoverable: fromReplica.unrecoverable.length },
      }),
    });
    const first = report.problems[0];
    const code = report.ok
      ? ExitCode.Ok
      : ctx.fail(
          `verify found ${report.problems.length} problems` +
            (first ? `; first: ${first.kind} ${first.key}: ${first.message}` : ''),
        );
    return ctx.auditAfter(
      {
        action: 'verify',
        actor: 'strata/verify',
        subject: repo.store.url,
        outcome: report.ok ? 'ok' : 'failed',
        details: {
          manifests: report.manifests,
          packs: report.packs,
          packsRead: report.packsRead,
          problems: report.problems.length,
        },
      },
      code,
    );
  },
});
