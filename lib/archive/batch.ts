// Archives every workflow of a source into one timeline group; a workflow that fails is reported, the rest go on.
import { isSourceProblem, type SourceProblem, type WorkflowIdentity, type WorkflowSource } from '../bundle/bundle.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { mapLimit } from '../concurrency.ts';
import { describeError } from '../errors.ts';
import { archiveBundle, ArchiveSession, StalePackError, type ArchiveResult, type RetainUntil } from './archiver.ts';
import { forgetGroupIndex } from './chunk-index.ts';
import { EncryptedStore } from '../crypto/encrypted-store.ts';
import { ENCRYPTED_FORMAT_VERSION } from './pack-format.ts';
import { checkGroup, DEFAULT_GROUP, tenantRepository, type Repository } from './repository.ts';

export interface SourceArchiveOptions {
  group?: string;
  /** zstd level for this run's packs (default: the repository's). */
  compressionLevel?: number;
  /** Only workflows whose uid, name or namespace/name equals this. */
  workflow?: string;
  progress?: Progress;
  /** Compliance floors, locked with the archive (see ArchiveOptions.retainUntil). */
  retainUntil?: RetainUntil;
  /**
   * Called after each workflow (for audit records and logs); for a committed batch, up to 8 at once. If it throws
   * (its audit record could not be written), no further workflow is started: see `stopped` in the report.
   */
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
  results: Array<
    WorkflowIdentity & {
      manifestId?: string;
      created?: boolean;
      incomplete?: boolean;
      error?: string;
      /** onResult failed for it (its audit record was not written): why. Its manifest, if any, stays. */
      unrecorded?: string;
    }
  >;
  /** The run stopped early because onResult failed: why, and how many selected workflows were never started. */
  stopped?: { reason: string; notStarted: number };
}

/**
 * Workflows whose packs are shared before their manifests are committed together, and whose alike entries are
 * packed next to each other: the more, the more alike logs one frame sees (pods corpus, frame codec: 32 → 0.1233,
 * 64 → 0.1226, 100 → 0.1215, 200 → 0.1212 of the original). A batch holds only its bundles' metadata.
 */
export const BATCH_WORKFLOWS = 100;

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
  /** The first onResult failure: an operation whose record cannot be written is not started. */
  let stop: { error: unknown } | undefined;
  /** Adds a workflow's outcome to the report (in order); returns what onResult is called with and its result row. */
  const tally = (id: WorkflowIdentity, result: ArchiveResult | { error: string }) => {
    const ident = { uid: id.uid, namespace: id.namespace, name: id.name };
    report.workflows++;
    if ('error' in result) {
      report.failed++;
      report.results.push({ ...ident, error: result.error });
      return { ident, row: report.results.at(-1)! };
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
      return { ident, row: report.results.at(-1)! };
    }
  };
  type Outcome = ArchiveResult | { error: string };
  /** A workflow of the batch: with its error when its bundle could not be added, else waiting for the commit. */
  type Queued = { id: WorkflowIdentity; error?: string };

  /** Archives `ids` into `repo` (one tenant's view of it when the repository is encrypted). */
  const run = async (repo: Repository, ids: WorkflowIdentity[]): Promise<void> => {
    /** Commits a batch's session, then reports every workflow of it in order (callbacks 8 at a time). */
    const commitBatch = async (session: ArchiveSession, items: Queued[]): Promise<void> => {
      const added = items.filter((q) => q.error === undefined);
      const outcomes = new Map<WorkflowIdentity, Outcome>();
      try {
        const committed = added.length > 0 ? await session.commit() : [];
        added.forEach((q, i) => outcomes.set(q.id, committed[i]!));
      } catch (err) {
        // Nothing of this batch was committed. A pack gc condemned meanwhile: reload the index, redo one by one.
        if (err instanceof StalePackError) {
          forgetGroupIndex(repo, group);
          for (const q of added) {
            try {
              const bundle = await source.load(q.id);
              outcomes.set(
                q.id,
                await archiveBundle(repo, bundle, {
                  group,
                  compressionLevel: opts.compressionLevel,
                  retainUntil: opts.retainUntil,
                }),
              );
            } catch (e) {
              outcomes.set(q.id, { error: describeError(e) });
            }
          }
        } else for (const q of added) outcomes.set(q.id, { error: describeError(err) });
      }
      const ordered = items.map((q): [WorkflowIdentity, Outcome] => [
        q.id,
        q.error !== undefined ? { error: q.error } : outcomes.get(q.id)!,
      ]);
      const tallied = ordered.map(([id, outcome]) => tally(id, outcome));
      await mapLimit(tallied, 8, async ({ ident, row }, i) => {
        try {
          await opts.onResult?.(ident, ordered[i]![1]);
        } catch (error) {
          row.unrecorded = describeError(error);
          stop ??= { error };
        }
      });
    };

    const open = () =>
      ArchiveSession.open(repo, { group, compressionLevel: opts.compressionLevel, retainUntil: opts.retainUntil });
    let session = await open();
    let batch: Queued[] = [];
    let packing: Promise<void> = Promise.resolve();
    let committing: Promise<void> = Promise.resolve();
    /** Chunks and packs a batch; when that fails, every workflow in it failed (each could be archived alone). */
    const packBatch = async (full: ArchiveSession, items: Queued[], added: number) => {
      try {
        await full.pack();
      } catch (err) {
        for (const q of items) q.error ??= describeError(err);
      }
      for (let i = 0; i < added; i++) progress.advance();
    };
    /**
     * Packs the batch while the next one loads (parsing workflows and listing files would otherwise leave the
     * encoder threads idle: ~10 % of a 200-workflow run), then commits it while later batches are chunked (its
     * packs' uploads, the manifests and audit records are mostly waiting on the store). One pack and one commit at
     * a time, in order: a batch's manifests are written only after every earlier batch's, and memory holds at most
     * two batches' open packs and one more batch's bundles.
     */
    const flushBatch = async () => {
      if (batch.length === 0) return;
      const items = batch;
      const full = session;
      batch = [];
      session = await open();
      const added = items.filter((q) => q.error === undefined).length;
      const earlierPack = packing;
      const packed = earlierPack.then(() => packBatch(full, items, added));
      packing = packed;
      const earlierCommit = committing;
      committing = (async () => {
        await packed;
        await earlierCommit;
        // Its packs stay unreferenced (garbage for gc); its workflows count as not started.
        if (stop) return;
        await commitBatch(full, items);
      })();
      committing.catch(() => {}); // awaited at the next flush or at the end
      await earlierPack;
    };
    // Loading the next bundle (parsing its workflow, listing its files) overlaps queueing the current one.
    const load = (i: number) => {
      const p = i < ids.length ? source.load(ids[i]!) : undefined;
      p?.catch(() => {}); // awaited in turn below
      return p;
    };
    let next = load(0);
    for (const [i, id] of ids.entries()) {
      if (stop) break;
      const loading = next!;
      next = load(i + 1);
      try {
        session.add(await loading);
        batch.push({ id });
      } catch (err) {
        batch.push({ id, error: describeError(err) });
        progress.advance();
      }
      if (batch.length >= BATCH_WORKFLOWS) await flushBatch();
    }
    await flushBatch();
    await committing;
  };
  for (const [tenant, tenantIds] of byTenant(repo, ids)) {
    if (stop) break;
    await run(tenant === undefined ? repo : await tenantRepository(repo, tenant), tenantIds);
  }
  progress.done();
  if (stop) report.stopped = { reason: describeError(stop.error), notStarted: ids.length - report.workflows };
  return report;
}

/**
 * Workflows by the tenant whose key seals their packs (encrypted repositories: packs never mix tenants, so erasing
 * one leaves the others readable); one group of all of them, tenant undefined, otherwise. Order is kept within each.
 */
function byTenant(repo: Repository, ids: WorkflowIdentity[]): Map<string | undefined, WorkflowIdentity[]> {
  const out = new Map<string | undefined, WorkflowIdentity[]>();
  const store = repo.store;
  // Format 2 under encryption keeps SHA-256 chunk ids: tenants' packs would dedup into each other, so one key seals all.
  const perTenant = store instanceof EncryptedStore && repo.config.version === ENCRYPTED_FORMAT_VERSION;
  for (const id of ids) {
    const tenant = perTenant ? store.tenantOfNamespace(id.namespace) : undefined;
    const list = out.get(tenant) ?? [];
    list.push(id);
    out.set(tenant, list);
  }
  return out;
}
