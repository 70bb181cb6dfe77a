// Mark-and-sweep of chunks in the packs a deletion touched: a pack no manifest uses any more is deleted; a pack
// that also holds live chunks is repacked (restic-prune style: the live chunks go into new packs, the manifests
// that used it are rewritten to point there, then the old pack goes). Every deleted key is checked gone.
import { ChunkIndex } from '../archive/chunk-index.ts';
import { encodeManifest, type Manifest } from '../archive/manifest.ts';
import { listManifests, readManifest } from '../archive/manifest-lookup.ts';
import { encodeIndex, encodeTable, type PackTable } from '../archive/pack-format.ts';
import { PackReader } from '../archive/pack-reader.ts';
import { PackWriter } from '../archive/pack-writer.ts';
import {
  indexKey,
  manifestKey,
  packKey,
  sealerRepository,
  sealingTenant,
  tenantRepository,
  type Repository,
} from '../archive/repository.ts';
import { refKeys, writeRefs } from '../archive/workflow-refs.ts';
import { AlreadyExistsError, describeError, IntegrityError } from '../errors.ts';
import { storageClassesOf, versionsOf, type ObjectStore } from '../store/store.ts';
import { listTierRecords } from './placement.ts';
import { RESTORE_CLASSES } from './storage-class.ts';
import { vaultRecord } from './vault.ts';

/** The catalog as the lifecycle needs it: remove a manifest's rows, and say which manifests it still has. */
export interface CatalogRows {
  remove(manifestId: string): Promise<void>;
  manifestIds(): Promise<Set<string>>;
}

export interface SweepOptions {
  /**
   * Time between taking a doomed pack's index away (no archiver can dedup against it any more, and one that did
   * fails its check before committing) and marking again. Must exceed an archiver's check-to-commit time.
   */
  settleMs: number;
  catalog?: CatalogRows;
  sleep?: (ms: number) => Promise<void>;
  /** Days a thawed copy of a GLACIER/DEEP_ARCHIVE pack stays readable for its repack. */
  restoreDays?: number;
  /** For Object Lock retention dates (default: the clock). */
  now?: Date;
}

export interface Repack {
  pack: string;
  into: string[];
  /** Chunks copied into the new packs. */
  kept: number;
  /** Chunk ids no manifest uses any more: gone with the old pack. */
  dropped: string[];
}

export interface SweepReport {
  /** Packs deleted whole, with the chunk ids they held. */
  deleted: Array<{ pack: string; chunks: string[] }>;
  repacked: Repack[];
  /** Manifests rewritten to point at the new packs: same workflow and content, new id. */
  superseded: Array<{ uid: string; from: string; to: string }>;
  /** Candidate packs every chunk of which is still in use. */
  kept: string[];
  /** Packs in an archive class that must thaw before they can be repacked (a restore was requested). */
  waitingForRestore: string[];
  /** Packs under Object Lock (legal hold or retention): the store would refuse, so they stay as they are. */
  locked: string[];
  /** Every key deleted, checked absent afterwards (all versions, where the store keeps versions). */
  deletedKeys: string[];
  /** Deleted keys still found: the deletion is not proven. */
  stillPresent: string[];
}

type Mark = { live: Map<string, Set<string>>; users: Map<string, Set<string>> };

/** Which chunks of the candidate packs some manifest uses, and which manifests use each pack. Fails closed. */
async function mark(repo: Repository, candidates: ReadonlySet<string>): Promise<Mark> {
  const live = new Map<string, Set<string>>();
  const users = new Map<string, Set<string>>();
  for await (const info of listManifests(repo)) {
    let m: Manifest;
    try {
      m = await readManifest(repo, info.id);
    } catch (err) {
      throw new IntegrityError(`sweep stopped, nothing deleted: manifest ${info.id} (${describeError(err)})`);
    }
    for (const e of m.entries) {
      for (const [p, id] of e.chunks) {
        const name = `${m.group}/${m.packs[p]}`;
        if (!candidates.has(name)) continue;
        (live.get(name) ?? live.set(name, new Set()).get(name)!).add(id);
        (users.get(name) ?? users.set(name, new Set()).get(name)!).add(info.id);
      }
    }
  }
  return { live, users };
}

const split = (name: string) => {
  const slash = name.indexOf('/');
  return { group: name.slice(0, slash), packId: name.slice(slash + 1) };
};

export async function sweepPacks(
  repo: Repository,
  candidateList: readonly string[],
  opts: SweepOptions,
): Promise<SweepReport> {
  const report: SweepReport = {
    deleted: [],
    repacked: [],
    superseded: [],
    kept: [],
    waitingForRestore: [],
    locked: [],
    deletedKeys: [],
    stillPresent: [],
  };
  const candidates = new Set(candidateList);
  if (!candidates.size) return report;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const reader = new PackReader(repo);
  const tables = new Map<string, { table: PackTable; size: number }>();
  const gone = new Set<string>();

  // Tables first (from the index, or the pack's own trailer when a crashed run already took the index away).
  for (const name of [...candidates].sort()) {
    const { group, packId } = split(name);
    const info = await repo.store.head(packKey(group, packId));
    if (!info) {
      // Moved into the Glacier vault (vault.ts): its chunks must come back before any repack or deletion of them.
      if (await vaultRecord(repo, group, packId)) report.waitingForRestore.push(name);
      else gone.add(name);
      continue;
    }
    tables.set(name, { table: (await reader.table(group, packId)).table, size: info.size });
  }

  const classes = storageClassesOf(repo.store);
  const plan = async () => {
    const { live, users } = await mark(repo, candidates);
    const del: string[] = [];
    const repack: string[] = [];
    const keep: string[] = [];
    for (const [name, { table }] of tables) {
      const used = live.get(name);
      if (!used || used.size === 0) del.push(name);
      else if (table.chunks.some((c) => !used.has(c.id))) repack.push(name);
      else keep.push(name);
    }
    return { live, users, del, repack, keep };
  };

  let first = await plan();
  // A pack under Object Lock cannot be deleted (nor, so, repacked): it keeps even its dead chunks until the lock ends.
  const now = opts.now ?? new Date();
  for (const name of [...first.del, ...first.repack]) {
    const { group, packId } = split(name);
    const info = await repo.store.head(packKey(group, packId));
    if (info?.legalHold || (info?.retainUntil && info.retainUntil > now)) {
      report.locked.push(name);
      tables.delete(name);
    }
  }
  if (report.locked.length) first = await plan();
  // A pack in an archive class cannot be read for its repack until it thaws: ask, and leave it for a later run.
  if (classes) {
    for (const name of first.repack) {
      const { group, packId } = split(name);
      const info = await repo.store.head(packKey(group, packId));
      if (!info?.storageClass || !RESTORE_CLASSES.has(info.storageClass)) continue;
      const state = await classes.restore(packKey(group, packId), opts.restoreDays ?? 7, 'Bulk');
      if (state !== 'restored') {
        report.waitingForRestore.push(name);
        tables.delete(name);
      }
    }
    if (report.waitingForRestore.length) first = await plan();
  }

  const doomed = [...first.del, ...first.repack];
  await repo.store.delete(doomed.map((n) => indexKey(split(n).group, split(n).packId)));
  if (doomed.length && opts.settleMs > 0) await sleep(opts.settleMs);
  const final = await plan();
  for (const name of final.keep) await restoreIndex(repo, name, tables.get(name)!);
  report.kept.push(...final.keep);

  // Repack: the live chunks of each pack into new packs of its group (no dedup against old packs, which may go),
  // written as the tenant that sealed the old pack (encrypted repositories: packs never mix tenants).
  const chunkHome = new Map<string, string>();
  const byWriter = new Map<string, { group: string; writerRepo: Repository; names: string[] }>();
  for (const name of final.repack) {
    const { group, packId } = split(name);
    const tenant = await sealingTenant(repo, packKey(group, packId));
    const at = `${group}/${tenant ?? ''}`;
    const writerRepo = tenant === undefined ? repo : await tenantRepository(repo, tenant);
    const batch = byWriter.get(at) ?? byWriter.set(at, { group, writerRepo, names: [] }).get(at)!;
    batch.names.push(name);
  }
  for (const { group, writerRepo, names } of byWriter.values()) {
    const writer = new PackWriter(writerRepo, group, new ChunkIndex());
    const refs = new Map<string, { id?: string }>();
    for (const name of names) {
      const { packId } = split(name);
      const used = final.live.get(name)!;
      const dropped: string[] = [];
      let kept = 0;
      for (const c of tables.get(name)!.table.chunks) {
        if (!used.has(c.id)) {
          dropped.push(c.id);
          continue;
        }
        kept++;
        if (!refs.has(c.id)) {
          const found = writer.find(Buffer.from(c.id, 'hex'), c.id);
          refs.set(c.id, found ?? (await writer.add(c.id, await reader.chunk(group, packId, c.id))));
        }
      }
      report.repacked.push({ pack: name, into: [], kept, dropped });
    }
    await writer.flush();
    for (const [id, ref] of refs) chunkHome.set(`${group}/${id}`, ref.id!);
    for (const r of report.repacked) {
      if (!names.includes(r.pack)) continue;
      const used = final.live.get(r.pack)!;
      r.into = [...new Set([...used].map((id) => chunkHome.get(`${group}/${id}`)!))].sort();
    }
  }

  // Rewrite every manifest that used a repacked pack, then delete the old one (new first: a crash keeps both).
  const rewritten = new Set<string>();
  for (const name of final.repack) for (const id of final.users.get(name) ?? []) rewritten.add(id);
  const repackedSet = new Set(final.repack);
  for (const oldId of [...rewritten].sort()) {
    const m = await readManifest(repo, oldId);
    const packs: string[] = [];
    const at = new Map<string, number>();
    const indexOf = (p: string) => at.get(p) ?? (at.set(p, packs.push(p) - 1), packs.length - 1);
    const entries = m.entries.map((e) => ({
      ...e,
      chunks: e.chunks.map(([p, id]): [number, string] => {
        const old = m.packs[p]!;
        const moved = repackedSet.has(`${m.group}/${old}`) ? chunkHome.get(`${m.group}/${id}`) : undefined;
        return [indexOf(moved ?? old), id];
      }),
    }));
    const { id: newId, bytes } = encodeManifest({ ...m, packs, entries });
    const owner = await sealerRepository(repo, manifestKey(oldId));
    try {
      await owner.store.put(manifestKey(newId), bytes, { ifNoneMatch: true, contentType: 'application/json' });
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    await writeRefs(owner, m.workflow, newId);
    const oldKeys = [manifestKey(oldId), ...refKeys(m.workflow, oldId)];
    await repo.store.delete(oldKeys);
    report.deletedKeys.push(...oldKeys);
    await opts.catalog?.remove(oldId);
    report.superseded.push({ uid: m.workflow.uid, from: oldId, to: newId });
  }

  // Last look before anything is deleted: a pack some manifest now uses (written despite the settle) stays.
  const last = await mark(repo, new Set([...final.del, ...final.repack]));
  const records = new Map<string, string[]>();
  for await (const r of listTierRecords(repo)) {
    const name = `${r.group}/${r.packId}`;
    records.set(name, [...(records.get(name) ?? []), r.key]);
  }
  for (const name of [...final.del, ...final.repack]) {
    if (last.live.get(name)?.size) {
      await restoreIndex(repo, name, tables.get(name)!);
      report.kept.push(name);
      continue;
    }
    const { group, packId } = split(name);
    const keys = [packKey(group, packId), indexKey(group, packId), ...(records.get(name) ?? [])];
    await repo.store.delete(keys);
    report.deletedKeys.push(...keys);
    if (final.del.includes(name))
      report.deleted.push({ pack: name, chunks: tables.get(name)!.table.chunks.map((c) => c.id) });
  }
  for (const name of gone) report.deleted.push({ pack: name, chunks: [] });
  report.repacked = report.repacked.filter((r) => !report.kept.includes(r.pack));
  report.stillPresent = await stillPresent(repo.store, report.deletedKeys);
  return report;
}

/** Puts a pack's index back (it was taken away while the pack was doomed, and the pack stays after all). */
async function restoreIndex(repo: Repository, name: string, t: { table: PackTable; size: number }): Promise<void> {
  const { group, packId } = split(name);
  const owner = await sealerRepository(repo, packKey(group, packId));
  try {
    await owner.store.put(
      indexKey(group, packId),
      encodeIndex(packId, t.size, encodeTable(t.table), repo.config.version),
      {
        ifNoneMatch: true,
        contentType: 'application/octet-stream',
      },
    );
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
}

/** The keys (any version of them) still in the store. */
export async function stillPresent(store: ObjectStore, keys: readonly string[]): Promise<string[]> {
  const versions = versionsOf(store);
  const out: string[] = [];
  for (const key of keys) {
    if (await store.head(key)) {
      out.push(key);
      continue;
    }
    if (!versions) continue;
    for await (const v of versions.listVersions(key)) {
      if (v.key === key) {
        out.push(`${key} (version ${v.versionId})`);
        break;
      }
    }
  }
  return out;
}
