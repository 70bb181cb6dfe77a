// Finalize rules: label a workflow archived only after its manifest verified; delete only when policy says so and nothing is in doubt.
import type { ManifestVerification } from '../archive/checker.ts';
import type { OriginalFact, OriginalsFacts } from './artifact-originals.ts';
import {
  ARCHIVED_LABEL,
  archivedBy,
  archivedLabelValue,
  isMarkedArchivedBy,
  workflowState,
  type WorkflowObject,
} from './workflow-state.ts';

export interface FinalizeFacts {
  manifest: ManifestVerification;
  /** The workflow as the cluster has it now (undefined: already gone). */
  workflow: WorkflowObject | undefined;
  /** Policy allows deleting the source after archive (from the retention decision); undefined when policy could not decide. */
  deleteSourceAfterArchive: boolean | undefined;
  /** Why policy could not decide, if it could not. */
  policyError?: string;
  /** A legal hold covers the workflow. */
  held: boolean;
  /** The originals in Argo's artifact repository the manifest lists, and what the repository holds now. */
  originals?: OriginalsFacts;
}

/** One original in the artifact repository. */
export interface OriginalRef {
  path: string;
  bucket?: string;
  key: string;
}

export interface FinalizePlan {
  label: boolean;
  delete: boolean;
  /** Originals to remove from the artifact repository (before the workflow), and those left there with why. */
  originals: { delete: OriginalRef[]; keep: (OriginalRef & { reason: string })[] };
  /** True when finalize must fail: nothing was done because something is wrong. */
  refused: boolean;
  reasons: string[];
}

export function planFinalize(f: FinalizeFacts): FinalizePlan {
  const m = f.manifest;
  const refuse = (reason: string): FinalizePlan => ({
    label: false,
    delete: false,
    originals: NO_ORIGINALS,
    refused: true,
    reasons: [reason],
  });
  if (!m.exists) return refuse(`manifest ${m.id} does not exist`);
  if (!m.verified) return refuse(`manifest ${m.id} did not verify: ${m.problems.join('; ') || 'unknown problem'}`);
  const wf = f.workflow;
  if (!wf) {
    // Its repository settings are gone with it, so nothing says where its originals may be deleted: Strata deletes
    // originals only on the run that deletes the workflow, before it (docs/runbooks/pipeline.md).
    return {
      label: false,
      delete: false,
      originals: NO_ORIGINALS,
      refused: false,
      reasons: ['workflow is no longer in the cluster'],
    };
  }
  if (!m.workflowUid || m.workflowUid !== wf.metadata.uid) {
    return refuse(
      `manifest ${m.id} is for uid ${m.workflowUid ?? '(none)'}, the cluster has uid ${wf.metadata.uid ?? '(none)'}`,
    );
  }
  const state = workflowState(wf);
  if (!state.finished) return refuse(`workflow is not finished now (${state.reason}); it may have been retried`);
  if (m.finishedAt && new Date(m.finishedAt).toISOString() !== state.finishedAt) {
    return refuse(
      `workflow finished again at ${state.finishedAt} after the archived run (${m.finishedAt}); archive it again`,
    );
  }
  const labelled = archivedBy(wf);
  // A label without the annotation that holds the full id is taken as ours only when it is our short form.
  const ours = labelled === m.id || wf.metadata.labels?.[ARCHIVED_LABEL] === archivedLabelValue(m.id);
  if (labelled && !ours) {
    return refuse(`workflow is already labelled archived by manifest ${labelled}`);
  }
  const keep: string[] = [];
  if (f.policyError) keep.push(`policy could not decide: ${f.policyError}`);
  else if (f.deleteSourceAfterArchive !== true) keep.push('policy keeps the workflow in the cluster');
  if (m.missing > 0) keep.push(`archive is incomplete (${m.missing} missing entries)`);
  if (f.held) keep.push('a legal hold covers the workflow');
  if (wf.metadata.deletionTimestamp) keep.push('deletion already in progress');
  const originals = planOriginals(f.originals, keep.length === 0 ? undefined : 'the workflow is kept');
  // An original that could not be looked at keeps the workflow too: the run that deletes the workflow is the
  // last one that knows where its originals are, so it must be the run that settles them.
  if (keep.length === 0 && originals.doubt)
    keep.push(`${originals.doubt}: the workflow is kept so a re-run can finish`);
  const reasons = keep.length ? keep : ['verified, complete, and policy deletes the source'];
  return {
    label: !isMarkedArchivedBy(wf, m.id),
    delete: keep.length === 0,
    originals: originals.plan,
    refused: false,
    reasons,
  };
}

const NO_ORIGINALS: FinalizePlan['originals'] = { delete: [], keep: [] };

const ref = (o: OriginalFact): OriginalRef => ({ path: o.path, ...(o.bucket ? { bucket: o.bucket } : {}), key: o.key });

/**
 * Which originals go: only where the workflow goes (policy deletes the source, nothing in doubt), only keys inside
 * the trusted repository, and only objects whose size and SHA-256 match the verified archive's copy. `doubt` says
 * why nothing may be settled now (an original that could not be read), so the workflow waits for a re-run.
 */
function planOriginals(
  facts: OriginalsFacts | undefined,
  workflowKept: string | undefined,
): { plan: FinalizePlan['originals']; doubt?: string } {
  if (!facts || facts.objects.length === 0) return { plan: NO_ORIGINALS };
  const keepAll = (reason: string) => facts.objects.map((o) => ({ ...ref(o), reason }));
  if (workflowKept) return { plan: { delete: [], keep: keepAll(workflowKept) } };
  if (facts.unavailable) {
    return {
      plan: { delete: [], keep: keepAll(`repository not readable now: ${facts.unavailable}`) },
      doubt: `the originals' repository could not be read (${facts.unavailable})`,
    };
  }
  if (facts.untouchable) return { plan: { delete: [], keep: keepAll(facts.untouchable) } };
  const plan: FinalizePlan['originals'] = { delete: [], keep: [] };
  const unreadable: string[] = [];
  for (const o of facts.objects) {
    const now = o.now;
    if (o.outside) plan.keep.push({ ...ref(o), reason: o.outside });
    else if (!now) plan.keep.push({ ...ref(o), reason: 'not looked at' });
    else if (now.state === 'absent')
      continue; // already gone: nothing to do, nothing to report
    else if (now.state === 'unreadable') {
      unreadable.push(o.key);
      plan.keep.push({ ...ref(o), reason: `unreadable: ${now.error}` });
    } else if (now.size !== o.size || now.sha256 !== o.sha256) {
      plan.keep.push({
        ...ref(o),
        reason:
          now.size !== o.size
            ? `differs from the archived copy (${now.size} bytes, archived ${o.size})`
            : `differs from the archived copy (sha256 ${now.sha256.slice(0, 12)}…, archived ${o.sha256.slice(0, 12)}…)`,
      });
    } else plan.delete.push(ref(o));
  }
  if (unreadable.length) {
    return {
      plan: {
        delete: [],
        keep: [...plan.keep, ...plan.delete.map((o) => ({ ...o, reason: 'waits for the unreadable' }))],
      },
      doubt: `${unreadable.length} original(s) could not be read (${unreadable.join(', ')})`,
    };
  }
  return { plan };
}
