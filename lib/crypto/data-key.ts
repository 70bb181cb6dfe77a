// A tenant's data key: 32 random bytes, from which the keys of each job are derived (object encryption, chunk ids,
// the chunker's gear seed), so one secret — wrapped by the tenant's key-encryption key — decides all of them.
import { createHmac, randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.ts';
import { KEY_ID_SIZE } from './segments.ts';

export class DataKey {
  readonly encryptionKey: Buffer;
  readonly chunkIdKey: Buffer;
  /** Secret gear seed: cut points then say nothing about content to whoever knows the public default seed. */
  readonly chunkerSeed: string;
  /** Names this key in proofs (erasure records) without revealing it. */
  readonly checkValue: string;

  constructor(
    readonly tenant: string,
    /** 16 bytes, written in the header of every object the key seals. */
    readonly id: Buffer,
    material: Buffer,
  ) {
    const derive = (label: string) => createHmac('sha256', material).update(label).digest();
    this.encryptionKey = derive('strata-encryption-v1');
    this.chunkIdKey = derive('strata-chunk-id-v1');
    this.chunkerSeed = derive('strata-gear-seed-v1').toString('hex');
    this.checkValue = derive('strata-key-check-v1').toString('hex').slice(0, 32);
  }

  static generate(tenant: string): { key: DataKey; material: Buffer } {
    const material = randomBytes(32);
    return { key: new DataKey(tenant, randomBytes(KEY_ID_SIZE), material), material };
  }

  /** Chunk id: HMAC-SHA256 under the tenant's key, so equal content has unrelated ids in different tenants. */
  chunkId(data: Uint8Array): Buffer {
    return createHmac('sha256', this.chunkIdKey).update(data).digest();
  }
}

const TENANT = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/;
/** Objects that belong to no workflow (config, audit, holds, tier records) are sealed with this tenant's key. */
export const REPOSITORY_TENANT = '_repository';

export function checkTenant(tenant: string): string {
  if (!TENANT.test(tenant)) throw new ConfigError(`tenant "${tenant}" must match ${TENANT.source}`);
  return tenant;
}
