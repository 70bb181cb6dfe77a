// Assess: from the workflows a selection lists, pick the finished ones policy wants archived now, in batches.
import { makeBatches, type Batch, type SelectedWorkflow } from './batches.ts';
import { advanceWatermark, isPastWatermark, type SweepItem, type Watermark } from './watermark.ts';
import {
  ARCHIVED_LABEL,
  SKIP_LABEL,
  skipReason,
  workflowRef,
  workflowState,
  type WorkflowObject,
} from './workflow-state.ts';

/** What the retention policy says about one finished workflow (adapted from the policy engine by the step). */
export interface ArchiveVerdict {
  /** Archive now. False: not yet (the workflow is seen again next sweep) or never (see `final`). */
  archive: boolean;
  reason: string;
  group: string;
  deleteSourceAfterArchive: boolean;
  /** When archive is false: true if this will not change (e.g. policy says keep in cluster only). */
  final?: boolean;
  /**
   * When policy allows archiving: in the future when archive is false (absent when the policy failed closed or
   * never archives); when archive is true, the time it became due (how long it has waited).
   */
  dueAt?: Date;
  /** The policy could not decide (invalid set, CEL error): nothing is archived now; ask again later. */
  policyError?: boolean;
}

export type DecideArchive = (wf: WorkflowObject, now: Date) => ArchiveVerdict;

export interface AssessOptions {
  decide: DecideArchive;
  now: Date;
  batchSize: number;
  watermark?: Watermark;
  /** Stop selecting after this many (bounds one sweep); the rest stay behind the watermark. */
  maxWorkflows?: number;
}

export interface AssessedWorkflow {
  workflow: string;
  uid?: string;
  reason: string;
}

export interface AssessResult {
  batches: Batch[];
  selected: (SelectedWorkflow & { deleteSourceAfterArchive: boolean; finishedAt: string })[];
  skipped: AssessedWorkflow[];
  deferred: AssessedWorkflow[];
  counts: {
    listed: number;
    behindWatermark: number;
    selected: number;
    skipped: number;
    deferred: number;
    batches: number;
    /** Finished workflows policy wants archived now (selected, or deferred by the sweep limit or a policy error). */
    dueUnarchived: number;
    /** How long the one of them due the longest has waited (whole seconds; 0 when none): the sweep's lag. */
    oldestUnarchivedAgeSeconds: number;
  };
  watermark: Watermark | undefined;
}

export async function assessWorkflows(
  workflows: AsyncIterable<WorkflowObject>,
  opts: AssessOptions,
): Promise<AssessResult> {
  const selected: AssessResult['selected'] = [];
  const skipped: AssessedWorkflow[] = [];
  const deferred: AssessedWorkflow[] = [];
  const sweep: SweepItem[] = [];
  let listed = 0;
  let behind = 0;
  let dueUnarchived = 0;
  let oldestDue: number | undefined;
  /** A workflow due for archiving and not archived yet, due since `at` (ms). */
  const due = (at: number) => {
    dueUnarchived++;
    oldestDue = Math.min(oldestDue ?? at, at);
  };
  const finishedMs = (finishedAt: string) => new Date(finishedAt).getTime();
  for await (const wf of workflows) {
    listed++;
    const ref = workflowRef(wf);
    const uid = wf.metadata.uid;
    const state = workflowState(wf);
    const skip = skipReason(wf);
    if (skip) {
      skipped.push({ workflow: ref, uid, reason: skip });
      // Only a workflow already labelled archived (or skipped for good) moves the watermark: one selected
      // now is still in flight, and must be listed again if its archive fails.
      if (state.finished && uid && (wf.metadata.labels?.[ARCHIVED_LABEL] || wf.metadata.labels?.[SKIP_LABEL])) {
        sweep.push({ uid, finishedAt: state.finishedAt, handled: true });
      }
      continue;
    }
    if (!state.finished || !uid) continue; // skipReason covered these
    if (!isPastWatermark(opts.watermark, state.finishedAt, uid)) {
      behind++;
      continue;
    }
    let verdict: ArchiveVerdict;
    try {
      verdict = opts.decide(wf, opts.now);
    } catch (err) {
      // Fail closed: a policy that cannot decide keeps the workflow where it is and holds the watermark.
      deferred.push({ workflow: ref, uid, reason: `policy error: ${(err as Error).message}` });
      sweep.push({ uid, finishedAt: state.finishedAt, handled: false });
      due(finishedMs(state.finishedAt)); // stuck until the policy is fixed: counted as waiting since it finished
      continue;
    }
    if (verdict.archive) due(verdict.dueAt?.getTime() ?? finishedMs(state.finishedAt));
    if (verdict.archive && opts.maxWorkflows !== undefined && selected.length >= opts.maxWorkflows) {
      deferred.push({ workflow: ref, uid, reason: 'sweep limit reached' });
      sweep.push({ uid, finishedAt: state.finishedAt, handled: false });
      continue;
    }
    if (!verdict.archive) {
      (verdict.final ? skipped : deferred).push({ workflow: ref, uid, reason: verdict.reason });
      // A final "never archive" is handled (a policy change needs --reset-watermark); "not yet" holds the watermark.
      sweep.push({ uid, finishedAt: state.finishedAt, handled: Boolean(verdict.final) });
      continue;
    }
    selected.push({
      namespace: wf.metadata.namespace ?? 'default',
      name: wf.metadata.name,
      uid,
      group: verdict.group,
      deleteSourceAfterArchive: verdict.deleteSourceAfterArchive,
      finishedAt: state.finishedAt,
    });
    sweep.push({ uid, finishedAt: state.finishedAt, handled: false });
  }
  const batches = makeBatches(selected, opts.batchSize);
  return {
    batches,
    selected,
    skipped,
    deferred,
    counts: {
      listed,
      behindWatermark: behind,
      selected: selected.length,
      skipped: skipped.length,
      deferred: deferred.length,
      batches: batches.length,
      dueUnarchived,
      oldestUnarchivedAgeSeconds:
        oldestDue === undefined ? 0 : Math.max(0, Math.floor((opts.now.getTime() - oldestDue) / 1000)),
    },
    watermark: advanceWatermark(opts.watermark, sweep),
  };
}
