// Whether a workflow has finished: an archive of one that has not is incomplete, whatever source it came from.
import type { MissingEntry } from './bundle.ts';

/** Argo's final workflow phases; any other (Pending, Running, none) means the workflow may still change. */
export const FINISHED_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Error']);

/** Path of the missing entry that stands for an unfinished workflow's final state. */
export const UNFINISHED_PATH = 'status';

/**
 * The missing entry that makes the archive of an unfinished workflow incomplete (so it is never taken as the
 * whole story, nor its source deleted on its strength), or undefined when the workflow has finished.
 */
export function unfinishedEntry(workflow: Record<string, unknown>): MissingEntry | undefined {
  const status = workflow.status;
  const phase = typeof status === 'object' && status !== null ? (status as Record<string, unknown>).phase : undefined;
  if (typeof phase === 'string' && FINISHED_PHASES.has(phase)) return undefined;
  const was = typeof phase === 'string' && phase !== '' ? `status.phase ${phase}` : 'no status.phase';
  return {
    path: UNFINISHED_PATH,
    kind: 'workflow',
    reason: `workflow has not finished (${was}): its final status, and logs and artifacts written after this copy, are not in it`,
  };
}
