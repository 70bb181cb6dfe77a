// Checks the archive and trusts nothing: manifests against their ids, references against indexes and packs, data against hashes.
import { finished } from 'node:stream/promises';
import { silentProgress, type Progress } from '../progress.ts';
import { describeError, IntegrityError, NotFoundError } from '../errors.ts';
import { openRepository, type Repository } from './repository.ts';
import { decodeIndex, decodePack, encodeTable, type PackIndexFile } from './pack-format.ts';
import { decodeFrame } from './frame-codec.ts';
import { decodeManifest } from './manifest.ts';
import { readTableFromPack } from './pack-reader.ts';
import { listManifests, readManifest } from './manifest-lookup.ts';
import { PackReader } from './pack-reader.ts';
import { streamEntry } from './restorer.ts';
import { unfinishedWritesOf, type ObjectInfo, type UnfinishedWrite } from '../store/store.ts';
import {
  chunkIdsOf,
  indexKey,
  INDEX_PREFIX,
  manifestKey,
  packKey,
  PACKS_PREFIX,
  parseGroupKey,
  readObject,
} from './repository.ts';
import { checkChunkId } from './chunk-ids.ts';
import { checkContentId } from '../store/sha256.ts';

/** Where lib/tier/vault.ts records packs moved into a Glacier vault (the archive engine does not depend on tier). */
const VAULT_RECORDS_PREFIX = 'archive/vault/';

/**
 * `record`: a hold or extension record that does not verify (added by the verify step, from lib/policy); `audit`:
 * the store and the audit log disagree (added by the verify step, from lib/audit/cross-check.ts).
 */
export type ProblemKind = 'config' | 'manifest' | 'pack' | 'index' | 'reference' | 'record' | 'audit';

export interface Problem {
  kind: ProblemKind;
  key: string;
  message: string;
}

export interface VerifyOptions {
  /** Read packs back and check every frame and chunk hash. */
  readData?: boolean;
  /** With readData: percent of packs to read (default 100), chosen at random. */
  samplePercent?: number;
  /** With readData: which packs to read, given every pack listed (replaces samplePercent; the scrub's rotation). */
  choosePacks?: (packs: readonly ObjectInfo[]) => Promise<readonly string[]> | readonly string[];
  /**
   * With readData: told of each pack read whole, `ok` false when a hash or the format did not check. Not called
   * when the pack could not be read at all (gone, store unreachable): that is not a read.
   */
  onPackRead?: (key: string, ok: boolean) => Promise<void> | void;
  progress?: Progress;
}

export interface VerifyReport {
  ok: boolean;
  manifests: number;
  packs: number;
  packsRead: number;
  /** Packs no manifest references (garbage for gc, or an archive in progress): not a problem. */
  unreferencedPacks: number;
  /**
   * Writes that never finished (a killed writer's temp files, incomplete multipart uploads; not objects, so not a
   * problem): garbage `gc` reclaims once older than its grace period, unless a writer is still at work.
   */
  unfinished: UnfinishedWrite[];
  problems: Problem[];
}

export async function verifyRepository(repoOrStore: Repository, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const progress = opts.progress ?? silentProgress;
  const problems: Problem[] = [];
  const report: VerifyReport = {
    ok: true,
    manifests: 0,
    packs: 0,
    packsRead: 0,
    unreferencedPacks: 0,
    unfinished: [],
    problems,
  };
  let repo: Repository;
  try {
    repo = await openRepository(repoOrStore.store);
  } catch (err) {
    problems.push({ kind: 'config', key: 'archive/config', message: describeError(err) });
    report.ok = false;
    return report;
  }

  const packSizes = new Map<string, number>();
  const packInfos: ObjectInfo[] = [];
  for await (const o of repo.store.list(PACKS_PREFIX))
    if (parseGroupKey(PACKS_PREFIX, o.key)) {
      packSizes.set(o.key, o.size);
      packInfos.push(o);
    }
  const indexKeys = new Set<string>();
  for await (const o of repo.store.list(INDEX_PREFIX)) if (parseGroupKey(INDEX_PREFIX, o.key)) indexKeys.add(o.key);
  report.packs = packSizes.size;
  // Packs the tier moved into a Glacier vault (`archive/vault/<group>/<packId>` records, lib/tier/vault.ts): absent
  // here by design; their indexes stay, and restore brings them back with strata thaw --vault.
  const vaulted = new Set<string>();
  for await (const o of repo.store.list(VAULT_RECORDS_PREFIX)) {
    const parsed = parseGroupKey(VAULT_RECORDS_PREFIX, o.key);
    if (parsed) vaulted.add(packKey(parsed.group, parsed.packId));
  }

  // Index files, one at a time: each must parse, name its own pack, and match that pack's size.
  const indexOk = new Set<string>();
  /** Chunk ids of packs whose index did not verify, from the pack's own tail (what restore falls back to). */
  const tailIds = new Map<string, Set<string>>();
  for (const key of indexKeys) {
    const { group, packId } = parseGroupKey(INDEX_PREFIX, key)!;
    try {
      const file = decodeIndex(await readObject(repo.store, key), key);
      if (file.packId !== packId) throw new IntegrityError(`index names pack ${file.packId}`, { key });
      const size = packSizes.get(packKey(group, packId));
      if (size === undefined) throw new IntegrityError('index points at a pack that does not exist', { key });
      if (size !== file.packSize)
        throw new IntegrityError(`pack is ${size} bytes, index says ${file.packSize} (truncated?)`, {
          key: packKey(group, packId),
        });
      indexOk.add(key);
    } catch (err) {
      let message = describeError(err);
      if (packSizes.has(packKey(group, packId))) {
        try {
          const table = await readTableFromPack(repo, group, packId);
          tailIds.set(key, new Set(table.chunks.map((c) => c.id)));
          message += "; the pack's own table (its tail) reads fine: restore falls back to it";
        } catch (tailErr) {
          message += `; the pack's tail does not parse either (${describeError(tailErr)})`;
        }
      }
      problems.push({ kind: 'index', key, message });
    }
  }

  // Manifests: content hash, schema, and every chunk reference resolvable through a readable index.
  const referenced = new Set<string>();
  const tables = new Map<string, Set<string> | undefined>();
  const chunkIdsOf = async (group: string, packId: string): Promise<Set<string> | undefined> => {
    const key = indexKey(group, packId);
    if (tables.has(key)) return tables.get(key);
    let ids: Set<string> | undefined = tailIds.get(key);
    if (indexOk.has(key)) {
      const file: PackIndexFile = decodeIndex(await readObject(repo.store, key), key);
      ids = new Set(file.table.chunks.map((c) => c.id));
    }
    if (tables.size >= 256) tables.delete(tables.keys().next().value!);
    tables.set(key, ids);
    return ids;
  };
  for await (const info of listManifests(repo)) {
    report.manifests++;
    const key = manifestKey(info.id);
    try {
      const m = decodeManifest(info.id, await readObject(repo.store, key), key);
      if (m.repository !== repo.config.id)
        throw new IntegrityError(`manifest belongs to repository ${m.repository}`, { key });
      const missingPacks = new Set<number>();
      m.packs.forEach((p, i) => {
        const pk = packKey(m.group, p);
        referenced.add(pk);
        if (!packSizes.has(pk)) {
          missingPacks.add(i);
          if (!vaulted.has(pk)) problems.push({ kind: 'reference', key, message: `pack ${pk} is missing` });
        } else if (!indexKeys.has(indexKey(m.group, p))) {
          problems.push({
            kind: 'reference',
            key,
            message: `index ${indexKey(m.group, p)} is missing (gc would condemn or rebuild it)`,
          });
        }
      });
      for (const e of m.entries) {
        for (const [p, id] of e.chunks) {
          if (missingPacks.has(p)) continue;
          const ids = await chunkIdsOf(m.group, m.packs[p]!);
          if (ids && !ids.has(id)) {
            problems.push({
              kind: 'reference',
              key,
              message: `entry ${e.path}: chunk ${id} is not in pack ${m.packs[p]}`,
            });
            break;
          }
        }
      }
    } catch (err) {
      problems.push({ kind: 'manifest', key, message: describeError(err) });
    }
  }
  for (const pk of packSizes.keys()) if (!referenced.has(pk)) report.unreferencedPacks++;
  const unfinished = unfinishedWritesOf(repo.store);
  if (unfinished) for await (const w of unfinished.listUnfinished('')) report.unfinished.push(w);

  if (opts.readData) {
    const percent = Math.min(100, Math.max(0, opts.samplePercent ?? 100));
    const chosen = opts.choosePacks
      ? (await opts.choosePacks(packInfos)).filter((key) => packSizes.has(key))
      : [...packSizes.keys()].filter(() => percent >= 100 || Math.random() * 100 < percent);
    progress.start(chosen.length, 'verify data');
    for (const key of chosen) {
      const { group, packId } = parseGroupKey(PACKS_PREFIX, key)!;
      let read: boolean | undefined;
      try {
        await checkPackData(repo, group, packId, indexOk.has(indexKey(group, packId)));
        read = true;
      } catch (err) {
        problems.push({ kind: 'pack', key, message: describeError(err) });
        if (err instanceof IntegrityError) read = false;
      }
      if (read !== undefined) await opts.onPackRead?.(key, read);
      report.packsRead++;
      progress.advance();
    }
    progress.done();
  }
  report.ok = problems.length === 0;
  return report;
}

/** One workflow's manifest, checked before anything trusts it (finalize deletes the source only on `verified`). */
export interface ManifestVerification {
  id: string;
  exists: boolean;
  verified: boolean;
  problems: string[];
  /** Entries the source could not read (incomplete archive). */
  missing: number;
  workflowUid?: string;
  workflowNamespace?: string;
  workflowName?: string;
  /** finishedAt recorded in the archived workflow object. */
  finishedAt?: string;
}

/**
 * Checks one manifest: its id and schema (readManifest), then every entry read back through the restore path,
 * which checks each chunk's hash and the entry's size and SHA-256. A problem names the entry; none → verified.
 */
export async function verifyManifest(repo: Repository, id: string): Promise<ManifestVerification> {
  const check: ManifestVerification = { id, exists: false, verified: false, problems: [], missing: 0 };
  let manifest;
  try {
    manifest = await readManifest(repo, id);
  } catch (err) {
    if (err instanceof NotFoundError) return check;
    check.exists = true;
    check.problems.push(describeError(err));
    return check;
  }
  check.exists = true;
  check.workflowUid = manifest.workflow.uid;
  check.workflowNamespace = manifest.workflow.namespace;
  check.workflowName = manifest.workflow.name;
  check.finishedAt = manifest.workflow.finishedAt;
  check.missing = manifest.missing.length;
  const reader = new PackReader(repo);
  for (const entry of manifest.entries) {
    try {
      await finished(streamEntry(repo, manifest, entry, reader).resume());
    } catch (err) {
      check.problems.push(`${entry.path}: ${describeError(err)}`);
    }
  }
  check.verified = check.problems.length === 0;
  return check;
}

/** Reads one pack whole (bounded: packs are a few MiB) and checks its id, trailer, index copy, frames and chunks. */
async function checkPackData(repo: Repository, group: string, packId: string, hasIndex: boolean): Promise<void> {
  const key = packKey(group, packId);
  const pack = await readObject(repo.store, key);
  checkContentId(pack, packId, 'pack', { key });
  const table = decodePack(pack, key);
  if (hasIndex) {
    const file = decodeIndex(await readObject(repo.store, indexKey(group, packId)), indexKey(group, packId));
    if (!encodeTable(file.table).equals(encodeTable(table)))
      throw new IntegrityError('pack trailer and index file disagree', { key });
  }
  const frames = table.frames.map((f, i) => {
    try {
      return decodeFrame(pack.subarray(f.offset, f.offset + f.compressedLength), f.rawLength);
    } catch (err) {
      throw new IntegrityError(`frame ${i}: ${(err as Error).message}`, { key });
    }
  });
  const idOf = await chunkIdsOf(repo).forPack(key);
  for (const c of table.chunks) {
    const data = frames[c.frame]!.subarray(c.offset, c.offset + c.length);
    checkChunkId(data, c.id, idOf, { key });
  }
}
