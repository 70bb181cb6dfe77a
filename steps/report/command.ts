// `strata report cost`: what a fleet's archive costs a month at steady state under the policies, tiered by Strata
// versus kept hot and uncompressed, from the archived corpus's mix, sizes and measured compression.
import type { Argv, CommandModule } from 'yargs';
import { openRepository } from '../../lib/archive/index.ts';
import { formatTable } from '../../lib/cli/output.ts';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
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

export const reportCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'report <command>',
  describe: 'Reports: cost',
  builder: (y) => y.command(costCommand).demandCommand(1, 'name a report: cost'),
  handler: () => {},
};
