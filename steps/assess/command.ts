// `strata assess`: lists finished workflows, asks the retention policy, and prints withParam batches to archive.
import { stepCommand } from '../../lib/cli/step-command.ts';
import type { StepContext } from '../../lib/cli/run-step.ts';
import { openClusterAndPolicy, withClusterPolicyOptions, workflowNamespaces } from '../cluster-options.ts';
import { ConfigError, ExitCode } from '../../lib/errors.ts';
import type { ClusterApi } from '../../lib/kube/cluster-api.ts';
import { configMapWatermark } from '../../lib/pipeline/watermark-configmap.ts';
import { ARCHIVED_LABEL, assessWorkflows, type WatermarkStore } from '../../lib/pipeline/index.ts';
import { policyDecider } from '../../lib/pipeline/policy-verdict.ts';
import { storeWatermark, sweepScope } from '../../lib/pipeline/watermark-store.ts';

function openWatermark(spec: string, scope: string, ctx: StepContext, cluster: ClusterApi): WatermarkStore | undefined {
  if (spec === 'none') return undefined;
  if (spec === 'store') return storeWatermark(ctx.store(), scope);
  const m = /^configmap:([^/]+)\/(.+)$/.exec(spec);
  if (m) return configMapWatermark(cluster, m[1]!, m[2]!, scope);
  throw new ConfigError(`--watermark "${spec}" is not none, store or configmap:<namespace>/<name>`);
}

function sweepSelector(selector: string | undefined, includeArchived: boolean): string | undefined {
  if (includeArchived) return selector;
  return [selector, `!${ARCHIVED_LABEL}`].filter(Boolean).join(',');
}

export const assessCommand = stepCommand({
  command: 'assess',
  describe: 'List finished workflows, apply the retention policy, and print batches to archive (Argo withParam)',
  builder: (y) =>
    withClusterPolicyOptions(y)
      .option('namespace', {
        alias: 'n',
        type: 'string',
        array: true,
        describe: 'namespaces to sweep, repeated or comma-separated (default: STRATA_TENANT_NAMESPACES, else all)',
      })
      .option('include-archived', {
        type: 'boolean',
        describe: 'also list workflows labelled strata.dev/archived (they are still never archived twice)',
      })
      .option('selector', {
        alias: 'l',
        type: 'string',
        describe: 'label selector, e.g. "app=agents,!strata.dev/skip"',
      })
      .option('batch-size', { type: 'number', default: 20, describe: 'workflows per batch (one archive pod each)' })
      .option('max-workflows', {
        type: 'number',
        describe: 'select at most this many per sweep; the rest wait for the next',
      })
      .option('page-size', { type: 'number', default: 200, describe: 'workflows per list page (continue tokens)' })
      .option('watermark', {
        type: 'string',
        default: 'none',
        describe: 'where the sweep remembers how far it got: none, store, or configmap:<namespace>/<name>',
      })
      .option('reset-watermark', {
        type: 'boolean',
        describe: 'ignore the stored watermark (after a policy change)',
      }),
  handler: async (args, ctx) => {
    const { cluster, policySet } = await openClusterAndPolicy(args, (line) => ctx.log(line));
    if (!policySet.valid) throw new ConfigError('policy set does not validate: nothing is archived, nothing deleted');
    // Argo passes lists as one parameter: accept "a,b" and "" (the tenant namespaces) as well as repeated flags.
    const namespaces = workflowNamespaces(args.namespace, ctx.config);
    const selector = args.selector?.trim() || undefined;
    // Archived workflows carry strata.dev/archived: excluding them on the API server keeps a sweep O(unarchived),
    // whatever the policy keeps in the cluster after archiving.
    const selection = { namespaces, labelSelector: sweepSelector(selector, Boolean(args['include-archived'])) };
    const watermarks = openWatermark(args.watermark, sweepScope(namespaces, selector), ctx, cluster);
    const watermark = args['reset-watermark'] ? undefined : await watermarks?.read();
    const result = await assessWorkflows(cluster.listWorkflows(selection, args['page-size']), {
      decide: policyDecider(policySet),
      now: new Date(),
      batchSize: args['batch-size'],
      maxWorkflows: args['max-workflows'],
      watermark,
    });
    if (watermarks && result.watermark) await watermarks.write(result.watermark);
    for (const d of result.deferred) ctx.log(`deferred: ${d.workflow}: ${d.reason}`);
    if (ctx.config.debug) for (const s of result.skipped) ctx.log(`skipped: ${s.workflow}: ${s.reason}`);
    ctx.output({
      ...result.counts,
      watermark: result.watermark?.finishedBefore ?? '',
      batches: result.batches,
      ...(ctx.config.output === 'table'
        ? {}
        : { skippedWorkflows: result.skipped, deferredWorkflows: result.deferred }),
    });
    return ExitCode.Ok;
  },
});
