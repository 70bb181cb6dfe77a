// `strata watch`: archives workflows as they finish (informer-style list+watch), or a given batch now (--workflows).
import type { CommandModule } from 'yargs';
import { initRepository } from '../../lib/archive/index.ts';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import {
  openClusterAndPolicy,
  withClusterPolicyOptions,
  type ClusterPolicyArgs,
} from '../../lib/kube/pipeline-step.ts';
import { ConfigError, ExitCode } from '../../lib/errors.ts';
import { archiveWorkflows } from '../../lib/pipeline/archive-batch.ts';
import { parseBatchRefs } from '../../lib/pipeline/batches.ts';
import { finalizeManifest } from '../../lib/pipeline/finalize-run.ts';
import { checkManifest } from '../../lib/pipeline/manifest-check.ts';
import { deletionVerdict, policyDecider } from '../../lib/pipeline/policy-verdict.ts';
import { runWatchLoop } from '../../lib/pipeline/watch-loop.ts';
import { workflowRef } from '../../lib/pipeline/workflow-state.ts';
import { HoldRepository } from '../../lib/policy/hold-store.ts';
import { openClusterSource } from '../../lib/sources/cluster.ts';
import { artifactReaderFor, endpointUrl } from '../../lib/kube/artifact-repository.ts';
import { openStore } from '../../lib/store/open.ts';

interface WatchArgs extends ClusterPolicyArgs {
  namespace?: string;
  selector?: string;
  once?: boolean;
  'max-events'?: number;
  workflows?: string;
  uids?: string;
  group?: string;
  finalize: boolean;
  artifacts: boolean;
}

export const watchCommand: CommandModule<GlobalArgs, WatchArgs> = {
  command: 'watch',
  describe: 'Archive workflows as they finish (list + watch), or archive the batch given by --workflows now',
  builder: (y) =>
    withClusterPolicyOptions(y)
      .option('namespace', { alias: 'n', type: 'string', describe: 'watch one namespace (default: all)' })
      .option('selector', { alias: 'l', type: 'string', describe: 'label selector' })
      .option('once', { type: 'boolean', describe: 'handle what the first list finds, then exit' })
      .option('max-events', { type: 'number', describe: 'exit after this many watch events' })
      .option('workflows', {
        type: 'string',
        describe: 'batch mode: archive these namespace/name workflows (comma-separated) and exit',
      })
      .option('uids', {
        type: 'string',
        describe: 'batch mode: their uids, same order (a recreated namesake is refused)',
      })
      .option('group', { type: 'string', describe: 'batch mode: timeline group from assess (default: from policy)' })
      .option('artifacts', {
        type: 'boolean',
        default: true,
        describe: "read archived logs and artifacts from each workflow's artifact repository (S3/MinIO)",
      })
      .option('finalize', {
        type: 'boolean',
        default: true,
        describe: 'after archiving: verify, label, delete if policy says so',
      }) as never,
  handler: runStep<WatchArgs>(async (args, ctx) => {
    const { cluster, policySet } = await openClusterAndPolicy(args, (line) => ctx.log(line));
    if (!policySet.valid) throw new ConfigError('policy set does not validate: nothing is archived, nothing deleted');
    const repo = await initRepository(ctx.store());
    const decide = policyDecider(policySet);
    // Logs of pods already gone and output artifacts come from each workflow's artifact repository (same S3 credentials).
    const s3 = ctx.config.s3;
    const artifacts = args.artifacts
      ? artifactReaderFor(cluster, (bucket, repo) =>
          openStore(`s3://${bucket}`, {
            ...s3,
            endpoint: endpointUrl(repo) ?? s3.endpoint,
            region: repo.region ?? s3.region,
            forcePathStyle: repo.endpoint ? true : s3.forcePathStyle,
          }),
        )
      : undefined;
    const holds = new HoldRepository(ctx.store());
    const finalizeDeps = {
      cluster,
      checkManifest: (id: string) => checkManifest(repo, id),
      deletion: async (wf: Parameters<typeof decide>[0]) =>
        deletionVerdict(policySet, wf, new Date(), await holds.forWorkflow(wf.metadata.uid ?? '')),
      audit: ctx.audit,
      actor: 'strata/watch',
    };

    if (args.workflows) {
      const refs = parseBatchRefs(args.workflows, args.uids);
      const group = args.group ?? 'default';
      const result = await archiveWorkflows(openClusterSource(cluster, { refs, artifacts }), repo, {
        group,
        audit: ctx.audit,
        actor: 'strata/watch',
        progress: ctx.progress,
      });
      for (const f of result.failed) ctx.log(`failed: ${f.workflow}: ${f.reason}`);
      ctx.output({
        ...result.counts,
        manifests: result.manifests,
        ...(ctx.config.output === 'table' ? {} : { workflows: result.archived, problems: result.failed }),
      });
      // Only a batch that archived nothing because of errors fails (and Argo retries it): one unreadable workflow
      // must not block the others forever; it stays unlabelled, so the next sweep tries it again.
      return result.counts.failed > 0 && result.counts.archived === 0 ? ExitCode.Failed : ExitCode.Ok;
    }
    if (args.uids || args.group) throw new ConfigError('--uids and --group go with --workflows');

    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    let archived = 0;
    let deleted = 0;
    try {
      const stats = await runWatchLoop(cluster, {
        namespace: args.namespace,
        labelSelector: args.selector,
        once: args.once,
        maxEvents: args['max-events'],
        signal: controller.signal,
        log: (m) => ctx.log(m),
        handle: async (wf) => {
          const verdict = decide(wf, new Date());
          if (!verdict.archive) {
            ctx.log(`not now: ${workflowRef(wf)}: ${verdict.reason}`);
            return;
          }
          const refs = [
            { namespace: wf.metadata.namespace ?? 'default', name: wf.metadata.name, uid: wf.metadata.uid },
          ];
          const result = await archiveWorkflows(openClusterSource(cluster, { refs, artifacts }), repo, {
            group: verdict.group,
            audit: ctx.audit,
            actor: 'strata/watch',
          });
          if (result.failed.length) throw new Error(result.failed.map((f) => f.reason).join('; '));
          archived++;
          const id = result.archived[0]!.manifestId;
          ctx.log(
            `archived: ${workflowRef(wf)} → manifest ${id}${result.archived[0]!.incomplete ? ' (incomplete)' : ''}`,
          );
          if (!args.finalize) return;
          const f = await finalizeManifest(id, { ...finalizeDeps, checkManifest: (m) => checkManifest(repo, m) });
          if (f.source === 'deleted' || f.source === 'pending') deleted++;
          ctx.log(`${f.refused ? 'refused' : f.source}: ${workflowRef(wf)}: ${f.reasons.join('; ')}`);
        },
      });
      ctx.output({ ...stats, archived, deleted });
      return stats.failed ? ExitCode.Failed : ExitCode.Ok;
    } finally {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    }
  }),
};
