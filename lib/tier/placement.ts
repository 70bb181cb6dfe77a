// Where each pack is: its storage class where the store has classes, and Strata's tier records, which say since when
// (and, on a store without classes, are the only account of the tier).
import { AlreadyExistsError } from '../errors.ts';
import { TIERS, type Tier } from '../policy/facts.ts';
import { ARCHIVE_PREFIX, PACKS_PREFIX, parseGroupKey, type Repository } from '../archive/repository.ts';
import { readObject } from '../store/read-whole.ts';
import type { ObjectInfo, StorageClass } from '../store/store.ts';
import type { PackPlacement } from './plan.ts';
import { colder, tierOfClass } from './storage-class.ts';

/** `archive/tiers/<group>/<packId>/<tier>`: written once when the pack enters the tier (tiers only get colder). */
export const TIERS_PREFIX = `${ARCHIVE_PREFIX}tiers/`;

export const tierRecordKey = (group: string, packId: string, tier: Tier) => `${TIERS_PREFIX}${group}/${packId}/${tier}`;

export interface TierRecordInfo {
  group: string;
  packId: string;
  tier: Tier;
  key: string;
  at: Date;
}

export async function* listTierRecords(repo: Repository): AsyncIterable<TierRecordInfo> {
  for await (const info of repo.store.list(TIERS_PREFIX)) {
    const slash = info.key.lastIndexOf('/');
    const tier = info.key.slice(slash + 1) as Tier;
    const parsed = parseGroupKey(TIERS_PREFIX, info.key.slice(0, slash));
    if (parsed && TIERS.includes(tier)) yield { ...parsed, tier, key: info.key, at: info.lastModified };
  }
}

/**
 * The tier records of some packs of one group (a workflow's), listed pack by pack, with the time and reason each
 * record states (else its object's time): what one workflow's timeline reads, without listing the whole archive's.
 */
export async function packTierRecords(
  repo: Repository,
  group: string,
  packIds: readonly string[],
): Promise<Array<TierRecordInfo & { reason?: string }>> {
  const out: Array<TierRecordInfo & { reason?: string }> = [];
  for (const packId of packIds) {
    for await (const info of repo.store.list(`${TIERS_PREFIX}${group}/${packId}/`)) {
      const tier = info.key.slice(info.key.lastIndexOf('/') + 1) as Tier;
      if (!TIERS.includes(tier) || info.key !== tierRecordKey(group, packId, tier)) continue;
      let stated: { at?: unknown; reason?: unknown } = {};
      try {
        stated = JSON.parse((await readObject(repo.store, info.key)).toString('utf8')) as typeof stated;
      } catch {
        // A record that does not parse still says the pack entered the tier, when its object was written.
      }
      const at = typeof stated.at === 'string' ? new Date(stated.at) : undefined;
      out.push({
        group,
        packId,
        tier,
        key: info.key,
        at: at && !Number.isNaN(at.getTime()) ? at : info.lastModified,
        ...(typeof stated.reason === 'string' && { reason: stated.reason }),
      });
    }
  }
  return out;
}

/** Records that a pack entered a tier; a record already there (a re-run after a crash) is kept as it is. */
export async function writeTierRecord(
  repo: Repository,
  record: { group: string; packId: string; tier: Tier; storageClass?: StorageClass; reason: string; at: Date },
): Promise<void> {
  const body = Buffer.from(
    JSON.stringify({
      tier: record.tier,
      storageClass: record.storageClass,
      at: record.at.toISOString(),
      reason: record.reason,
    }) + '\n',
  );
  try {
    await repo.store.put(tierRecordKey(record.group, record.packId, record.tier), body, {
      ifNoneMatch: true,
      contentType: 'application/json',
    });
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
}

/**
 * Every pack and where it is. With storage classes, the class the store reports is the truth (it is what is billed
 * and what reads need); records only say since when. Without, the coldest record is the tier. A record older than
 * its pack object belongs to an earlier pack of the same id (deleted by gc, archived again) and is ignored.
 */
export async function readPlacements(
  repo: Repository,
  classes: Record<Tier, StorageClass> | undefined,
): Promise<{ packs: PackPlacement[]; orphanRecords: string[] }> {
  const packs = new Map<string, ObjectInfo & { group: string; packId: string }>();
  for await (const info of repo.store.list(PACKS_PREFIX)) {
    const parsed = parseGroupKey(PACKS_PREFIX, info.key);
    if (parsed) packs.set(`${parsed.group}/${parsed.packId}`, { ...info, ...parsed });
  }
  const recorded = new Map<string, { tier: Tier; at: Date }>();
  const orphanRecords: string[] = [];
  for await (const r of listTierRecords(repo)) {
    const name = `${r.group}/${r.packId}`;
    const pack = packs.get(name);
    if (!pack) {
      orphanRecords.push(r.key);
      continue;
    }
    if (r.at < pack.lastModified) continue;
    const seen = recorded.get(name);
    if (!seen || colder(r.tier, seen.tier)) recorded.set(name, { tier: r.tier, at: r.at });
  }
  const out: PackPlacement[] = [];
  for (const [name, p] of packs) {
    const rec = recorded.get(name);
    let tier: Tier;
    let since: Date;
    if (classes) {
      tier = tierOfClass(p.storageClass ?? 'STANDARD', classes);
      // A class change rewrites the object (new lastModified) before its record is written.
      since = rec && rec.tier === tier ? rec.at : p.lastModified;
    } else {
      tier = rec?.tier ?? 'hot';
      since = rec?.at ?? p.lastModified;
    }
    out.push({ group: p.group, packId: p.packId, bytes: p.size, tier, since });
  }
  return { packs: out, orphanRecords };
}
