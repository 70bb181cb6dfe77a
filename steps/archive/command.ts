// `strata archive` (alias `compress`): the one archiver — a directory export or the cluster, into the repository.
import { DEFAULT_GROUP, initRepository, type SourceArchiveReport } from '../../lib/archive/index.ts';
import type { StepContext } from '../../lib/cli/run-step.ts';
import { stepCommand } from '../../lib/cli/step-command.ts';
import { AuditError, ConfigError, ExitCode } from '../../lib/errors.ts';
import { clusterArtifactReaders } from '../../lib/sources/argo-artifact-repository.ts';
import {
  openClusterAndPolicy,
  withClusterPolicyOptions,
  workflowNamespaces,
  type ClusterPolicyArgs,
} from '../cluster-options.ts';
import { archiveAudited, manifestList } from '../../lib/pipeline/archive-run.ts';
import { parseBatchRefs } from '../../lib/pipeline/batches.ts';
import { archiveFromCluster } from '../../lib/pipeline/cluster-archive.ts';
import { complianceRetention, policyGroup } from '../../lib/pipeline/policy-verdict.ts';
import { loadPolicySet } from '../../lib/policy/index.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';
import { withArtifactRepository } from '../../lib/sources/s3-artifacts.ts';
import { openStore, parseStoreUrl } from '../../lib/store/open.ts';

interface ArchiveArgs extends ClusterPolicyArgs {
  from?: string;
  workflows?: string;
  uids?: string;
  namespace?: string[];
  selector?: string;
  /** A URL, or false for `--no-artifacts`. */
  artifacts?: string | false;
  group?: string;
  workflow?: string;
  level?: number;
  'allow-partial'?: boolean;
}

const ACTOR = 'strata/archive';

export const archiveCommand = stepCommand({
  command: ['archive', 'compress'],
  describe:
    'Archive workflows (dedup, compress, commit a manifest each) from a directory export (--from) or the cluster ' +
    '(--workflows, or --namespace/--selector)',
  builder: (y) =>
    withClusterPolicyOptions(y)
      .option('from', { type: 'string', describe: 'directory export (layout: docs/directory-export.md)' })
      .option('workflows', {
        type: 'string',
        describe: 'cluster: these namespace/name workflows, comma-separated (a batch from assess)',
      })
      .option('uids', {
        type: 'string',
        describe: 'cluster: their uids, same order (a workflow recreated under the same name is skipped)',
      })
      .option('namespace', {
        alias: 'n',
        type: 'string',
        array: true,
        describe:
          'cluster: every finished, unarchived workflow of these namespaces (comma-separated; "" = STRATA_TENANT_NAMESPACES, else all)',
      })
      .option('selector', { alias: 'l', type: 'string', describe: 'cluster: label selector for --namespace' })
      .option('artifacts', {
        type: 'string',
        describe:
          "Argo's artifact repository (s3://bucket[/prefix] or file:/path) for logs and artifacts the source lacks. " +
          "Cluster default: each workflow's own (status, else the artifact-repositories ConfigMap); --no-artifacts: none",
      })
      .option('group', {
        type: 'string',
        describe: `timeline group, e.g. standard-2026-11 (default: from policy for the cluster, "${DEFAULT_GROUP}" for --from)`,
      })
      .option('workflow', { type: 'string', describe: 'only this workflow (uid, name or namespace/name)' })
      .option('level', {
        type: 'number',
        describe: "zstd level 1-22 for new packs (default: the repository's, 8 for new ones)",
      })
      .option('allow-partial', {
        type: 'boolean',
        describe: 'exit 0 when some workflows archived and others failed (they stay for the next sweep)',
      }),
  handler: async (args, ctx) => {
    if (args.level !== undefined && !(Number.isInteger(args.level) && args.level >= 1 && args.level <= 22)) {
      throw new ConfigError(`--level ${args.level} is not a zstd level (1-22)`);
    }
    const fromCluster = args.workflows !== undefined || args.namespace !== undefined || args.selector !== undefined;
    if (args.from !== undefined && fromCluster)
      throw new ConfigError(
        '--from reads a directory export, --workflows/--namespace/--selector the cluster: give one',
      );
    if (args.from === undefined && !fromCluster)
      throw new ConfigError('name a source: --from <dir>, or the cluster with --workflows or --namespace/--selector');
    if (args.uids !== undefined && args.workflows === undefined) throw new ConfigError('--uids goes with --workflows');
    const report = fromCluster ? await archiveCluster(args, ctx) : await archiveDirectory(args, args.from!, ctx);
    for (const p of report.problems) ctx.log(`problem: ${p.where}: ${p.message}`);
    ctx.output(report);
    const failed = report.failed > 0 && !(args['allow-partial'] && report.archived + report.unchanged > 0);
    const nothingReadable = report.workflows === 0 && report.problems.length > 0;
    const first = report.problems[0];
    const code =
      failed || nothingReadable
        ? ctx.fail(
            `archive failed for ${report.failed} workflows` +
              (first ? `; first: ${first.where}: ${first.message}` : ''),
          )
        : ExitCode.Ok;
    if (!report.stopped) return code;
    // Only an audit record that could not be written stops a run; what was archived is printed above.
    if (report.stopped.notStarted) ctx.log(`stopped: ${report.stopped.notStarted} workflow(s) not started`);
    return ctx.failedAfter(new AuditError(report.stopped.reason), code);
  },
});

async function archiveDirectory(
  args: ArchiveArgs,
  from: string,
  ctx: StepContext,
): Promise<SourceArchiveReport & { manifests: string }> {
  let source = openDirectorySource(from);
  if (args.artifacts) {
    const location = parseStoreUrl(args.artifacts);
    const bucket = location.kind === 's3' ? location.bucket : undefined;
    source = withArtifactRepository(source, openStore(args.artifacts, ctx.config.s3), bucket ? { bucket } : {});
  }
  const repo = await initRepository(ctx.store());
  // Compliance classes are written under COMPLIANCE retention when policy files are given (the cluster path always).
  const policySet = args.policy?.length ? loadPolicySet(readPolicySources(args.policy)).policySet : undefined;
  const report = await archiveAudited(repo, source, {
    group: args.group ?? DEFAULT_GROUP,
    retainUntil: policySet?.valid ? complianceRetention(policySet) : undefined,
    audit: ctx.audit,
    actor: ACTOR,
    workflow: args.workflow,
    compressionLevel: args.level,
    progress: ctx.progress,
    log: (line) => ctx.log(line),
  });
  return { ...report, manifests: manifestList(report) };
}

async function archiveCluster(args: ArchiveArgs, ctx: StepContext) {
  let refs;
  try {
    refs = args.workflows !== undefined ? parseBatchRefs(args.workflows, args.uids) : undefined;
  } catch (err) {
    throw new ConfigError(`--workflows/--uids: ${(err as Error).message}`);
  }
  // Policy is read with --group too: a compliance class's archive is written under COMPLIANCE retention.
  const { cluster, policySet } = await openClusterAndPolicy(args, (line) => ctx.log(line));
  let group: string | ReturnType<typeof policyGroup>;
  if (args.group !== undefined) group = args.group;
  else {
    if (!policySet.valid)
      throw new ConfigError('policy set does not validate: give --group, or fix the policy (nothing was archived)');
    group = policyGroup(policySet, new Date());
  }
  const repo = await initRepository(ctx.store());
  return archiveFromCluster(cluster, repo, {
    refs,
    selection: {
      namespaces: workflowNamespaces(args.namespace, ctx.config),
      labelSelector: args.selector?.trim() || undefined,
    },
    group,
    retainUntil: policySet.valid ? complianceRetention(policySet) : undefined,
    artifacts: clusterArtifactReaders(cluster, args.artifacts, ctx.config.s3, ctx.config.artifactRepositories),
    audit: ctx.audit,
    actor: ACTOR,
    workflow: args.workflow,
    compressionLevel: args.level,
    progress: ctx.progress,
    log: (line) => ctx.log(line),
  });
}
