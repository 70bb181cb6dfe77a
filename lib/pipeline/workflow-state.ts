// Which workflows a sweep may touch: finished ones only (Succeeded/Failed/Error with finishedAt), never running or suspended.
import { FINISHED_PHASES } from '../bundle/completion.ts';

/** The parts of an Argo Workflow object the pipeline reads (the cluster adapter's objects fit this shape). */
export interface WorkflowObject {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    finalizers?: string[];
    [field: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

/**
 * Label set on a workflow once its manifest verified. Its value is the short form of the manifest id (a label value
 * is at most 63 characters; an id has 64), so `!strata.dev/archived` selects unarchived workflows on the API server.
 */
export const ARCHIVED_LABEL = 'strata.dev/archived';
/** Annotation set together with ARCHIVED_LABEL: the full manifest id, which finalize compares. */
export const MANIFEST_ANNOTATION = 'strata.dev/manifest';
/** Hex digits of the manifest id the label keeps, as Strata prints ids (`manifest 39e6a1b2c3d4…`). */
const SHORT_ID_LENGTH = 12;

/** The ARCHIVED_LABEL value for a manifest id: a valid label value that still names the manifest. */
export function archivedLabelValue(manifestId: string): string {
  return manifestId.slice(0, SHORT_ID_LENGTH);
}

/** Labels and annotations that mark a workflow archived by this manifest (one merge patch sets both). */
export function archivedMarks(manifestId: string): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  return {
    labels: { [ARCHIVED_LABEL]: archivedLabelValue(manifestId) },
    annotations: { [MANIFEST_ANNOTATION]: manifestId },
  };
}

/**
 * The manifest a workflow is marked archived by: the full id from the annotation, else whatever the label holds (a
 * short id, or a full one written before the annotation existed); undefined when it is not labelled archived.
 */
export function archivedBy(wf: WorkflowObject): string | undefined {
  const label = wf.metadata.labels?.[ARCHIVED_LABEL];
  if (!label) return undefined;
  return wf.metadata.annotations?.[MANIFEST_ANNOTATION] || label;
}

/** True when the workflow carries both marks of exactly this manifest. */
export function isMarkedArchivedBy(wf: WorkflowObject, manifestId: string): boolean {
  return (
    wf.metadata.labels?.[ARCHIVED_LABEL] === archivedLabelValue(manifestId) &&
    wf.metadata.annotations?.[MANIFEST_ANNOTATION] === manifestId
  );
}
/** Label set when the sweep gave up on a workflow for a reason that will not change (kept, never deleted). */
export const SKIP_LABEL = 'strata.dev/skip';

export type WorkflowState = { finished: true; finishedAt: string; phase: string } | { finished: false; reason: string };

function isSuspended(wf: WorkflowObject): boolean {
  if (wf.spec?.suspend === true) return true;
  const nodes = wf.status?.nodes;
  if (typeof nodes !== 'object' || nodes === null) return false;
  return Object.values(nodes as Record<string, { type?: string; phase?: string }>).some(
    (n) => n?.type === 'Suspend' && n.phase === 'Running',
  );
}

/** Finished means a final phase AND a parseable finishedAt; anything else (no status, running, suspended) is left alone. */
export function workflowState(wf: WorkflowObject): WorkflowState {
  const status = wf.status;
  if (!status || typeof status !== 'object' || Object.keys(status).length === 0)
    return { finished: false, reason: 'no status' };
  const phase = typeof status.phase === 'string' ? status.phase : '';
  if (!phase) return { finished: false, reason: 'no phase in status' };
  if (isSuspended(wf)) return { finished: false, reason: `suspended (phase ${phase})` };
  if (!FINISHED_PHASES.has(phase)) return { finished: false, reason: `phase ${phase}` };
  const finishedAt = status.finishedAt;
  if (typeof finishedAt !== 'string' || Number.isNaN(Date.parse(finishedAt))) {
    return { finished: false, reason: `phase ${phase} but no finishedAt` };
  }
  return { finished: true, finishedAt: new Date(finishedAt).toISOString(), phase };
}

/** Why a sweep must not touch this workflow now, or undefined when it may. */
export function skipReason(wf: WorkflowObject): string | undefined {
  if (!wf.metadata.uid) return 'no metadata.uid';
  if (wf.metadata.deletionTimestamp) return 'being deleted';
  const archived = archivedBy(wf);
  if (archived) return `already archived (manifest ${archived})`;
  const skip = wf.metadata.labels?.[SKIP_LABEL];
  if (skip) return `labelled ${SKIP_LABEL}=${skip}`;
  const state = workflowState(wf);
  return state.finished ? undefined : `not finished: ${state.reason}`;
}

export function workflowRef(wf: WorkflowObject): string {
  return `${wf.metadata.namespace ?? 'default'}/${wf.metadata.name}`;
}
