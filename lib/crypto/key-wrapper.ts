// Key-encryption keys (KEKs): one per tenant, held outside the bucket (a local key directory or AWS KMS), so
// destroying it makes every copy of the tenant's wrapped data key — in the bucket, its replicas and its backups —
// useless.
import type { DataKey } from './data-key.ts';

/** What a destroyed KEK leaves as evidence (recorded in the audit log by erasure). */
export interface KekDestruction {
  /** The KEKs destroyed (local key ids, KMS key ARNs). */
  keks: string[];
  /** Their state afterwards as the key holder reports it (e.g. "file removed", "PendingDeletion until …"). */
  state: string[];
}

export interface KeyWrapper {
  /** `local:<dir>` or `kms:<endpoint or region>`: where KEKs live, for messages. */
  readonly description: string;
  /** Wraps a data key under the tenant's current KEK (created on first use); returns which KEK and the blob. */
  wrap(key: DataKey, material: Buffer): Promise<{ kek: string; wrapped: Buffer }>;
  /** The data key's material; throws KeyUnavailableError when the KEK is gone or refuses. */
  unwrap(tenant: string, keyId: Buffer, kek: string, wrapped: Buffer): Promise<Buffer>;
  /** Makes a new KEK the tenant's current one; the old stays usable until `retire`. */
  rotate(tenant: string): Promise<void>;
  /** Retires a KEK no longer used by any wrapped key (after rotation). */
  retire(tenant: string, kek: string): Promise<void>;
  /** Destroys every KEK of the tenant (`known`: KEKs its wrapped keys name, besides the current one). */
  destroy(tenant: string, known: string[]): Promise<KekDestruction>;
}

/** Additional data binding a wrapped key to its tenant and id (a blob moved to another tenant does not unwrap). */
export function wrapContext(tenant: string, keyId: Buffer): Record<string, string> {
  return { 'strata:tenant': tenant, 'strata:data-key': keyId.toString('hex') };
}
