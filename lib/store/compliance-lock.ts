// COMPLIANCE retention on objects already written (stores with Object Lock): only ever extended, never shortened
// (S3 refuses that in COMPLIANCE mode anyway). The archive's packs and manifests and the audit log's segments use it.
import { mapLimit } from '../concurrency.ts';
import { objectLockOf, type ObjectStore } from './store.ts';

/**
 * Locks each key in COMPLIANCE mode until `until`, unless it is already locked at least that long. Returns false
 * when the store has no Object Lock (a directory store without it: Strata's own checks are all there is).
 */
export async function lockUntil(store: ObjectStore, keys: readonly string[], until: Date): Promise<boolean> {
  const lock = objectLockOf(store);
  if (!lock) return false;
  await mapLimit([...keys], 8, async (key) => {
    const info = await store.head(key);
    if (!info || (info.retainUntil && info.retainUntil >= until)) return;
    await lock.setRetention(key, 'COMPLIANCE', until);
  });
  return true;
}
