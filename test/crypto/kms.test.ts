// Envelope keys in AWS KMS (moto serves KMS on the S3 peer's endpoint): the store contract sealed over S3 with KMS
// KEKs, and a tenant's key life — created once, shared by a fresh process, rotated, then erased for good.
import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { beforeAll, describe, expect, it } from 'vitest';
import { EncryptedStore } from '../../lib/crypto/encrypted-store.ts';
import { KeyUnavailableError } from '../../lib/crypto/errors.ts';
import { Keyring } from '../../lib/crypto/keyring.ts';
import { KmsKeys } from '../../lib/crypto/kms-keys.ts';
import { describeError } from '../../lib/errors.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { createBucket, s3PeerOrSkip, storeOn, type PeerInfo } from '../support/s3-fixtures.ts';
import { describeStoreContract } from '../store/contract.ts';

const { peer, skip } = s3PeerOrSkip();
const aliasPrefix = `strata-test-${randomBytes(4).toString('hex')}/`;

const kmsOf = (p: PeerInfo) =>
  new KmsKeys(
    {
      endpoint: p.endpoint,
      region: p.region,
      credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
    },
    { aliasPrefix },
  );
const sealed = (p: PeerInfo, inner: ObjectStore, tenant?: string) =>
  new EncryptedStore(inner, new Keyring(inner, kmsOf(p)), tenant ? { tenant } : {});

if (!peer || !peer.server.startsWith('moto')) {
  describe.skip(`KMS keys (skipped: ${skip ?? 'the S3 peer is not moto, which serves KMS'})`, () => {});
} else {
  let plain: Promise<string> | undefined;
  let locked: Promise<string> | undefined;
  const plainBucket = () => (plain ??= createBucket(peer));
  const lockedBucket = () => (locked ??= createBucket(peer, { objectLock: true }));

  describeStoreContract(
    `encrypted with KMS keys, over ${peer.server}`,
    {
      makeStore: async () => sealed(peer, storeOn(peer, await plainBucket())),
      makeLockedStore: async () => sealed(peer, storeOn(peer, await lockedBucket())),
    },
    {
      versioning: true,
      refusesHostileKeys: false,
      restoreCompletes: 'immediately',
      storageClasses: true,
      enforcesCompliance: false,
      offers: { storageClasses: true, objectLock: true, versions: true, unfinishedWrites: true },
    },
  );

  describe('KMS envelope keys', () => {
    let bucket: string;
    beforeAll(async () => {
      bucket = await plainBucket();
    });

    it('one data key per tenant, shared by a fresh process; rotation keeps data readable; erasure ends it', async () => {
      const inner = storeOn(peer, bucket);
      const body = randomBytes(200_000);
      await sealed(peer, inner, 'team-a').put('archive/packs/g/a', body);
      await sealed(peer, inner, 'team-b').put('archive/packs/g/b', Buffer.from('other tenant'));
      const fresh = sealed(peer, inner);
      expect((await buffer(await fresh.get('archive/packs/g/a'))).equals(body)).toBe(true);

      const rotated = await fresh.keyring.rotate('team-a');
      expect(rotated.to).not.toBe(rotated.from);
      const afterRotation = sealed(peer, inner);
      expect(
        (await buffer(await afterRotation.get('archive/packs/g/a', { start: 70_000, end: 70_009 }))).equals(
          body.subarray(70_000, 70_010),
        ),
      ).toBe(true);

      const proof = await afterRotation.keyring.erase('team-a');
      expect(proof.unwrapRefused).toBe(true);
      expect(proof.destroyed.state.join()).toMatch(/PendingDeletion/);
      for (const reader of [afterRotation, sealed(peer, inner)]) {
        const err = await reader.get('archive/packs/g/a').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(KeyUnavailableError);
        expect(describeError(err)).toMatch(/key archive\/packs\/g\/a: .*tenant "team-a", erased at/);
        expect((await buffer(await reader.get('archive/packs/g/b'))).toString()).toBe('other tenant');
      }
    });
  });
}
