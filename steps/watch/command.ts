// `strata watch`: the event loop — archives each workflow as policy allows once it finishes (list + watch), then finalizes it.
import type { CommandModule } from 'yargs';
import { initRepository } from '../../lib/archive/index.ts';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import {
  openClusterAndPolicy,
  withClusterPolicyOptions,
  type ClusterPolicyArgs,
} from '../../lib/kube/pipeline-step.ts';
import { AuditError, ConfigError, ExitCode, StrataError } from '../../lib/errors.ts';
import { archiveFromCluster } from '../../lib/pipeline/cluster-archive.ts';
import { finalizeManifest } from '../../lib/pipeline/finalize-run.ts';
import { checkManifest } from '../../lib/pipeline/manifest-check.ts';
import { deletionVerdict, policyDecider } from '../../lib/pipeline/policy-verdict.ts';
import { runWatchLoop } from '../../lib/pipeline/watch-loop.ts';
import { workflowRef } from '../../lib/pipeline/workflow-state.ts';
import { HoldRepository } from '../../lib/policy/hold-store.ts';
import { clusterArtifactReaders } from '../../lib/kube/artifact-repository.ts';

interface WatchArgs extends ClusterPolicyArgs {
  namespace?: string;
  selector?: string;
  once?: boolean;
  'max-events'?: number;
  workflows?: string;
  uids?: string;
  group?: string;
  finalize: boolean;
  /** A URL, or false for `--no-artifacts`. */
  artifacts?: string | false;
}

export const watchCommand: CommandModule<GlobalArgs, WatchArgs> = {
  command: 'watch',
  describe: 'Archive workflows as they finish and policy allows (list + watch), then finalize them',
  builder: (y) =>
    withClusterPolicyOptions(y)
      .option('namespace', { alias: 'n', type: 'string', describe: 'watch one namespace (default: all)' })
      .option('selector', { alias: 'l', type: 'string', describe: 'label selector' })
      .option('once', { type: 'boolean', describe: 'handle what the first list finds, then exit' })
      .option('max-events', { type: 'number', describe: 'exit after this many watch events' })
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
      .option('finalize', {
        type: 'boolean',
        default: true,
        describe: 'after archiving: verify, label, delete if policy says so',
      }) as never,
  handler: runStep<WatchArgs>(async (args, ctx) => {
    if (args.workflows !== undefined || args.uids !== undefined || args.group !== undefined)
      throw new ConfigError(
        '`strata watch --workflows/--uids/--group` is gone: archive a batch with `strata archive --workflows … --uids … --group …`',
      );
    const { cluster, policySet } = await openClusterAndPolicy(args, (line) => ctx.log(line));
    if (!policySet.valid) throw new ConfigError('policy set does not validate: nothing is archived, nothing deleted');
    const repo = await initRepository(ctx.store());
    const decide = policyDecider(policySet);
    const artifacts = clusterArtifactReaders(cluster, args.artifacts, ctx.config.s3);
    const holds = new HoldRepository(ctx.store());
    const finalizeDeps = {
      cluster,
      checkManifest: (id: string) => checkManifest(repo, id),
      deletion: async (wf: Parameters<typeof decide>[0]) =>
        deletionVerdict(policySet, wf, new Date(), await holds.forWorkflow(wf.metadata.uid ?? '')),
      audit: ctx.audit,
      actor: 'strata/watch',
    };

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
          const result = await archiveFromCluster(cluster, repo, {
            refs: [{ namespace: wf.metadata.namespace ?? 'default', name: wf.metadata.name, uid: wf.metadata.uid }],
            group: verdict.group,
            artifacts,
            audit: ctx.audit,
            actor: 'strata/watch',
          });
          // An unrecorded archive stops the watch (see runWatchLoop): nothing more happens off the record.
          if (result.stopped) throw new AuditError(result.stopped.reason);
          const archivedOne = result.results[0];
          if (!archivedOne?.manifestId) {
            const why = archivedOne?.error ?? result.skippedWorkflows[0]?.reason ?? 'nothing archived';
            throw new StrataError(why);
          }
          archived++;
          const id = archivedOne.manifestId;
          ctx.log(`archived: ${workflowRef(wf)} → manifest ${id}${archivedOne.incomplete ? ' (incomplete)' : ''}`);
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
