// COMPLIANCE retention written with the archive itself: a compliance class's packs are locked to its floor before
// its manifest is committed, and the manifest is written locked, so no moment exists where the store would allow
// an early delete. Retention is only ever extended, never shortened (S3 refuses that in COMPLIANCE mode anyway).
import { objectLockOf } from '../store/store.ts';
import { mapLimit } from '../concurrency.ts';
import { packKey, type Repository } from './repository.ts';

/**
 * Locks each key in COMPLIANCE mode until `until`, unless it is already locked at least that long. Returns false
 * when the store has no Object Lock (a directory store without it: Strata's own checks are all there is).
 */
export async function lockUntil(repo: Repository, keys: readonly string[], until: Date): Promise<boolean> {
  const lock = objectLockOf(repo.store);
  if (!lock) return false;
  await mapLimit([...keys], 8, async (key) => {
    const info = await repo.store.head(key);
    if (!info || (info.retainUntil && info.retainUntil >= until)) return;
    await lock.setRetention(key, 'COMPLIANCE', until);
  });
  return true;
}

export const packKeysOf = (group: string, packs: readonly string[]) => packs.map((p) => packKey(group, p));
