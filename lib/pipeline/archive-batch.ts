// Archives a batch of workflows from a source in-process (collect streams straight into compress: no temp copy).
import { archiveBundle, loadGroupIndex, type ChunkIndex, type Repository } from '../archive/index.ts';
import type { AuditLog } from '../audit/audit.ts';
import { isSourceProblem, type WorkflowSource } from '../bundle/bundle.ts';
import { silentProgress, type Progress } from '../cli/progress.ts';
import { describeError } from '../errors.ts';

export interface BatchOptions {
  /** Timeline group for every workflow of the batch (assess puts one group in a batch). */
  group: string;
  audit: AuditLog;
  actor: string;
  progress?: Progress;
}

export interface ArchivedWorkflow {
  workflow: string;
  uid: string;
  manifestId: string;
  created: boolean;
  incomplete: boolean;
  missing: number;
  bytes: number;
  storedBytes: number;
}

export interface BatchResult {
  archived: ArchivedWorkflow[];
  /** `gone`: deleted or recreated since assess (nothing to archive, not an error); `error`: reading or writing failed. */
  failed: { workflow: string; reason: string; kind: 'gone' | 'error' }[];
  counts: { archived: number; incomplete: number; failed: number; gone: number; bytes: number; storedBytes: number };
  /** Manifest ids, comma-separated, for the finalize step (`--manifest`). */
  manifests: string;
}

/** One failure never stops the batch: the workflow is reported failed and stays in the cluster untouched. */
export async function archiveWorkflows(
  source: WorkflowSource,
  repo: Repository,
  opts: BatchOptions,
): Promise<BatchResult> {
  const progress = opts.progress ?? silentProgress;
  const archived: ArchivedWorkflow[] = [];
  const failed: BatchResult['failed'] = [];
  let index: ChunkIndex | undefined;
  for await (const item of source.list()) {
    if (isSourceProblem(item)) {
      failed.push({ workflow: item.where, reason: item.message, kind: 'gone' });
      continue;
    }
    const ref = `${item.namespace}/${item.name}`;
    try {
      index ??= await loadGroupIndex(repo, opts.group);
      const bundle = await source.load(item);
      const result = await archiveBundle(repo, bundle, { group: opts.group, index, progress });
      const missing = bundle.missing.length;
      archived.push({
        workflow: ref,
        uid: item.uid,
        manifestId: result.manifestId,
        created: result.created,
        incomplete: result.incomplete,
        missing,
        bytes: result.stats.bytes,
        storedBytes: result.stats.storedBytes,
      });
      await opts.audit.record({
        action: 'archive',
        actor: opts.actor,
        subject: item.uid,
        outcome: 'ok',
        ...(result.incomplete ? { reason: `incomplete: ${missing} missing entries` } : {}),
        details: { workflow: ref, manifest: result.manifestId, group: opts.group, source: source.description },
      });
    } catch (err) {
      const reason = describeError(err);
      failed.push({ workflow: ref, reason, kind: 'error' });
      await opts.audit.record({
        action: 'archive',
        actor: opts.actor,
        subject: item.uid,
        outcome: 'failed',
        reason,
        details: { workflow: ref },
      });
    }
  }
  const sum = (f: (a: ArchivedWorkflow) => number) => archived.reduce((n, a) => n + f(a), 0);
  return {
    archived,
    failed,
    counts: {
      archived: archived.length,
      incomplete: archived.filter((a) => a.incomplete).length,
      failed: failed.filter((f) => f.kind === 'error').length,
      gone: failed.filter((f) => f.kind === 'gone').length,
      bytes: sum((a) => a.bytes),
      storedBytes: sum((a) => a.storedBytes),
    },
    manifests: archived.map((a) => a.manifestId).join(','),
  };
}
