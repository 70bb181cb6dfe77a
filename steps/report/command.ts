// `strata report cost`: what a fleet's archive costs a month at steady state under the policies, tiered by Strata
// versus kept hot and uncompressed, from the archived corpus's mix, sizes and measured compression.
// `strata report retention|deletions|custody`: compliance reports from the verified audit log alone (JSON, --html).
import { createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { renderReportHtml, type AuditReport } from '../../lib/audit/report-html.ts';
import { buildCustodyReport, buildDeletionsReport, buildRetentionReport } from '../../lib/audit/reports.ts';
import { loadPublicKey, loadSigningKey } from '../../lib/audit/signing-key.ts';
import { sealLog } from '../../lib/audit/store-log.ts';
import { sealOptionsOf } from '../../lib/audit/seal-options.ts';
import { readVerifiedLog, type VerifiedLog } from '../../lib/audit/verified-log.ts';
import { openRepository } from '../../lib/archive/index.ts';
import { formatTable } from '../../lib/cli/output.ts';
import { runStep, type GlobalArgs, type StepContext } from '../../lib/cli/run-step.ts';
import { ExitCode, InputError } from '../../lib/errors.ts';
import { formatProblem, loadPolicySet } from '../../lib/policy/index.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';
import { loadPricing } from '../../lib/policy-files/pricing-file.ts';
import { costCorpus } from '../../lib/tier/cost-corpus.ts';
import { fleetCost } from '../../lib/tier/cost-report.ts';

interface CostArgs {
  policy?: string[];
  pricing?: string;
  'per-day': number;
  'horizon-months': number;
}

const GIB = 1024 ** 3;

const costCommand: CommandModule<GlobalArgs, CostArgs> = {
  command: 'cost',
  describe: 'Monthly storage cost of a fleet at steady state: Strata tiers vs everything hot and uncompressed',
  builder: (y) =>
    y
      .option('policy', { type: 'string', array: true, describe: 'policy files or directories (default: built-in)' })
      .option('pricing', { type: 'string', describe: 'per-tier prices (env STRATA_PRICING; default: built in)' })
      .option('per-day', { type: 'number', default: 2000, describe: 'workflows finishing a day in the fleet' })
      .option('horizon-months', {
        type: 'number',
        default: 84,
        describe: 'months counted for workflows kept indefinitely (no steady state without an end)',
      }) as Argv<CostArgs>,
  handler: runStep<CostArgs>(async (args, ctx) => {
    if (!(args['per-day'] > 0)) throw new InputError(`--per-day ${args['per-day']} must be above 0`);
    const pricingFile = args.pricing ?? process.env.STRATA_PRICING;
    const pricing = pricingFile ? loadPricing(pricingFile) : DEFAULT_PRICING;
    const { policySet, problems } = loadPolicySet(readPolicySources(args.policy ?? []));
    for (const p of problems) ctx.log(formatProblem(p));
    const repo = await openRepository(ctx.store());
    const corpus = await costCorpus(repo, policySet, new Date());
    if (!corpus.workflows.length)
      throw new InputError(`no archived workflows in ${repo.store.url} to take the mix from`);
    const report = fleetCost(corpus.workflows, {
      pricing,
      storedRatio: corpus.storedRatio,
      workflowsPerDay: args['per-day'],
      horizonMonths: args['horizon-months'],
    });
    if (ctx.config.output === 'table') {
      const c = report.currency;
      process.stdout.write(
        formatTable(
          report.rows.map((r) => ({
            rule: r.rule,
            share: `${(r.share * 100).toFixed(1)} %`,
            'original MiB': (r.avgOriginalBytes / 2 ** 20).toFixed(2),
            'stored MiB': (r.avgStoredBytes / 2 ** 20).toFixed(2),
            'kept months': r.keptMonths.toFixed(1),
            coldest: r.coldestTier,
            [`all hot ${c}/month`]: r.monthlyAllHot.toFixed(2),
            [`Strata ${c}/month`]: r.monthlyStrata.toFixed(2),
          })),
        ) + '\n\n',
      );
      ctx.output({
        'workflows a day': report.workflowsPerDay,
        'corpus workflows': report.corpusWorkflows,
        'stored / original': report.storedRatio.toFixed(4),
        [`all hot, uncompressed (${report.currency}/month)`]: report.totals.monthlyAllHot.toFixed(2),
        [`Strata (${report.currency}/month)`]: report.totals.monthlyStrata.toFixed(2),
        saving: `${(report.totals.saving * 100).toFixed(1)} %`,
        'steady GiB hot/warm/cold/deep': Object.values(report.steadyBytes)
          .map((b) => (b / GIB).toFixed(1))
          .join(' / '),
      });
    } else ctx.output(report);
    return ExitCode.Ok;
  }),
};

interface LogReportArgs {
  html?: string;
  seal: boolean;
  'public-key'?: string;
}

/** The flags every report built from the audit log takes. */
function withLogReportOptions<T>(y: Argv<T>): Argv<T & LogReportArgs> {
  return y
    .option('html', { type: 'string', describe: 'also write the report as a self-contained HTML document here' })
    .option('seal', { type: 'boolean', default: true, describe: 'seal pending records first (--no-seal: read only)' })
    .option('public-key', {
      type: 'string',
      describe: 'check every tree head against this Ed25519 public key (PEM; default: audit.publicKey)',
    }) as Argv<T & LogReportArgs>;
}

/** Reads the verified log (sealed first, unless --no-seal), builds the report, prints it and writes its HTML. */
async function logReport(
  args: LogReportArgs,
  ctx: StepContext,
  build: (log: VerifiedLog) => AuditReport,
): Promise<ExitCode> {
  const store = ctx.store();
  const signingKey = ctx.config.audit.signingKey ? loadSigningKey(ctx.config.audit.signingKey) : undefined;
  if (args.seal) await sealLog(store, sealOptionsOf(ctx.config.audit));
  const keyFile = args['public-key'] ?? ctx.config.audit.publicKey;
  const publicKey = keyFile ? loadPublicKey(keyFile) : signingKey && createPublicKey(signingKey);
  const report = build(await readVerifiedLog(store, publicKey));
  if (args.html) writeFileSync(args.html, renderReportHtml(report));
  ctx.output(report);
  return ExitCode.Ok;
}

function dateFlag(name: string, value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InputError(`--${name}: "${value}" is not an ISO date`);
  return d;
}

interface DeletionsArgs extends LogReportArgs {
  from: string;
  to: string;
}

const deletionsCommand: CommandModule<GlobalArgs, DeletionsArgs> = {
  command: 'deletions',
  describe: 'What was deleted when, under which rule, with inclusion proofs: from the audit log alone',
  builder: (y) =>
    withLogReportOptions(y)
      .option('from', { type: 'string', demandOption: true, describe: 'start of the period (ISO date, inclusive)' })
      .option('to', {
        type: 'string',
        demandOption: true,
        describe: 'end of the period (ISO date, exclusive)',
      }) as Argv<DeletionsArgs>,
  handler: runStep<DeletionsArgs>(async (args, ctx) => {
    const from = dateFlag('from', args.from);
    const to = dateFlag('to', args.to);
    if (from >= to) throw new InputError(`--from ${args.from} must be before --to ${args.to}`);
    return logReport(args, ctx, (log) => buildDeletionsReport(log, from, to));
  }),
};

interface CustodyArgs extends LogReportArgs {
  workflow: string;
}

const custodyCommand: CommandModule<GlobalArgs, CustodyArgs> = {
  command: 'custody <workflow>',
  describe: 'Every event of one workflow (uid or namespace/name), collection to deletion, with hashes and proofs',
  builder: (y) =>
    withLogReportOptions(y).positional('workflow', {
      type: 'string',
      demandOption: true,
      describe: 'workflow uid, or namespace/name',
    }) as Argv<CustodyArgs>,
  handler: runStep<CustodyArgs>(async (args, ctx) =>
    logReport(args, ctx, (log) => buildCustodyReport(log, args.workflow)),
  ),
};

const retentionCommand: CommandModule<GlobalArgs, LogReportArgs> = {
  command: 'retention',
  describe: 'Per retention class: workflows, bytes, oldest, deleted, held; holds in force; violations (none expected)',
  builder: (y) => withLogReportOptions(y),
  handler: runStep<LogReportArgs>(async (args, ctx) => logReport(args, ctx, buildRetentionReport)),
};

export const reportCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'report <command>',
  describe: 'Reports: cost, retention, deletions, custody',
  builder: (y) =>
    y
      .command(costCommand)
      .command(retentionCommand)
      .command(deletionsCommand)
      .command(custodyCommand)
      .demandCommand(1, 'name a report: cost, retention, deletions, custody'),
  handler: () => {},
};
