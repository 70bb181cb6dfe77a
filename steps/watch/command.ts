// `strata watch`: the event loop — archives each workflow as policy allows once it finishes (list + watch), then finalizes it.
import { initRepository } from '../../lib/archive/index.ts';
import { stepCommand } from '../../lib/cli/step-command.ts';
import { ConfigError, ExitCode } from '../../lib/errors.ts';
import {
  artifactBucketOpener,
  clusterArtifactReaders,
  trustedRepositoryFor,
} from '../../lib/sources/argo-artifact-repository.ts';
import { openCluster } from '../../lib/kube/open.ts';
import { withClusterPolicyOptions, workflowNamespaces } from '../cluster-options.ts';
import { loadStepPolicy, namespaceList } from '../../lib/kube/policy-sources.ts';
import { PolicyRefresher } from '../../lib/pipeline/policy-refresh.ts';
import { recordPolicyInForce } from '../../lib/audit/policy-in-force.ts';
import { DEFAULT_MAX_PENDING } from '../../lib/pipeline/watch-loop.ts';
import { serveMetrics, type MetricsEndpoint } from '../../lib/metrics/http.ts';
import { renderMetrics } from '../../lib/metrics/prometheus.ts';
import { watchMetrics } from '../../lib/metrics/watch.ts';
import { runWatch, type WatchGauges } from '../../lib/pipeline/watch-run.ts';
import { formatProblem } from '../../lib/policy/index.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';

export const watchCommand = stepCommand({
  command: 'watch',
  describe:
    'Archive each workflow as soon as it finishes and policy allows (list + watch, due times queued), then finalize it',
  builder: (y) =>
    withClusterPolicyOptions(y)
      .option('namespace', {
        alias: 'n',
        type: 'string',
        array: true,
        describe: 'namespaces to watch, repeated or comma-separated (default: STRATA_TENANT_NAMESPACES, else all)',
      })
      .option('selector', { alias: 'l', type: 'string', describe: 'label selector' })
      .option('once', { type: 'boolean', describe: 'handle what the first list finds, then exit' })
      .option('max-events', { type: 'number', describe: 'exit after this many watch events' })
      .option('max-pending', {
        type: 'number',
        default: DEFAULT_MAX_PENDING,
        describe: 'workflows waiting for their due time held in memory; beyond it the sweep archives them',
      })
      .option('policy-refresh', {
        type: 'number',
        default: 30,
        describe: 'seconds between re-reads of the policy (files and ConfigMaps); a change re-decides pending ones',
      })
      // Batch archiving moved to `strata archive`; the old flags stay only to say so.
      .option('workflows', { type: 'string', hidden: true })
      .option('uids', { type: 'string', hidden: true })
      .option('group', { type: 'string', hidden: true })
      .option('artifacts', {
        type: 'string',
        describe:
          "Argo's artifact repository (s3://bucket[/prefix] or file:/path) for logs of deleted pods and artifacts " +
          "(default: each workflow's own; --no-artifacts: none)",
      })
      .option('metrics-address', {
        type: 'string',
        describe:
          'serve Prometheus metrics (pending workflows, oldest due time, archived, failures) at GET /metrics on host:port or :port',
      })
      .option('finalize', {
        type: 'boolean',
        default: true,
        describe: 'after archiving: verify, label, delete if policy says so',
      }),
  handler: async (args, ctx) => {
    if (args.workflows !== undefined || args.uids !== undefined || args.group !== undefined)
      throw new ConfigError(
        '`strata watch --workflows/--uids/--group` is gone: archive a batch with `strata archive --workflows … --uids … --group …`',
      );
    if (!(Number.isInteger(args['max-pending']) && args['max-pending'] > 0))
      throw new ConfigError(`--max-pending ${args['max-pending']} is not a positive integer`);
    if (!(args['policy-refresh'] > 0)) throw new ConfigError(`--policy-refresh ${args['policy-refresh']} is not > 0`);
    const cluster = await openCluster(args['kube-server']);
    const load = () => loadStepPolicy(cluster, args.policy, namespaceList(args['policy-from-cluster']));
    const initial = await load();
    for (const p of initial.problems) ctx.log(formatProblem(p));
    if (!initial.policySet.valid)
      throw new ConfigError('policy set does not validate: nothing is archived, nothing deleted');
    const repo = await initRepository(ctx.store());
    const holds = new HoldRepository(ctx.store());

    let readLoop: (() => WatchGauges) | undefined;
    const metrics = watchMetrics(() => readLoop?.());
    let endpoint: MetricsEndpoint | undefined;
    if (args['metrics-address'] !== undefined) {
      endpoint = await serveMetrics(args['metrics-address'], () => renderMetrics(metrics));
      ctx.log(`metrics: GET /metrics on ${args['metrics-address'].replace(/:\d+$/, '')}:${endpoint.port}`);
    }

    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      const stats = await runWatch(
        {
          cluster,
          repo,
          policy: new PolicyRefresher(
            load,
            initial,
            (line) => ctx.log(line),
            (digest) => recordPolicyInForce(ctx.store(), ctx.audit, digest, 'strata/watch'),
          ),
          artifacts: clusterArtifactReaders(cluster, args.artifacts, ctx.config.s3, ctx.config.artifactRepositories),
          // Originals are deleted only inside the repositories the configuration trusts (artifactRepositories).
          originals: trustedRepositoryFor(
            cluster,
            artifactBucketOpener(ctx.config.s3),
            ctx.config.artifactRepositories,
          ),
          audit: ctx.audit,
          holdsFor: (uid) => holds.forWorkflow(uid),
          log: (line) => ctx.log(line),
        },
        {
          namespaces: workflowNamespaces(args.namespace, ctx.config),
          labelSelector: args.selector,
          once: args.once,
          maxEvents: args['max-events'],
          maxPending: args['max-pending'],
          policyRefreshMs: args['policy-refresh'] * 1000,
          signal: controller.signal,
          finalize: args.finalize,
          expose: (read) => {
            readLoop = read;
          },
        },
      );
      ctx.output(stats);
      return stats.failed ? ExitCode.Failed : ExitCode.Ok;
    } finally {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      await endpoint?.close();
    }
  },
});
