// Runs the one archiver (lib/archive/batch.ts) for a step: one audit record per workflow, failures logged, one report.
import {
  archiveSource,
  type RetainUntil,
  type Repository,
  type SourceArchiveOptions,
  type SourceArchiveReport,
} from '../archive/index.ts';
import type { AuditLog } from '../audit/audit.ts';
import type { WorkflowSource } from '../bundle/bundle.ts';

export interface AuditedArchiveOptions {
  /** Timeline group every workflow of this run is packed into. */
  group: string;
  audit: AuditLog;
  /** Who archives, for the audit record: `strata/archive`, `strata/watch`. */
  actor: string;
  compressionLevel?: number;
  /** Only workflows whose uid, name or namespace/name equals this. */
  workflow?: string;
  progress?: SourceArchiveOptions['progress'];
  /** Compliance floors locked with each archive (complianceRetention in policy-verdict.ts). */
  retainUntil?: RetainUntil;
  log?(line: string): void;
}

/**
 * Archives every workflow of the source into one group. A workflow whose archive fails is audited `failed` and
 * left where it is. An audit record that cannot be written stops the run (`stopped`: no further workflow is
 * started) and marks the workflow `unrecorded`: an operation that is not recorded did not happen, so it is left
 * out of the manifests finalize deletes by; its manifest stays, and the next run re-archives it as unchanged.
 */
export async function archiveAudited(
  repo: Repository,
  source: WorkflowSource,
  opts: AuditedArchiveOptions,
): Promise<SourceArchiveReport> {
  return archiveSource(repo, source, {
    group: opts.group,
    workflow: opts.workflow,
    compressionLevel: opts.compressionLevel,
    progress: opts.progress,
    retainUntil: opts.retainUntil,
    onResult: async (id, result) => {
      const failed = 'error' in result;
      const workflow = `${id.namespace}/${id.name}`;
      if (failed) opts.log?.(`failed: ${workflow}: ${result.error}`);
      await opts.audit.record({
        action: 'archive',
        actor: opts.actor,
        subject: id.uid,
        outcome: failed ? 'failed' : 'ok',
        ...(failed && { reason: result.error }),
        ...(!failed && result.incomplete && { reason: 'incomplete: some logs or artifacts are missing' }),
        details: failed
          ? { namespace: id.namespace, name: id.name, group: opts.group, source: source.description }
          : {
              namespace: id.namespace,
              name: id.name,
              group: opts.group,
              source: source.description,
              manifestId: result.manifestId,
              created: result.created,
              incomplete: result.incomplete,
              ...result.stats,
            },
      });
    },
  });
}

/** Manifest ids of a report whose archiving is on record, comma-separated (what finalize's `--manifest` takes). */
export function manifestList(report: Pick<SourceArchiveReport, 'results'>): string {
  return report.results.flatMap((r) => (r.manifestId && r.unrecorded === undefined ? [r.manifestId] : [])).join(',');
}
