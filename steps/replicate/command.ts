// `strata replicate --to <url>`: keeps a second store (another region or bucket) in step with the archive: copies
// what is missing, verifies, heals a bad or lost copy from the good side, reports drift; --prune follows deletions;
// --residency keeps each workflow where its policy destination may live; --emit-replication prints S3's own config.
import type { Argv, CommandModule } from 'yargs';
import { listManifests, openRepository, readManifest } from '../../lib/archive/index.ts';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { ConfigError, ExitCode } from '../../lib/errors.ts';
import { openCluster } from '../../lib/kube/open.ts';
import { loadStepPolicy, namespaceList } from '../../lib/kube/policy-sources.ts';
import { formatProblem, loadPolicySet } from '../../lib/policy/index.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';
import { replicate } from '../../lib/replica/replicate.ts';
import { replicationConfiguration } from '../../lib/replica/replication-config.ts';
import { loadResidency, manifestRefusal, replicaPlace } from '../../lib/replica/residency.ts';
import { openStore, parseStoreUrl } from '../../lib/store/open.ts';

interface ReplicateArgs {
  to: string;
  'to-region'?: string;
  verify?: boolean;
  prune?: boolean;
  'dry-run'?: boolean;
  residency?: string;
  policy?: string[];
  'policy-from-cluster'?: string;
  'kube-server'?: string;
  'emit-replication'?: string;
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
      .option('to-region', { type: 'string', describe: "the replica bucket's S3 region (default: s3.region)" })
      .option('verify', { type: 'boolean', describe: 'read every object on both sides (else sizes only)' })
      .option('prune', {
        type: 'boolean',
        describe: 'delete from the replica what the archive deleted, and what residency says may not be there',
      })
      .option('dry-run', { type: 'boolean', describe: 'report, change nothing' })
      .option('residency', {
        type: 'string',
        describe: 'residency file: where each policy destination may live (workflows elsewhere are not copied)',
      })
      .option('policy', { type: 'string', array: true, describe: 'with --residency: policy files or directories' })
      .option('policy-from-cluster', {
        type: 'string',
        describe: 'with --residency: also ConfigMaps labelled strata.dev/policy=true from these namespaces',
      })
      .option('kube-server', { type: 'string', describe: 'API server URL without auth (env STRATA_KUBE_SERVER)' })
      .option('emit-replication', {
        type: 'string',
        describe: 'print S3 replication configuration replicating to --to with this IAM role ARN, instead of copying',
      }) as Argv<ReplicateArgs>,
  handler: runStep<ReplicateArgs>(async (args, ctx) => {
    if (!args.residency && (args.policy || args['policy-from-cluster']))
      throw new ConfigError('--policy and --policy-from-cluster decide residency: they go with --residency <file>');
    const region = args['to-region'] ?? ctx.config.s3.region;
    const now = new Date();
    let refusal: ReturnType<typeof manifestRefusal> | undefined;
    if (args.residency) {
      const residency = loadResidency(args.residency);
      const place = replicaPlace(args.to, { toRegion: args['to-region'], s3Region: ctx.config.s3.region, residency });
      const namespaces = namespaceList(args['policy-from-cluster']);
      const { policySet, problems } = namespaces.length
        ? await loadStepPolicy(await openCluster(args['kube-server']), args.policy, namespaces)
        : loadPolicySet(readPolicySources(args.policy ?? []));
      for (const p of problems) ctx.log(formatProblem(p));
      // An invalid policy decides nothing: every workflow fails closed and is copied nowhere.
      refusal = manifestRefusal(policySet, residency, place, now);
    }
    const primary = ctx.store();

    if (args['emit-replication'] !== undefined) {
      const from = parseStoreUrl(ctx.config.store);
      const to = parseStoreUrl(args.to);
      if (from.kind !== 's3' || to.kind !== 's3')
        throw new ConfigError('--emit-replication needs an s3:// archive and an s3:// replica');
      const refused: Array<{ workflow: string; why: string }> = [];
      if (refusal) {
        const repo = await openRepository(primary);
        for await (const info of listManifests(repo)) {
          const m = await readManifest(repo, info.id);
          const why = refusal(m);
          if (why) refused.push({ workflow: `${m.workflow.namespace}/${m.workflow.name}`, why });
        }
      }
      ctx.output(replicationConfiguration(from, to, args['emit-replication'], refused));
      return ExitCode.Ok;
    }

    // An encrypted repository is copied sealed, as stored (the primary's keys check each copy, not re-seal it).
    const report = await replicate(primary, openStore(args.to, { ...ctx.config.s3, region }), {
      verify: Boolean(args.verify),
      prune: Boolean(args.prune),
      dryRun: Boolean(args['dry-run']),
      progress: ctx.progress,
      audit: args['dry-run'] ? undefined : ctx.audit,
      refusal,
    });
    for (const h of report.healed) ctx.log(`healed on the ${h.side}: ${h.key} (${h.why})`);
    for (const d of report.drift) ctx.log(`drift: ${d.key}: ${d.problem}`);
    const workflowsRefused = new Set(
      report.refused.filter((r) => r.key.startsWith('archive/manifests/')).map((r) => r.why),
    );
    for (const why of workflowsRefused) ctx.log(`residency: not copied: ${why}`);
    ctx.output({
      checked: report.checked,
      copied: report.copied.length,
      healed: report.healed.length,
      pruned: report.pruned.length,
      extra: report.extra.length,
      drift: report.drift.length,
      refused: report.refused.length,
      dryRun: Boolean(args['dry-run']),
    });
    if (report.drift.length)
      return ctx.fail(
        `replicate: ${report.drift.length} object(s) drift; first: ${report.drift[0]!.key}: ${report.drift[0]!.problem}`,
      );
    return ExitCode.Ok;
  }),
};
