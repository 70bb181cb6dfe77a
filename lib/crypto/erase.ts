// Erasing a tenant: crypto-shredding first (its KEK destroyed: every copy of its data, in every tier, replica and
// backup, is unreadable from then on), then the deletion of its sealed objects from this store, found by the data
// key id in their headers (readable without any key), so expiry and gc are not left with manifests nobody can read.
import { describeError } from '../errors.ts';
import type { EncryptedStore } from './encrypted-store.ts';
import type { ErasureProof } from './keyring.ts';
import { HEADER_SIZE, isEncrypted } from './segments.ts';

const MANIFESTS_PREFIX = 'archive/manifests/';

export interface ErasureReport extends ErasureProof {
  /** Sealed objects of the tenant deleted from the store. */
  deleted: number;
  /** Ids of the manifests among them (the audit record lists them: verify knows their deletion is on record). */
  manifests: string[];
  /** Ones the store would not delete (Object Lock, legal hold): unreadable all the same. */
  kept: Array<{ key: string; why: string }>;
}

const DELETE_BATCH = 500;

export async function eraseTenant(store: EncryptedStore, tenant: string, prefix = 'archive/'): Promise<ErasureReport> {
  const proof = await store.keyring.erase(tenant);
  const ids = new Set(proof.dataKeys.map((k) => k.id));
  const report: ErasureReport = { ...proof, deleted: 0, manifests: [], kept: [] };
  if (ids.size === 0) return report;
  const doomed: string[] = [];
  for await (const o of store.inner.list(prefix)) {
    if (o.size < HEADER_SIZE) continue;
    const head = await readHeader(store, o.key);
    if (head && isEncrypted(head) && ids.has(head.subarray(16, 32).toString('hex'))) doomed.push(o.key);
  }
  report.manifests = doomed.filter((k) => k.startsWith(MANIFESTS_PREFIX)).map((k) => k.slice(MANIFESTS_PREFIX.length));
  for (let i = 0; i < doomed.length; i += DELETE_BATCH) {
    const batch = doomed.slice(i, i + DELETE_BATCH);
    try {
      await store.delete(batch);
      report.deleted += batch.length;
    } catch {
      // One by one, to keep what is protected and delete the rest.
      for (const key of batch) {
        try {
          await store.delete([key]);
          report.deleted++;
        } catch (err) {
          report.kept.push({ key, why: describeError(err) });
        }
      }
    }
  }
  return report;
}

async function readHeader(store: EncryptedStore, key: string): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  try {
    for await (const p of await store.inner.get(key, { start: 0, end: HEADER_SIZE - 1 })) parts.push(p as Buffer);
  } catch {
    return undefined; // gone meanwhile, or in a cold tier (its KEK is gone all the same)
  }
  return Buffer.concat(parts);
}
