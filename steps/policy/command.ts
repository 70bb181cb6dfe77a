// `strata policy validate|test|explain|diff`: GitOps checks, policy unit tests, and dry runs of retention policies.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { runStep, type GlobalArgs, type StepContext } from '../../lib/cli/run-step.ts';
import { ExitCode, InputError } from '../../lib/errors.ts';
import { openCluster } from '../../lib/kube/open.ts';
import { policySourcesFromCluster, type PolicyConfigMapLister } from '../../lib/policy/cluster-source.ts';
import { diffPolicies } from '../../lib/policy/diff.ts';
import { explainRetention, renderExplanation } from '../../lib/policy/explain.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import {
  formatProblem,
  loadPolicySet,
  type PolicySet,
  workflowFacts,
  type Tier,
  TIERS,
} from '../../lib/policy/index.ts';
import { listManifests, openRepository, readManifest } from '../../lib/archive/index.ts';
import { manifestInput, type WorkflowInput } from '../../lib/policy/inputs.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';
import { loadPricing } from '../../lib/policy-files/pricing-file.ts';
import { readManifestFiles, readObjects, readWorkflowFiles } from '../../lib/policy-files/workflow-files.ts';
import { lintPolicySet } from '../../lib/policy/lint.ts';
import { runPolicyTestFile } from '../../lib/policy-files/policy-test-file.ts';
import { addDuration, parseDuration } from '../../lib/policy/duration.ts';

const DEFAULT_POLICIES = () => (process.env.STRATA_POLICIES ?? 'policies').split(',');

/** Path flags take one value each (repeat the flag, or separate with commas) so they never swallow positionals. */
function paths(v: string | string[] | undefined): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).flatMap((x) => String(x).split(',')).filter(Boolean);
}

function parseNow(text: string | undefined): Date {
  if (!text) return new Date();
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new InputError(`--now: "${text}" is not an ISO date`);
  return d;
}

/** Loads a policy set and refuses to go on when it is invalid (the problems are printed first). */
function loadValidSet(paths: readonly string[], ctx: StepContext, what: string): PolicySet {
  const { policySet, problems } = loadPolicySet(readPolicySources(paths));
  for (const p of problems) ctx.log(`${what}: ${formatProblem(p)}`);
  return policySet;
}

interface ValidateArgs {
  paths?: string[];
  'from-cluster'?: boolean;
  'policy-namespace'?: string;
  strict?: boolean;
}

/** The cluster port used by --from-cluster; replaceable in tests. */
export let policyConfigMapLister: () => Promise<PolicyConfigMapLister> = () => openCluster();
export function setPolicyConfigMapLister(f: () => Promise<PolicyConfigMapLister>): void {
  policyConfigMapLister = f;
}

const validateCommand: CommandModule<GlobalArgs, ValidateArgs> = {
  command: 'validate [paths..]',
  describe:
    'Validate policies: schema, CEL compile and type check, unreachable/shadowed rules, conflicts (exit 1 on any error)',
  builder: (y) =>
    y
      .positional('paths', {
        type: 'string',
        array: true,
        describe: 'policy files or directories (default: $STRATA_POLICIES or policies/)',
      })
      .option('from-cluster', {
        type: 'boolean',
        describe: 'read ConfigMaps labelled strata.dev/policy=true from the cluster',
      })
      .option('policy-namespace', {
        type: 'string',
        default: 'argo',
        describe: 'namespaces to read policy ConfigMaps from (comma-separated)',
      })
      .option('strict', {
        type: 'boolean',
        describe: 'treat warnings (shadowed, unreachable rules) as errors',
      }) as Argv<ValidateArgs>,
  handler: runStep<ValidateArgs>(async (args, ctx) => {
    const sources = args.fromCluster
      ? await policySourcesFromCluster(await policyConfigMapLister(), paths(args.policyNamespace ?? 'argo'))
      : readPolicySources(args.paths?.length ? args.paths : DEFAULT_POLICIES());
    const { policySet, problems } = loadPolicySet(sources);
    const all = [...problems, ...lintPolicySet(policySet)];
    for (const p of all) ctx.log(formatProblem(p));
    const errors = all.filter((p) => p.severity === 'error').length;
    const warnings = all.length - errors;
    ctx.output({
      valid: errors === 0,
      sources: sources.length,
      rules: policySet.rules.length,
      errors,
      warnings,
      problems: all.map(formatProblem),
    });
    return errors > 0 || (args.strict && warnings > 0) ? ExitCode.Failed : ExitCode.Ok;
  }),
};

function testFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory())
      out.push(
        ...testFiles(
          readdirSync(p)
            .sort()
            .filter((e) => /\.ya?ml$/.test(e))
            .map((e) => join(p, e)),
        ),
      );
    else out.push(p);
  }
  return out;
}

interface TestArgs {
  paths?: string[];
  policies?: string;
}

const testCommand: CommandModule<GlobalArgs, TestArgs> = {
  command: 'test [paths..]',
  describe: 'Run policy unit tests (PolicyTest files: workflow fixtures and the decisions they must get)',
  builder: (y) =>
    y
      .positional('paths', {
        type: 'string',
        array: true,
        describe: 'PolicyTest files or directories (default: policies/tests)',
      })
      .option('policies', {
        type: 'string',
        describe: 'test these policies (comma-separated) instead of the ones each test names',
      }) as Argv<TestArgs>,
  handler: runStep<TestArgs>(async (args, ctx) => {
    const files = testFiles(args.paths?.length ? args.paths : ['policies/tests']);
    const override = paths(args.policies).map((p) => resolve(p));
    const results = files.flatMap((f) => runPolicyTestFile(f, override.length ? override : undefined));
    for (const r of results) {
      ctx.log(`${r.passed ? 'PASS' : 'FAIL'} ${r.test}: ${r.case}`);
      for (const f of r.failures) ctx.log(`     ${f}`);
    }
    const failed = results.filter((r) => !r.passed).length;
    ctx.output({
      passed: results.length - failed,
      failed,
      failures: results.filter((r) => !r.passed).map((r) => ({ file: r.file, case: r.case, failures: r.failures })),
    });
    return failed || results.length === 0 ? ExitCode.Failed : ExitCode.Ok;
  }),
};

interface ExplainArgs {
  workflow: string;
  policies?: string;
  now?: string;
  related?: string;
  size?: number;
  tier?: string;
  holds?: boolean;
}

const explainCommand: CommandModule<GlobalArgs, ExplainArgs> = {
  command: 'explain <workflow>',
  describe: 'Show which rules match a workflow, which wins and why, and its timeline (archive, warm, cold, delete on)',
  builder: (y) =>
    y
      .positional('workflow', { type: 'string', demandOption: true, describe: 'Workflow YAML/JSON file' })
      .option('policies', {
        type: 'string',
        describe: 'policy files or directories, comma-separated (default: $STRATA_POLICIES or policies/)',
      })
      .option('now', { type: 'string', describe: 'evaluate at this ISO time (default: now)' })
      .option('related', { type: 'string', describe: 'files with related resources (e.g. CodeRuns), comma-separated' })
      .option('size', { type: 'number', describe: 'archived size in bytes (treats the workflow as archived)' })
      .option('tier', { choices: TIERS as string[], describe: 'current tier of the archived copy' })
      .option('holds', {
        type: 'boolean',
        describe: 'read legal holds and extensions from the archive repository',
      }) as Argv<ExplainArgs>,
  handler: runStep<ExplainArgs>(async (args, ctx) => {
    const [input] = readWorkflowFiles([args.workflow]);
    if (!input) throw new InputError('no Workflow object in the file', { file: args.workflow });
    const related = readObjects(paths(args.related));
    const policies = paths(args.policies);
    const set = loadValidSet(policies.length ? policies : DEFAULT_POLICIES(), ctx, 'policy');
    const archive =
      args.size !== undefined || args.tier
        ? { sizeBytes: args.size ?? 0, tier: args.tier as Tier | undefined }
        : undefined;
    const facts = workflowFacts(input.facts.workflow, { related, archive });
    const holds = args.holds ? await new HoldRepository(ctx.store()).forWorkflow(facts.uid) : undefined;
    const e = explainRetention(set, facts, parseNow(args.now), holds);
    if (ctx.config.output === 'table') process.stdout.write(renderExplanation(e) + '\n');
    else ctx.output(e);
    return e.decision.failedClosed ? ExitCode.Failed : ExitCode.Ok;
  }),
};

interface DiffArgs {
  from: string;
  to: string;
  inputs?: string[];
  manifests?: boolean;
  'from-store'?: boolean;
  pricing?: string;
  now?: string;
  horizon?: string;
  limit?: number;
}

const diffCommand: CommandModule<GlobalArgs, DiffArgs> = {
  command: 'diff [inputs..]',
  describe: 'Dry run of a policy change: archived/moved/deleted earlier or later, bytes per tier, cost forecast',
  builder: (y) =>
    y
      .positional('inputs', {
        type: 'string',
        array: true,
        describe: 'Workflow files/directories (or manifests with --manifests)',
      })
      .option('from', {
        type: 'string',
        demandOption: true,
        describe: 'current policy files or directories (comma-separated)',
      })
      .option('to', {
        type: 'string',
        demandOption: true,
        describe: 'proposed policy files or directories (comma-separated)',
      })
      .option('manifests', { type: 'boolean', describe: 'inputs are archived manifests (strata-manifest JSON)' })
      .option('from-store', {
        type: 'boolean',
        describe: 'diff over every manifest in the archive repository (--store)',
      })
      .option('pricing', { type: 'string', describe: 'per-tier prices (default policies/pricing.yaml)' })
      .option('now', { type: 'string', describe: 'evaluate at this ISO time (default: now)' })
      .option('horizon', { type: 'string', default: '1y', describe: 'forecast window from now, e.g. 1y, 90d' })
      .option('limit', {
        type: 'number',
        default: 50,
        describe: 'list at most this many changed workflows',
      }) as Argv<DiffArgs>,
  handler: runStep<DiffArgs>(async (args, ctx) => {
    const from = loadValidSet(paths(args.from), ctx, '--from');
    const to = loadValidSet(paths(args.to), ctx, '--to');
    if (!to.valid) ctx.log('--to does not validate: every workflow would fail closed (keep everything)');
    const inputs = args.fromStore
      ? await storeManifests(ctx)
      : args.manifests
        ? readManifestFiles(args.inputs ?? [])
        : readWorkflowFiles(args.inputs ?? []);
    const horizon = parseDuration(args.horizon ?? '1y');
    if (!horizon) throw new InputError(`--horizon: "${args.horizon}" is not a duration`);
    const now = parseNow(args.now);
    const diff = diffPolicies(from, to, inputs, {
      now,
      horizonEnd: addDuration(now, horizon),
      pricing: loadPricing(args.pricing ?? 'policies/pricing.yaml'),
    });
    const limit = args.limit ?? 50;
    ctx.output({ ...diff, changed: diff.changed.slice(0, limit), changedTotal: diff.changed.length });
    return ExitCode.Ok;
  }),
};

async function storeManifests(ctx: StepContext): Promise<WorkflowInput[]> {
  const repo = await openRepository(ctx.store());
  const out: WorkflowInput[] = [];
  for await (const info of listManifests(repo))
    out.push(manifestInput(await readManifest(repo, info.id), `manifest ${info.id}`));
  return out;
}

export const policyCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'policy <command>',
  describe: 'Retention policies: validate, test, explain, diff',
  builder: (y) =>
    y
      .command(validateCommand)
      .command(testCommand)
      .command(explainCommand)
      .command(diffCommand)
      .demandCommand(1, 'name a policy command: validate, test, explain, diff'),
  handler: () => {},
};
