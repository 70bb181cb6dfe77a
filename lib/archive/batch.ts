// Archives every workflow of a source into one timeline group; a workflow that fails is reported, the rest go on.
import { isSourceProblem, type SourceProblem, type WorkflowIdentity, type WorkflowSource } from '../bundle/bundle.ts';
import { silentProgress, type Progress } from '../cli/progress.ts';
import { describeError } from '../errors.ts';
import { archiveBundle, type ArchiveResult } from './archiver.ts';
import { checkGroup, DEFAULT_GROUP, type Repository } from './repository.ts';

export interface SourceArchiveOptions {
  group?: string;
  /** Only workflows whose uid, name or namespace/name equals this. */
  workflow?: string;
  progress?: Progress;
  /** Called after each workflow (for audit records and logs). */
  onResult?: (id: WorkflowIdentity, result: ArchiveResult | { error: string }) => Promise<void> | void;
}

export interface SourceArchiveReport {
  source: string;
  group: string;
  workflows: number;
  archived: number;
  unchanged: number;
  incomplete: number;
  failed: number;
  bytes: number;
  newBytes: number;
  storedBytes: number;
  problems: SourceProblem[];
  results: Array<WorkflowIdentity & { manifestId?: string; created?: boolean; incomplete?: boolean; error?: string }>;
}

function matches(id: WorkflowIdentity, selector: string | undefined): boolean {
  return !selector || id.uid === selector || id.name === selector || `${id.namespace}/${id.name}` === selector;
}

export async function archiveSource(
  repo: Repository,
  source: WorkflowSource,
  opts: SourceArchiveOptions = {},
): Promise<SourceArchiveReport> {
  const group = checkGroup(opts.group ?? DEFAULT_GROUP);
  const progress = opts.progress ?? silentProgress;
  const report: SourceArchiveReport = {
    source: source.description,
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
  const ids: WorkflowIdentity[] = [];
  for await (const item of source.list()) {
    if (isSourceProblem(item)) report.problems.push(item);
    else if (matches(item, opts.workflow)) ids.push(item);
  }
  progress.start(ids.length, `archive into ${group}`);
  for (const id of ids) {
    report.workflows++;
    const ident = { uid: id.uid, namespace: id.namespace, name: id.name };
    try {
      const bundle = await source.load(id);
      const result = await archiveBundle(repo, bundle, { group });
      if (result.created) report.archived++;
      else report.unchanged++;
      if (result.incomplete) report.incomplete++;
      report.bytes += result.stats.bytes;
      report.newBytes += result.stats.newBytes;
      report.storedBytes += result.stats.storedBytes;
      report.results.push({
        ...ident,
        manifestId: result.manifestId,
        created: result.created,
        incomplete: result.incomplete,
      });
      await opts.onResult?.(ident, result);
    } catch (err) {
      report.failed++;
      const error = describeError(err);
      report.results.push({ ...ident, error });
      await opts.onResult?.(ident, { error });
    }
    progress.advance();
  }
  progress.done();
  return report;
}
