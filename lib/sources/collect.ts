// Collects bundles from a workflow source and summarises them (the `collect` step's core): counts, bytes, gaps.
import { isSourceProblem, type SourceProblem, type WorkflowIdentity, type WorkflowSource } from '../bundle/bundle.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { formatLocation, StrataError } from '../errors.ts';

export interface CollectedWorkflow extends WorkflowIdentity {
  entries: number;
  bytes: number;
  missing: number;
  /** First missing entries with their reasons (the full list is in the bundle). */
  missingSample: string[];
  notes: string[];
}

export interface CollectReport {
  source: string;
  workflows: number;
  entries: number;
  bytes: number;
  missing: number;
  /** Workflows with at least one missing entry: archivable, but never eligible for source deletion. */
  incomplete: number;
  problems: SourceProblem[];
  perWorkflow: CollectedWorkflow[];
}

export interface CollectOptions {
  /** Only workflows whose uid, name or namespace/name equals this. */
  workflow?: string;
  progress?: Progress;
}

function matches(id: WorkflowIdentity, selector: string | undefined): boolean {
  if (!selector) return true;
  return id.uid === selector || id.name === selector || `${id.namespace}/${id.name}` === selector;
}

/** Loads every (selected) workflow of the source; one that fails to load becomes a problem, the rest go on. */
export async function collectFromSource(source: WorkflowSource, options: CollectOptions = {}): Promise<CollectReport> {
  const progress = options.progress ?? silentProgress;
  const report: CollectReport = {
    source: source.description,
    workflows: 0,
    entries: 0,
    bytes: 0,
    missing: 0,
    incomplete: 0,
    problems: [],
    perWorkflow: [],
  };
  const ids: WorkflowIdentity[] = [];
  for await (const item of source.list()) {
    if (isSourceProblem(item)) report.problems.push(item);
    else if (matches(item, options.workflow)) ids.push(item);
  }
  progress.start(ids.length, 'collect');
  for (const id of ids) {
    try {
      const bundle = await source.load(id);
      const bytes = bundle.entries.reduce((sum, e) => sum + (e.size ?? 0), 0);
      report.perWorkflow.push({
        uid: bundle.uid,
        namespace: bundle.namespace,
        name: bundle.name,
        entries: bundle.entries.length,
        bytes,
        missing: bundle.missing.length,
        missingSample: bundle.missing.slice(0, 5).map((m) => `${m.path}: ${m.reason}`),
        notes: bundle.notes ?? [],
      });
      report.workflows++;
      report.entries += bundle.entries.length;
      report.bytes += bytes;
      report.missing += bundle.missing.length;
      if (bundle.missing.length) report.incomplete++;
    } catch (err) {
      const workflow = `${id.namespace}/${id.name}`;
      const location = err instanceof StrataError ? formatLocation(err.location) : '';
      report.problems.push({
        where: location || workflow,
        message: `workflow ${workflow} not collected: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
    progress.advance();
  }
  progress.done();
  return report;
}
