// Archives workflows straight from the cluster: picks them (a batch of refs or a selection), groups them, runs the one archiver.
import type { Repository, SourceArchiveReport } from '../archive/index.ts';
import type { WorkflowIdentity, WorkflowSource } from '../bundle/bundle.ts';
import { describeError } from '../errors.ts';
import type { ClusterApi, Selection } from '../kube/cluster-api.ts';
import { openClusterSource, type ClusterSourceOptions } from '../sources/cluster.ts';
import { archiveAudited, manifestList, type AuditedArchiveOptions } from './archive-run.ts';
import { ARCHIVED_LABEL, skipReason, workflowRef, workflowState, type WorkflowObject } from './workflow-state.ts';

export interface WorkflowRef {
  namespace: string;
  name: string;
  /** When given, a namesake with another uid (recreated since it was selected) is skipped. */
  uid?: string;
}

export interface ClusterArchiveRequest extends Omit<AuditedArchiveOptions, 'group'> {
  /** Exactly these workflows (a batch from assess, or named by hand); each is read again before archiving. */
  refs?: WorkflowRef[];
  /** Otherwise every finished workflow of this selection that is not labelled archived yet. */
  selection?: Selection;
  /** One timeline group for every workflow, or the one policy gives each (a throw skips that workflow). */
  group: string | ((wf: WorkflowObject) => string);
  /** Where logs of deleted pods and output artifacts are read from (see ClusterSourceOptions). */
  artifacts?: ClusterSourceOptions['artifacts'];
}

export interface SkippedWorkflow {
  workflow: string;
  uid?: string;
  reason: string;
}

export interface ClusterArchiveReport extends SourceArchiveReport {
  /** Not archived, and not a failure: deleted or recreated since selected, not finished, no group from policy. */
  skipped: number;
  skippedWorkflows: SkippedWorkflow[];
  /** Manifest ids of every archived workflow, comma-separated (finalize's `--manifest`). */
  manifests: string;
}

type Target = { id: WorkflowIdentity; group: string };

async function pickTargets(
  cluster: ClusterApi,
  request: ClusterArchiveRequest,
): Promise<{ targets: Target[]; skipped: SkippedWorkflow[]; unreadable: (WorkflowIdentity & { error: string })[] }> {
  const targets: Target[] = [];
  const skipped: SkippedWorkflow[] = [];
  const unreadable: (WorkflowIdentity & { error: string })[] = [];
  const consider = (wf: WorkflowObject, why: string | undefined) => {
    const workflow = workflowRef(wf);
    const uid = wf.metadata.uid;
    if (why || !uid) return void skipped.push({ workflow, uid, reason: why ?? 'no metadata.uid' });
    let group: string;
    try {
      group = typeof request.group === 'string' ? request.group : request.group(wf);
    } catch (err) {
      return void skipped.push({ workflow, uid, reason: `no timeline group: ${describeError(err)}` });
    }
    targets.push({ id: { uid, namespace: wf.metadata.namespace ?? 'default', name: wf.metadata.name }, group });
  };
  if (request.refs) {
    for (const ref of request.refs) {
      const workflow = `${ref.namespace}/${ref.name}`;
      let wf: WorkflowObject | undefined;
      try {
        wf = await cluster.getWorkflow(ref.namespace, ref.name);
      } catch (err) {
        // A failure, not a skip: the batch goes on, and the run reports it failed.
        unreadable.push({ uid: ref.uid ?? '', namespace: ref.namespace, name: ref.name, error: describeError(err) });
        continue;
      }
      if (!wf) skipped.push({ workflow, uid: ref.uid, reason: 'workflow is no longer in the cluster' });
      else if (ref.uid && wf.metadata.uid !== ref.uid)
        skipped.push({ workflow, uid: ref.uid, reason: `uid is ${wf.metadata.uid}, expected ${ref.uid} (recreated)` });
      else {
        // Named explicitly: an archived one is archived again (unchanged, same manifest); unfinished ones never.
        const state = workflowState(wf);
        consider(wf, state.finished ? undefined : `not finished: ${state.reason}`);
      }
    }
  } else {
    const selection = request.selection ?? {};
    // Archived workflows carry the label: the API server leaves them out (they may stay in the cluster for years).
    const labelSelector = [selection.labelSelector, `!${ARCHIVED_LABEL}`].filter(Boolean).join(',');
    for await (const wf of cluster.listWorkflows({ ...selection, labelSelector })) consider(wf, skipReason(wf));
  }
  return { targets, skipped, unreadable };
}

/** The cluster source restricted to workflows already picked (list() does not ask the API server again). */
function picked(source: WorkflowSource, ids: WorkflowIdentity[]): WorkflowSource {
  return {
    description: source.description,
    async *list() {
      yield* ids;
    },
    load: (id) => source.load(id),
  };
}

function emptyReport(description: string, group: string): SourceArchiveReport {
  return {
    source: description,
    group,
    workflows: 0,
    archived: 0,
    unchanged: 0,
    incomplete: 0,
    failed: 0,
    bytes: 0,
    newBytes: 0,
    storedBytes: 0,
    problems: [],
    results: [],
  };
}

/** Archives the picked workflows, one archiver run per timeline group (packs are never shared across groups). */
export async function archiveFromCluster(
  cluster: ClusterApi,
  repo: Repository,
  request: ClusterArchiveRequest,
): Promise<ClusterArchiveReport> {
  const { targets, skipped, unreadable } = await pickTargets(cluster, request);
  for (const s of skipped) request.log?.(`skipped: ${s.workflow}: ${s.reason}`);
  const byGroup = new Map<string, WorkflowIdentity[]>();
  for (const t of targets) byGroup.set(t.group, [...(byGroup.get(t.group) ?? []), t.id]);
  const groups = [...byGroup.keys()].sort();
  const description = openClusterSource(cluster, { refs: request.refs, selection: request.selection }).description;
  const total = emptyReport(description, groups.join(','));
  let notStarted = targets.length;
  for (const u of unreadable) {
    request.log?.(`failed: ${u.namespace}/${u.name}: ${u.error}`);
    total.workflows++;
    total.failed++;
    total.results.push(u);
    try {
      await request.audit.record({
        action: 'archive',
        actor: request.actor,
        subject: u.uid || `${u.namespace}/${u.name}`,
        outcome: 'failed',
        reason: u.error,
        details: { namespace: u.namespace, name: u.name, source: description },
      });
    } catch (err) {
      total.results.at(-1)!.unrecorded = describeError(err);
      total.stopped = { reason: describeError(err), notStarted };
      break;
    }
  }
  // Once a record could not be written, no further group is started (see archiveAudited).
  for (const group of total.stopped ? [] : groups) {
    const ids = byGroup.get(group)!;
    const source = openClusterSource(cluster, { refs: ids, artifacts: request.artifacts });
    const report = await archiveAudited(repo, picked(source, ids), { ...request, group });
    for (const key of ['workflows', 'archived', 'unchanged', 'incomplete', 'failed', 'bytes', 'newBytes'] as const)
      total[key] += report[key];
    total.storedBytes += report.storedBytes;
    total.problems.push(...report.problems);
    total.results.push(...report.results);
    notStarted -= ids.length;
    if (report.stopped) {
      total.stopped = { reason: report.stopped.reason, notStarted: notStarted + report.stopped.notStarted };
      break;
    }
  }
  return { ...total, skipped: skipped.length, skippedWorkflows: skipped, manifests: manifestList(total) };
}
