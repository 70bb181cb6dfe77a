// Mark-and-sweep garbage collection of unreferenced packs, in two phases so it is safe beside running archivers.
import type { AuditLog } from '../audit/audit.ts';
import { recordIntent } from '../audit/write-ahead.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { describeError, IntegrityError, StoreError } from '../errors.ts';
import { unfinishedWritesOf, type ObjectInfo, type UnfinishedWrite } from '../store/store.ts';
import { readJournals } from './deletion-journal.ts';
import { decodeManifest } from './manifest.ts';
import { listManifests } from './manifest-lookup.ts';
import {
  condemnedKey,
  CONDEMNED_PREFIX,
  indexKey,
  INDEX_PREFIX,
  manifestKey,
  packKey,
  PACKS_PREFIX,
  parseGroupKey,
  readObject,
  sealerRepository,
  type Repository,
} from './repository.ts';

export interface GcOptions {
  /** How long an unreferenced pack must sit before it is condemned, and condemned before it is deleted. */
  graceMs: number;
  dryRun?: boolean;
  now?: Date;
  progress?: Progress;
  /** Where gc records what it is about to condemn and delete, before it does (refused: nothing changes). */
  audit?: AuditLog;
  actor?: string;
}

export interface GcReport {
  dryRun: boolean;
  manifests: number;
  referencedPacks: number;
  /** Unreferenced packs whose index was moved to condemned/ (deleted on a later run, after the grace period). */
  condemned: string[];
  /** Packs deleted (with their condemned index copy). */
  deleted: string[];
  deletedBytes: number;
  /** Condemned packs a manifest (or a re-archive) started using again: their index was put back. */
  revived: string[];
  /** Unreferenced packs younger than the grace period, left alone. */
  young: number;
  /**
   * Unreferenced packs under Object Lock (legal hold, retention: e.g. a compliance archive whose manifest a crash
   * never wrote), kept until the lock ends: the store would refuse their deletion.
   */
  locked: string[];
  /**
   * Writes that never finished (a killed writer's temp files, incomplete multipart uploads) last written to more
   * than the grace period ago: removed (with --dry-run: would be).
   */
  unfinished: UnfinishedWrite[];
  unfinishedBytes: number;
  /** Unfinished writes younger than the grace period (a writer may still be at work), left alone. */
  youngUnfinished: number;
}

/**
 * Phase 1 (condemn): an unreferenced pack older than the grace period loses its index (moved to condemned/), so
 * no archiver can dedup against it any more. Phase 2 (a later run, a grace period after phase 1): a pack still
 * unreferenced and unindexed is deleted. An archiver checks that each pack it uses still has its index just
 * before committing its manifest, so a pack it used cannot be deleted before that manifest is visible here.
 */
export async function collectGarbage(repo: Repository, opts: GcOptions): Promise<GcReport> {
  const now = (opts.now ?? new Date()).getTime();
  const dryRun = Boolean(opts.dryRun);
  const progress = opts.progress ?? silentProgress;
  const old = (info: ObjectInfo) => now - info.lastModified.getTime() >= opts.graceMs;
  const report: GcReport = {
    dryRun,
    manifests: 0,
    referencedPacks: 0,
    condemned: [],
    deleted: [],
    deletedBytes: 0,
    revived: [],
    young: 0,
    locked: [],
    unfinished: [],
    unfinishedBytes: 0,
    youngUnfinished: 0,
  };

  // List storage before reading manifests: a pack written after the listing is not seen, so it cannot be swept.
  const packs = await collect(repo, PACKS_PREFIX);
  const indexes = await collect(repo, INDEX_PREFIX);
  const condemned = await collect(repo, CONDEMNED_PREFIX);

  const referenced = new Set<string>();
  for await (const info of listManifests(repo)) {
    const key = manifestKey(info.id);
    try {
      const m = decodeManifest(info.id, await readObject(repo.store, key), key);
      for (const p of m.packs) referenced.add(`${m.group}/${p}`);
      report.manifests++;
    } catch (err) {
      // A manifest we cannot read may reference anything: fail closed.
      throw new IntegrityError(`gc stopped, nothing deleted: unreadable manifest (${describeError(err)})`, { key });
    }
  }
  // A deletion the tier engine has begun but not finished owns its packs until it does (or a hold undoes it).
  const journals = await readJournals(repo);
  if (journals.unreadable.length) {
    throw new IntegrityError(`gc stopped, nothing deleted: unreadable deletion journal ${journals.unreadable[0]}`);
  }
  for (const j of journals.journals) for (const p of j.packs) referenced.add(p);
  report.referencedPacks = referenced.size;

  // Decide everything first, then record it, then act: a gc whose record cannot be written changes nothing.
  const changes: Array<() => Promise<void>> = [];
  const remove = (...keys: string[]) => changes.push(() => repo.store.delete(keys));
  progress.start(packs.size + condemned.size, 'gc');
  for (const [name, pack] of packs) {
    progress.advance();
    const [group, packId] = name.split('/') as [string, string];
    const index = indexes.get(name);
    const doomed = condemned.get(name);
    if (referenced.has(name)) {
      if (doomed && !index) {
        report.revived.push(name);
        changes.push(() => moveObject(repo, condemnedKey(group, packId), indexKey(group, packId)));
      } else if (doomed) {
        remove(condemnedKey(group, packId));
      }
      continue;
    }
    if (index) {
      if (doomed) {
        // Re-archived content re-created the index: the pack is live again.
        remove(condemnedKey(group, packId));
        continue;
      }
      if (!old(pack) || !old(index)) {
        report.young++;
        continue;
      }
      report.condemned.push(name);
      changes.push(() => moveObject(repo, indexKey(group, packId), condemnedKey(group, packId)));
      continue;
    }
    // No index: condemned by an earlier run, or a crash between writing the pack and its index.
    const since = doomed ?? pack;
    if (!old(since)) {
      report.young++;
      continue;
    }
    if (await isLocked(repo, packKey(group, packId), now)) {
      report.locked.push(name);
      continue;
    }
    report.deleted.push(name);
    report.deletedBytes += pack.size;
    changes.push(async () => {
      try {
        await repo.store.delete([packKey(group, packId)]);
      } catch (err) {
        // The store's clock says the lock has not ended yet (ours is ahead): kept, as above.
        if (!(err instanceof StoreError) || !(await isLocked(repo, packKey(group, packId)))) throw err;
        report.deleted.splice(report.deleted.indexOf(name), 1);
        report.deletedBytes -= pack.size;
        report.locked.push(name);
        return;
      }
      if (doomed) await repo.store.delete([condemnedKey(group, packId)]);
    });
  }
  // Leftovers whose pack is gone: an index here would make archivers dedup against nothing.
  for (const [name, info] of indexes) {
    if (packs.has(name) || referenced.has(name) || !old(info)) continue;
    const [group, packId] = name.split('/') as [string, string];
    remove(indexKey(group, packId));
  }
  for (const [name] of condemned) {
    progress.advance();
    if (packs.has(name)) continue;
    const [group, packId] = name.split('/') as [string, string];
    remove(condemnedKey(group, packId));
  }
  if (!dryRun && changes.length) {
    if (opts.audit) {
      await recordIntent(opts.audit, {
        action: 'gc',
        actor: opts.actor ?? 'strata/gc',
        subject: repo.store.url,
        details: { condemn: report.condemned, delete: report.deleted, revive: report.revived },
      });
    }
    for (const change of changes) await change();
  }
  // A crash mid-write leaves no object but a temp file or an open multipart upload: the same grace rule, by the
  // time it was last written to, so a writer still at work is never cut off.
  const unfinished = unfinishedWritesOf(repo.store);
  if (unfinished) {
    const stale: UnfinishedWrite[] = [];
    for await (const w of unfinished.listUnfinished('')) {
      if (old(w)) stale.push(w);
      else report.youngUnfinished++;
    }
    report.unfinished = dryRun || !stale.length ? stale : await unfinished.removeUnfinished(stale);
    report.youngUnfinished += stale.length - report.unfinished.length; // written to again meanwhile
    report.unfinishedBytes = report.unfinished.reduce((n, w) => n + w.size, 0);
  }
  progress.done();
  return report;
}

/** One line for a person: which key, where the leftover is, its size and when it was last written to. */
export function describeUnfinishedWrite(w: UnfinishedWrite): string {
  return `${w.key} (${w.id}): ${w.size} bytes, last written ${w.lastModified.toISOString()}`;
}

async function collect(repo: Repository, prefix: string): Promise<Map<string, ObjectInfo>> {
  const out = new Map<string, ObjectInfo>();
  for await (const info of repo.store.list(prefix)) {
    const parsed = parseGroupKey(prefix, info.key);
    if (parsed) out.set(`${parsed.group}/${parsed.packId}`, info);
  }
  return out;
}

/**
 * Copy then delete: a crash in between leaves both, which the next run resolves (index present wins). The copy is
 * sealed as the original was (an encrypted repository's index stays its tenant's).
 */
async function moveObject(repo: Repository, from: string, to: string): Promise<void> {
  const body = await readObject(repo.store, from);
  await (await sealerRepository(repo, from)).store.put(to, body, { contentType: 'application/octet-stream' });
  await repo.store.delete([from]);
}

/** Whether the object is under a legal hold or retention (unexpired at `now`; any retention when no time is given). */
async function isLocked(repo: Repository, key: string, now?: number): Promise<boolean> {
  const info = await repo.store.head(key);
  if (!info) return false;
  return (
    Boolean(info.legalHold) ||
    (info.retainUntil !== undefined && (now === undefined || info.retainUntil.getTime() > now))
  );
}
