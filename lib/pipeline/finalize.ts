// Finalize rules: label a workflow archived only after its manifest verified; delete only when policy says so and nothing is in doubt.
import type { ManifestVerification } from '../archive/checker.ts';
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
}

export interface FinalizePlan {
  label: boolean;
  delete: boolean;
  /** True when finalize must fail: nothing was done because something is wrong. */
  refused: boolean;
  reasons: string[];
}

export function planFinalize(f: FinalizeFacts): FinalizePlan {
  const m = f.manifest;
  const refuse = (reason: string): FinalizePlan => ({ label: false, delete: false, refused: true, reasons: [reason] });
  if (!m.exists) return refuse(`manifest ${m.id} does not exist`);
  if (!m.verified) return refuse(`manifest ${m.id} did not verify: ${m.problems.join('; ') || 'unknown problem'}`);
  const wf = f.workflow;
  if (!wf) return { label: false, delete: false, refused: false, reasons: ['workflow is no longer in the cluster'] };
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
  return {
    label: !isMarkedArchivedBy(wf, m.id),
    delete: keep.length === 0,
    refused: false,
    reasons: keep.length ? keep : ['verified, complete, and policy deletes the source'],
  };
}
