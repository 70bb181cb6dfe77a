// `strata watch` without the terminal: the event loop deciding with the live policy, archiving with the one
// archiver, then finalizing (verify, label, delete when policy says so).
import type { Repository } from '../archive/index.ts';
import type { AuditLog } from '../audit/audit.ts';
import { systemClock, type Clock } from '../clock.ts';
import { AuditError, PolicyError, StrataError } from '../errors.ts';
import type { ClusterApi } from '../kube/cluster-api.ts';
import type { HoldsAndExtensions } from '../policy/index.ts';
import type { ClusterSourceOptions } from '../sources/cluster.ts';
import { archiveFromCluster } from './cluster-archive.ts';
import { artifactOriginals, type RepositoryResolver } from './artifact-originals.ts';
import { finalizeManifest } from './finalize-run.ts';
import { verifyManifest } from '../archive/checker.ts';
import type { PolicyRefresher } from './policy-refresh.ts';
import { complianceRetention, deletionVerdict, policyDecider } from './policy-verdict.ts';
import { runWatchLoop, type WatchLoopGauges, type WatchLoopOptions, type WatchLoopStats } from './watch-loop.ts';
import { workflowRef } from './workflow-state.ts';

export interface WatchDeps {
  cluster: ClusterApi;
  repo: Repository;
  policy: PolicyRefresher;
  artifacts?: ClusterSourceOptions['artifacts'];
  /** Each workflow's trusted artifact repository, where finalize deletes the originals (absent: it leaves them). */
  originals?: RepositoryResolver;
  audit: AuditLog;
  /** Legal holds and extensions of a workflow (finalize never deletes a held one). */
  holdsFor(uid: string): Promise<HoldsAndExtensions>;
  clock?: Clock;
  log(line: string): void;
}

/** What `strata watch` serves as metrics: the loop's state and what its archives wrote. */
export interface WatchGauges extends WatchLoopGauges {
  /** Bytes of the workflows archived (before dedup and compression). */
  archivedBytes: number;
  /** Bytes written to the store for them (new packs). */
  storedBytes: number;
}

export type WatchOptions = Pick<
  WatchLoopOptions,
  'namespaces' | 'labelSelector' | 'once' | 'maxEvents' | 'signal' | 'policyRefreshMs' | 'statusEveryMs' | 'maxPending'
> & {
  /** After archiving: verify, label, delete if policy says so (default true). */
  finalize?: boolean;
  /** Hands over, once, a reader of the watch's state at the moment of reading (metrics read it per scrape). */
  expose?(read: () => WatchGauges): void;
};

export interface WatchStats extends WatchLoopStats {
  archived: number;
  deleted: number;
}

const ACTOR = 'strata/watch';

export async function runWatch(deps: WatchDeps, opts: WatchOptions): Promise<WatchStats> {
  const clock = deps.clock ?? systemClock;
  let archived = 0;
  let deleted = 0;
  let archivedBytes = 0;
  let storedBytes = 0;
  // The policy the loop starts with is on the record before its first decision (a refused record stops the watch).
  await deps.policy.recordInForce();
  const stats = await runWatchLoop(deps.cluster, {
    ...opts,
    expose: (read) => opts.expose?.(() => ({ ...read(), archivedBytes, storedBytes })),
    clock,
    log: deps.log,
    decide: (wf, now) => {
      const set = deps.policy.current;
      if (!set.valid) throw new PolicyError('the policy set does not validate');
      return policyDecider(set)(wf, now);
    },
    refreshPolicy: () => deps.policy.refresh(),
    archive: async (wf, verdict) => {
      const ref = workflowRef(wf);
      const result = await archiveFromCluster(deps.cluster, deps.repo, {
        refs: [{ namespace: wf.metadata.namespace ?? 'default', name: wf.metadata.name, uid: wf.metadata.uid }],
        group: verdict.group,
        retainUntil: complianceRetention(deps.policy.current, () => clock.now()),
        artifacts: deps.artifacts,
        audit: deps.audit,
        actor: ACTOR,
      });
      // An unrecorded archive stops the watch (see runWatchLoop): nothing more happens off the record.
      if (result.stopped) throw new AuditError(result.stopped.reason);
      const one = result.results[0];
      if (!one?.manifestId) throw new StrataError(one?.error ?? result.skippedWorkflows[0]?.reason ?? 'not archived');
      archived++;
      archivedBytes += result.bytes;
      storedBytes += result.storedBytes;
      deps.log(`archived: ${ref} → manifest ${one.manifestId}${one.incomplete ? ' (incomplete)' : ''}`);
      if (opts.finalize === false) return;
      const f = await finalizeManifest(one.manifestId, {
        cluster: deps.cluster,
        verifyManifest: (id) => verifyManifest(deps.repo, id),
        deletion: async (w) =>
          deletionVerdict(deps.policy.current, w, clock.now(), await deps.holdsFor(w.metadata.uid ?? '')),
        ...(deps.originals && { originals: artifactOriginals(deps.repo, deps.originals) }),
        audit: deps.audit,
        actor: ACTOR,
      });
      if (f.source === 'deleted' || f.source === 'pending') deleted++;
      deps.log(`${f.refused ? 'refused' : f.source}: ${ref}: ${f.reasons.join('; ')}`);
    },
  });
  return { ...stats, archived, deleted };
}
