// Archives every workflow of a source into one timeline group; a workflow that fails is reported, the rest go on.
import { isSourceProblem, type SourceProblem, type WorkflowIdentity, type WorkflowSource } from '../bundle/bundle.ts';
import { silentProgress, type Progress } from '../cli/progress.ts';
import { mapLimit } from '../concurrency.ts';
import { describeError } from '../errors.ts';
import { archiveBundle, ArchiveSession, StalePackError, type ArchiveResult } from './archiver.ts';
import { forgetGroupIndex } from './chunk-index.ts';
import { checkGroup, DEFAULT_GROUP, type Repository } from './repository.ts';

export interface SourceArchiveOptions {
  group?: string;
  /** zstd level for this run's packs (default: the repository's). */
  compressionLevel?: number;
  /** Only workflows whose uid, name or namespace/name equals this. */
  workflow?: string;
  progress?: Progress;
  /** Called after each workflow (for audit records and logs); for a committed batch, up to 8 at once. */
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

/** Workflows whose packs are shared before their manifests are committed together. */
const BATCH_WORKFLOWS = 32;

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
  /** Adds a workflow's outcome to the report (in order); returns what onResult is called with. */
  const tally = (id: WorkflowIdentity, result: ArchiveResult | { error: string }) => {
    const ident = { uid: id.uid, namespace: id.namespace, name: id.name };
    report.workflows++;
    if ('error' in result) {
      report.failed++;
      report.results.push({ ...ident, error: result.error });
    } else {
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
    }
    return ident;
  };
  const record = async (id: WorkflowIdentity, result: ArchiveResult | { error: string }) => {
    const ident = tally(id, result); // not inside ?.(): with no onResult its arguments are never evaluated
    await opts.onResult?.(ident, result);
  };
  /** A committed batch: the report in order, the callbacks (audit records: one write each) a few at a time. */
  const recordAll = async (ids: WorkflowIdentity[], results: ArchiveResult[]) => {
    const idents = ids.map((id, i) => tally(id, results[i]!));
    await mapLimit(idents, 8, async (ident, i) => opts.onResult?.(ident, results[i]!));
  };

  let session = await ArchiveSession.open(repo, { group, compressionLevel: opts.compressionLevel });
  let batch: WorkflowIdentity[] = [];
  const commit = async () => {
    if (batch.length === 0) return;
    const ids = batch;
    batch = [];
    let results: ArchiveResult[];
    try {
      results = await session.commit();
    } catch (err) {
      // Nothing of this batch was committed; redo its workflows one by one (a stale pack reloads the index).
      session = await ArchiveSession.open(repo, { group, compressionLevel: opts.compressionLevel });
      if (!(err instanceof StalePackError)) {
        for (const id of ids) await record(id, { error: describeError(err) });
        return;
      }
      forgetGroupIndex(repo, group);
      for (const id of ids) {
        try {
          await record(
            id,
            await archiveBundle(repo, await source.load(id), { group, compressionLevel: opts.compressionLevel }),
          );
        } catch (e) {
          await record(id, { error: describeError(e) });
        }
      }
      session = await ArchiveSession.open(repo, { group, compressionLevel: opts.compressionLevel });
      return;
    }
    await recordAll(ids, results);
  };
  // Loading the next bundle (parsing its workflow, listing its files) overlaps archiving the current one.
  const load = (i: number) => {
    const p = i < ids.length ? source.load(ids[i]!) : undefined;
    p?.catch(() => {}); // awaited in turn below
    return p;
  };
  let next = load(0);
  for (const [i, id] of ids.entries()) {
    const loading = next!;
    next = load(i + 1);
    try {
      await session.add(await loading);
      batch.push(id);
    } catch (err) {
      await record(id, { error: describeError(err) });
    }
    if (batch.length >= BATCH_WORKFLOWS) await commit();
    progress.advance();
  }
  await commit();
  progress.done();
  return report;
}
