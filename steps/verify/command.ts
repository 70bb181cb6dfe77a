// `strata verify`: checks the archive's structure, and with --read-data the packs' bytes (all, a sample, or with
// --scrub the rotation that reads every pack once per period).
import { verifyRepository, type VerifyReport } from '../../lib/archive/checker.ts';
import { planRepositoryScrub, scrubRepository, type ScrubOptions, type ScrubSummary } from '../../lib/archive/scrub.ts';
import { fixedDurationFlagMs } from '../../lib/policy/duration.ts';
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
      .option('scrub', {
        type: 'boolean',
        describe:
          'read the rotation: every pack at least once per --scrub-period, each run its share (state in the store)',
      })
      .option('scrub-period', {
        type: 'string',
        default: '90d',
        describe: 'with --scrub: every pack is read at least once within this',
      })
      .option('scrub-cadence', {
        type: 'string',
        default: '7d',
        describe: 'with --scrub: how often the scrub runs (a pack due before the next run is read now)',
      })
      .option('dry-run', {
        type: 'boolean',
        describe: 'with --scrub: print the plan (each pack to read and why) and the coverage now; read nothing',
      })
      .option('scrub-max-bytes', {
        type: 'number',
        describe: 'with --scrub: bytes one run may read; packs due beyond it wait for the next run',
      })
      .conflicts('scrub', 'sample')
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
    const readData = Boolean(args.readData) || args.sample !== undefined || Boolean(args.scrub);
    if (args.heal && !args.replica) throw new ConfigError('--heal goes with --replica <url>');
    const scrubOpts: ScrubOptions = {
      select: args.scrub ? 'rotation' : (args.sample ?? 100),
      periodMs: fixedDurationFlagMs('scrub-period', args.scrubPeriod),
      cadenceMs: fixedDurationFlagMs('scrub-cadence', args.scrubCadence),
      ...(args.scrubMaxBytes !== undefined && { maxBytes: args.scrubMaxBytes }),
      progress: ctx.progress,
    };
    if (!(scrubOpts.periodMs! > 0) || !(scrubOpts.cadenceMs! > 0))
      throw new ConfigError('--scrub-period and --scrub-cadence must be longer than 0');
    if (args.dryRun) {
      if (!args.scrub) throw new ConfigError('--dry-run goes with --scrub');
      // Reads no archived data and changes nothing: not a verification run, so not recorded.
      const { plan, coverage, stateWarnings } = await planRepositoryScrub(repo, scrubOpts);
      for (const w of stateWarnings) ctx.log(`warning: scrub state ${w}`);
      ctx.output({
        ...coverage,
        share: plan.share,
        bytes: plan.bytes,
        read: plan.read,
        deferred: plan.deferred,
        cold: plan.cold,
      });
      return ExitCode.Ok;
    }
    // Reading packs records each read in the store (verify/scrub/), whatever chose them: coverage counts them all.
    const check = async (select = scrubOpts.select): Promise<{ report: VerifyReport; scrub?: ScrubSummary }> =>
      readData
        ? scrubRepository(repo, { ...scrubOpts, select })
        : { report: await verifyRepository(repo, { progress: ctx.progress }) };
    // A verification run (and a heal) is evidence: one that cannot be recorded is not run.
    await recordIntent(ctx.audit, {
      action: 'verify',
      actor: 'strata/verify',
      subject: repo.store.url,
      details: {
        readData,
        ...(args.scrub
          ? { scrub: { period: args.scrubPeriod, cadence: args.scrubCadence } }
          : { samplePercent: args.sample ?? (readData ? 100 : 0) }),
        ...(args.replica && { replica: args.replica, heal: Boolean(args.heal) }),
      },
    });
    let { report, scrub } = await check();
    for (const w of scrub?.stateWarnings ?? []) ctx.log(`warning: scrub state ${w}`);
    if (scrub?.plan) ctx.log(describePlan(scrub));
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
    if (fromReplica?.recovered.some((f) => f.healed)) {
      // The same packs again (a rotation would move on to others): healed ones must now read clean.
      ({ report, scrub } = await check(scrub?.plan ? scrub.plan.read.map((r) => r.key) : scrubOpts.select));
    }
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
    const corrupt = report.problems.filter((p) => p.kind === 'pack').map((p) => p.key);
    ctx.output({
      ...report,
      // Scalars, so each is an Argo output parameter (metrics read them): see docs/audit.md, "Scrub and drills".
      corruptPacks: corrupt.length,
      ...(scrub && {
        scrubCoverage: scrub.coverage.coverage,
        scrubOverdue: scrub.coverage.overdue,
        scrubOldestUnreadSeconds: scrub.coverage.oldestUnreadSeconds,
        scrub: scrubOutput(scrub),
      }),
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
          // Corruption found is evidence: which packs (their data is kept; restore reads around what it can).
          ...(corrupt.length > 0 && { corruptPacks: corrupt.slice(0, MAX_KEYS_IN_RECORD), corrupt: corrupt.length }),
          ...(scrub && {
            scrub: {
              read: scrub.read,
              failed: scrub.failed,
              coverage: scrub.coverage.coverage,
              overdue: scrub.coverage.overdue,
              oldestUnreadSeconds: scrub.coverage.oldestUnreadSeconds,
            },
          }),
        },
      },
      code,
    );
  },
});

/** An audit record stays small: the first of many corrupt packs are named, and the count says how many. */
const MAX_KEYS_IN_RECORD = 100;

function countBy(reads: ReadonlyArray<{ reason: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of reads) {
    const kind = r.reason.split(/[:( ]/, 1)[0]!;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

function describePlan(s: ScrubSummary): string {
  const p = s.plan!;
  const why = Object.entries(countBy(p.read))
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return (
    `scrub: reading ${p.read.length} packs (${why || 'none due'}), ${p.bytes} bytes; share per run ${p.share}` +
    (p.deferred.length ? `; ${p.deferred.length} due packs deferred (over --scrub-max-bytes)` : '') +
    (p.cold.length ? `; ${p.cold.length} packs in cold storage not read` : '')
  );
}

/** The scrub in verify's output: the coverage, and the plan by reason (one line per pack would not scale). */
function scrubOutput(s: ScrubSummary) {
  return {
    periodDays: s.periodDays,
    cadenceDays: s.cadenceDays,
    read: s.read,
    failed: s.failed,
    ...s.coverage,
    ...(s.plan && {
      plan: {
        read: countBy(s.plan.read),
        bytes: s.plan.bytes,
        share: s.plan.share,
        deferred: s.plan.deferred.length,
        cold: s.plan.cold.length,
      },
    }),
  };
}
