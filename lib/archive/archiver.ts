// Archives one workflow bundle: chunk every entry, store new chunks in the group's packs, then commit the manifest.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { AbsentEntryError, type BundleEntry, type MissingEntry, type WorkflowBundle } from '../bundle/bundle.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { AlreadyExistsError, IntegrityError } from '../errors.ts';
import { Chunker } from './chunker.ts';
import { CONTENT_HASH_IDS } from './chunk-ids.ts';
import { forgetGroupIndex, groupIndex, type ChunkIndex } from './chunk-index.ts';
import { encodeManifest, type Manifest, type ManifestEntry } from './manifest.ts';
import { PackWriter, type PackRef } from './pack-writer.ts';
import { mapLimit } from '../concurrency.ts';
import { readAhead } from './read-ahead.ts';
import { similarityOrder } from './entry-order.ts';
import { writeRefs } from './workflow-refs.ts';
import { lockUntil } from '../store/compliance-lock.ts';
import { packKeysOf } from './retention-lock.ts';
import {
  checkGroup,
  chunkIdsOf,
  DEFAULT_GROUP,
  indexKey,
  manifestKey,
  packKey,
  type Repository,
} from './repository.ts';

export interface ArchiveOptions {
  /** Timeline group (retention class + period) from the policy decision. */
  group?: string;
  progress?: Progress;
  /** zstd level for the packs of this run (default: the repository's `pack.compressionLevel`). */
  compressionLevel?: number;
  /** The group's chunk index, to share one between several bundles of a batch (loaded when absent). */
  index?: ChunkIndex;
  /**
   * A workflow's compliance floor, from its manifest (undefined: none, or already past). Its packs are locked in
   * COMPLIANCE mode to it before the manifest is committed, and the manifest is written locked: the store refuses
   * early deletion from the moment the archive exists (stores with Object Lock; see retention-lock.ts).
   */
  retainUntil?: RetainUntil;
}

export type RetainUntil = (manifest: Manifest) => Date | undefined;

export interface ArchiveStats {
  files: number;
  bytes: number;
  newBytes: number;
  storedBytes: number;
  chunks: number;
  newChunks: number;
  packs: number;
}

export interface ArchiveResult {
  manifestId: string;
  /** False when an identical manifest was already committed (re-archive is a no-op). */
  created: boolean;
  incomplete: boolean;
  stats: ArchiveStats;
}

const WORKFLOW_ENTRY = 'workflow.json';

interface PendingEntry {
  entry: BundleEntry;
  size: number;
  sha256: string;
  chunks: Array<{ id: string; ref: PackRef }>;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** The Workflow object as an entry, unless the source already gave one (then its bytes are kept as they were). */
function withWorkflowEntry(bundle: WorkflowBundle): { entries: BundleEntry[]; workflowPath: string } {
  const given = bundle.entries.find((e) => e.kind === 'workflow');
  if (given) return { entries: bundle.entries, workflowPath: given.path };
  const body = Buffer.from(JSON.stringify(bundle.workflow, null, 2) + '\n');
  const entry: BundleEntry = {
    path: WORKFLOW_ENTRY,
    kind: 'workflow',
    size: body.length,
    open: async () => Readable.from([body]),
  };
  return { entries: [entry, ...bundle.entries], workflowPath: WORKFLOW_ENTRY };
}

export async function archiveBundle(
  repo: Repository,
  bundle: WorkflowBundle,
  opts: ArchiveOptions = {},
): Promise<ArchiveResult> {
  const once = async () => {
    const session = await ArchiveSession.open(repo, opts);
    session.add(bundle, opts.progress);
    return (await session.commit())[0]!;
  };
  try {
    return await once();
  } catch (err) {
    if (!(err instanceof StalePackError) || opts.index) throw err;
    // The cached index named a pack gc has condemned since: reload it and archive again (nothing was committed).
    forgetGroupIndex(repo, checkGroup(opts.group ?? DEFAULT_GROUP));
    return once();
  }
}

/** A pack the archive used lost its index or vanished before the commit (gc): nothing was committed. */
export class StalePackError extends IntegrityError {}

interface QueuedBundle {
  bundle: WorkflowBundle;
  entries: BundleEntry[];
  workflowPath: string;
  /** Packed entries by their index in `entries` (undefined: not packed yet, or missing). */
  done: Array<PendingEntry | undefined>;
  missing: MissingEntry[];
  stats: ArchiveStats;
  progress: Progress;
  packed: boolean;
}

/**
 * Archives several bundles into shared packs (fewer, fuller packs for many small workflows): `add` queues a
 * bundle, `pack` chunks and packs every queued entry, alike entries of all bundles together (entry-order.ts),
 * `commit` stores the packs and then writes each queued bundle's manifest, in order.
 */
export class ArchiveSession {
  private readonly queue: QueuedBundle[] = [];
  private readonly chunker: Chunker;

  private constructor(
    private readonly repo: Repository,
    readonly group: string,
    private readonly writer: PackWriter,
    private readonly retainUntil: RetainUntil | undefined,
  ) {
    this.chunker = new Chunker(repo.config.chunker);
  }

  static async open(
    repo: Repository,
    opts: Pick<ArchiveOptions, 'group' | 'index' | 'compressionLevel' | 'retainUntil'> = {},
  ): Promise<ArchiveSession> {
    const group = checkGroup(opts.group ?? DEFAULT_GROUP);
    const index = opts.index ?? (await groupIndex(repo, group));
    return new ArchiveSession(repo, group, new PackWriter(repo, group, index, opts.compressionLevel), opts.retainUntil);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues a bundle for `pack`; refuses one with two entries at the same path. */
  add(bundle: WorkflowBundle, progress: Progress = silentProgress): void {
    const { entries, workflowPath } = withWorkflowEntry(bundle);
    const seenPaths = new Set<string>();
    for (const entry of entries) {
      if (seenPaths.has(entry.path)) {
        throw new IntegrityError(`bundle has two entries at path ${entry.path}`, { workflow: bundle.uid });
      }
      seenPaths.add(entry.path);
    }
    const stats: ArchiveStats = { files: 0, bytes: 0, newBytes: 0, storedBytes: 0, chunks: 0, newChunks: 0, packs: 0 };
    const done = new Array<PendingEntry | undefined>(entries.length);
    this.queue.push({
      bundle,
      entries,
      workflowPath,
      done,
      missing: [...bundle.missing],
      stats,
      progress,
      packed: false,
    });
  }

  /** Chunks every entry of the bundles queued since the last `pack` into the open packs; unreadable entries become missing ones. */
  async pack(): Promise<void> {
    const queued = this.queue.filter((q) => !q.packed);
    if (queued.length === 0) return;
    const writer = this.writer;
    const order = similarityOrder(queued.map((q) => ({ workflow: q.bundle.workflow, entries: q.entries })));
    for (const q of queued) q.progress.start(q.entries.length, `archive ${q.bundle.namespace}/${q.bundle.name}`);
    const chunker = this.chunker;
    const ids = chunkIdsOf(this.repo);
    const chunkId = ids.of;
    // Most logs are one chunk: then a content-hash chunk id is the file's SHA-256, and the file is hashed once.
    const idIsSha256 = ids === CONTENT_HASH_IDS;
    let k = 0;
    for await (const opened of readAhead(order.map(([b, e]) => queued[b]!.entries[e]!))) {
      const [b, e] = order[k++]!;
      const q = queued[b]!;
      const { stats, progress } = q;
      const storedBefore = writer.stats.storedBytes;
      const packsBefore = writer.stats.packs;
      const entry = opened.entry;
      if ('error' in opened) {
        const m = missingOf(entry, opened.error);
        if (m) q.missing.push(m);
        progress.advance();
        continue;
      }
      chunker.reset();
      const fileHash = createHash('sha256');
      const pending: PendingEntry = { entry, size: 0, sha256: '', chunks: [] };
      /** `last`: the chunk finish() gave; the file's hash covers every chunk but a lone last one (see idIsSha256). */
      const take = async (chunk: Buffer, last = false) => {
        const raw = chunkId(chunk);
        const id = raw.toString('hex');
        if (!(last && idIsSha256 && pending.chunks.length === 0)) fileHash.update(chunk);
        else pending.sha256 = id;
        stats.chunks++;
        let ref = writer.find(raw, id);
        if (!ref) {
          ref = await writer.add(id, chunk);
          stats.newChunks++;
          stats.newBytes += chunk.length;
        }
        pending.chunks.push({ id, ref });
      };
      const feed = async (buf: Buffer) => {
        pending.size += buf.length;
        // Views into the chunker's buffer: take hashes and copies each before the chunker is called again.
        for (const chunk of chunker.pushViews(buf)) await take(chunk);
      };
      try {
        if ('data' in opened) await feed(opened.data);
        else for await (const data of opened.stream) await feed(typeof data === 'string' ? Buffer.from(data) : data);
        const last = chunker.finish(false);
        if (last) await take(last, true);
      } catch (err) {
        // An unreadable file is recorded, not fatal: chunks already packed become garbage for gc.
        if ('stream' in opened) opened.stream.destroy();
        const m = missingOf(entry, err);
        if (m) q.missing.push(m);
        progress.advance();
        continue;
      } finally {
        stats.storedBytes += writer.stats.storedBytes - storedBefore;
        stats.packs += writer.stats.packs - packsBefore;
      }
      // Empty, or more than one chunk (or ids that are not plain SHA-256): the hash of every chunk in order.
      if (!pending.sha256) pending.sha256 = fileHash.digest('hex');
      stats.files++;
      stats.bytes += pending.size;
      q.done[e] = pending;
      progress.advance();
    }
    for (const q of queued) {
      q.progress.done();
      q.packed = true;
    }
  }

  /** Stores the open pack, checks every pack used is still live, then writes the queued manifests (the commit points). */
  async commit(): Promise<ArchiveResult[]> {
    await this.pack();
    const writer = this.writer;
    const storedBefore = writer.stats.storedBytes;
    const packsBefore = writer.stats.packs;
    await writer.flush();
    const last = this.queue.at(-1);
    if (last) {
      last.stats.storedBytes += writer.stats.storedBytes - storedBefore;
      last.stats.packs += writer.stats.packs - packsBefore;
    }
    const manifests = this.queue.map((q) =>
      buildManifest(this.repo, q.bundle, this.group, q.workflowPath, q.done.filter(isDefined), q.missing),
    );
    await checkPacksStillThere(this.repo, this.group, [...new Set(manifests.flatMap((m) => m.packs))]);
    // Manifests are independent commit points: write them a few at a time.
    const results = await mapLimit(manifests, 8, async (manifest, i): Promise<ArchiveResult> => {
      const { id, bytes } = encodeManifest(manifest);
      const until = this.retainUntil?.(manifest);
      const locked = until
        ? await lockUntil(this.repo.store, packKeysOf(manifest.group, manifest.packs), until)
        : false;
      let created = true;
      try {
        await this.repo.store.put(manifestKey(id), bytes, {
          ifNoneMatch: true,
          contentType: 'application/json',
          ...(locked && until && { retention: { mode: 'COMPLIANCE' as const, until } }),
        });
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
        created = false;
        // Archived before, perhaps by a run that crashed before locking it: lock it now.
        if (locked && until) await lockUntil(this.repo.store, [manifestKey(id)], until);
      }
      // Also when the manifest was there already: a run killed between the two leaves refs to write.
      await writeRefs(this.repo, manifest.workflow, id);
      return { manifestId: id, created, incomplete: manifest.incomplete, stats: this.queue[i]!.stats };
    });
    this.queue.length = 0;
    return results;
  }
}

const isDefined = <T>(x: T | undefined): x is T => x !== undefined;

/** The missing entry an open or read failure makes; undefined when the source says the content was never expected. */
function missingOf(entry: BundleEntry, err: unknown): MissingEntry | undefined {
  if (err instanceof AbsentEntryError && !err.expected) return undefined;
  const reason = err instanceof Error ? err.message || err.name : String(err);
  return {
    path: entry.path,
    kind: entry.kind,
    ...(entry.nodeId !== undefined && { nodeId: entry.nodeId }),
    reason: err instanceof AbsentEntryError ? reason : `unreadable: ${reason}`,
  };
}

function buildManifest(
  repo: Repository,
  bundle: WorkflowBundle,
  group: string,
  workflowPath: string,
  done: PendingEntry[],
  missing: MissingEntry[],
): Manifest {
  const packIds = new Set<string>();
  for (const e of done) for (const c of e.chunks) packIds.add(c.ref.id!);
  const packs = [...packIds].sort();
  const ordinal = new Map(packs.map((p, i) => [p, i]));
  const entries: ManifestEntry[] = done.map(({ entry, size, sha256, chunks }) => ({
    path: entry.path,
    kind: entry.kind,
    nodeId: entry.nodeId,
    container: entry.container,
    artifactName: entry.artifactName,
    meta: entry.meta,
    size,
    sha256,
    chunks: chunks.map((c) => [ordinal.get(c.ref.id!)!, c.id] as [number, string]),
  }));
  const wf = bundle.workflow as { metadata?: Record<string, unknown>; status?: Record<string, unknown> };
  const createdAt = str(wf.status?.finishedAt) ?? str(wf.metadata?.creationTimestamp);
  return {
    format: 'strata-manifest',
    version: 1,
    repository: repo.config.id,
    workflow: {
      uid: bundle.uid,
      namespace: bundle.namespace,
      name: bundle.name,
      phase: str(wf.status?.phase),
      startedAt: str(wf.status?.startedAt),
      finishedAt: str(wf.status?.finishedAt),
      labels: stringMap(wf.metadata?.labels),
      annotations: stringMap(wf.metadata?.annotations),
    },
    workflowPath,
    group,
    createdAt,
    incomplete: missing.length > 0,
    missing: missing.map((m) => ({ path: m.path, kind: m.kind, nodeId: m.nodeId, reason: m.reason })),
    packs,
    entries,
  };
}

/**
 * gc removes an unreferenced pack's index first and the pack only a grace period later, so a pack whose index
 * is still there now cannot vanish before this manifest lands (see docs/format.md, "Garbage collection").
 */
async function checkPacksStillThere(repo: Repository, group: string, packs: string[]): Promise<void> {
  await mapLimit(packs, 8, async (p) => {
    const [pack, index] = await Promise.all([repo.store.head(packKey(group, p)), repo.store.head(indexKey(group, p))]);
    if (!pack || !index) {
      throw new StalePackError(
        `pack ${p} was removed (by gc?) while archiving; nothing was committed, run the archive again`,
        { key: packKey(group, p) },
      );
    }
  });
}
