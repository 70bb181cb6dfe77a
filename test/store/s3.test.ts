// The S3 adapter against the real loopback S3 peer (moto by default): the shared contract plus S3-only checks.
import {
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlreadyExistsError, describeError, IntegrityError, NotFoundError, StoreError } from '../../lib/errors.ts';
import { collectGarbage, initRepository, verifyRepository } from '../../lib/archive/index.ts';
import { parseRestore } from '../../lib/store/s3.ts';
import { createBucket, peerClient, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';
import { describeStoreContract } from './contract.ts';

const { peer, skip } = s3PeerOrSkip();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('parseRestore', () => {
  it('reads the three states of the Restore header', () => {
    expect(parseRestore(undefined)).toEqual({ state: 'not-started' });
    expect(parseRestore('ongoing-request="true"')).toEqual({ state: 'in-progress' });
    expect(parseRestore('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"')).toEqual({
      state: 'restored',
      expiresAt: new Date('2012-12-21T00:00:00Z'),
    });
  });
});

if (!peer) {
  describe.skip(`S3 store (skipped: ${skip})`, () => {});
} else {
  const isMoto = peer.server.startsWith('moto');
  let plain: Promise<string> | undefined;
  let locked: Promise<string> | undefined;
  const plainBucket = () => (plain ??= createBucket(peer));
  const lockedBucket = () => (locked ??= createBucket(peer, { objectLock: true }));

  describeStoreContract(
    peer.server,
    {
      makeStore: async () => storeOn(peer, await plainBucket()),
      makeLockedStore: async () => storeOn(peer, await lockedBucket()),
    },
    {
      versioning: true,
      refusesHostileKeys: false,
      restoreCompletes: 'immediately',
      storageClasses: isMoto,
      enforcesCompliance: !isMoto,
      offers: { storageClasses: true, objectLock: true, versions: true, unfinishedWrites: true },
    },
  );

  describe(`S3Store on ${peer.server}`, () => {
    let bucket: string;
    beforeAll(async () => {
      bucket = await plainBucket();
    });

    it('finds that the peer honours If-None-Match, and the head-then-put fallback still refuses existing keys', async () => {
      expect(await storeOn(peer, bucket).conditionalWritesWork()).toBe(true);
      const s = storeOn(peer, bucket, { conditionalWrites: 'off' });
      expect(await s.conditionalWritesWork()).toBe(false);
      await s.put('k', Buffer.from('1'), { ifNoneMatch: true });
      await expect(s.put('k', Buffer.from('2'), { ifNoneMatch: true })).rejects.toBeInstanceOf(AlreadyExistsError);
      expect((await buffer(await s.get('k'))).toString()).toBe('1');
    });

    it('aborts a multipart upload whose SHA-256 does not match: nothing visible, no parts left behind', async () => {
      const s = storeOn(peer, bucket);
      await s.put('mp', Buffer.from('previous'));
      const body = randomBytes(11 * 1024 * 1024);
      await expect(
        s.put('mp', Readable.from([body.subarray(0, 6e6), body.subarray(6e6)]), { sha256: sha(randomBytes(4)) }),
      ).rejects.toBeInstanceOf(IntegrityError);
      expect((await buffer(await s.get('mp'))).toString()).toBe('previous');
      const client = peerClient(peer);
      const uploads = await client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: s.url.split('/')[3] }),
      );
      expect(uploads.Uploads ?? []).toEqual([]);
      client.destroy();
    });

    it('refuses a create-only multipart upload onto an existing key, leaving the object and no parts', async () => {
      const s = storeOn(peer, bucket);
      await s.put('mp-cond', Buffer.from('first'));
      const body = randomBytes(11 * 1024 * 1024);
      const second = Readable.from([body.subarray(0, 6e6), body.subarray(6e6)]);
      await expect(s.put('mp-cond', second, { ifNoneMatch: true })).rejects.toBeInstanceOf(AlreadyExistsError);
      expect((await buffer(await s.get('mp-cond'))).toString()).toBe('first');
      const client = peerClient(peer);
      const uploads = await client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: s.url.split('/')[3] }),
      );
      expect(uploads.Uploads ?? []).toEqual([]);
      client.destroy();
    });

    it("reclaims a killed writer's multipart upload after the grace period; verify lists it meanwhile", async () => {
      const s = storeOn(peer, bucket);
      const repo = await initRepository(s);
      const prefix = s.url.split('/')[3];
      const key = `archive/packs/default/${'b'.repeat(64)}`;
      // What a writer killed after its first part leaves: an upload that is never completed nor aborted.
      const client = peerClient(peer);
      const { UploadId } = await client.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${prefix}/${key}` }),
      );
      await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: `${prefix}/${key}`,
          UploadId,
          PartNumber: 1,
          Body: randomBytes(1000),
        }),
      );
      const uploads = async () =>
        (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }))).Uploads ?? [];

      expect((await verifyRepository(repo)).unfinished).toMatchObject([{ key, id: UploadId, size: 1000 }]);
      expect(await collectGarbage(repo, { graceMs: 3_600_000 })).toMatchObject({ unfinished: [], youngUnfinished: 1 });
      expect(await collectGarbage(repo, { graceMs: 0, dryRun: true })).toMatchObject({
        unfinished: [{ key, id: UploadId }],
        unfinishedBytes: 1000,
      });
      expect(await uploads()).toHaveLength(1);
      // Listed long ago but a part came in since: its writer is at work, the upload stays.
      const [listed] = (await verifyRepository(repo)).unfinished;
      expect(await s.removeUnfinished([{ ...listed!, lastModified: new Date(0) }])).toEqual([]);
      expect(await uploads()).toHaveLength(1);

      expect(await collectGarbage(repo, { graceMs: 0 })).toMatchObject({
        unfinished: [{ key }],
        unfinishedBytes: 1000,
      });
      expect(await uploads()).toEqual([]);
      client.destroy();
    });

    it('detects an object whose bytes no longer match the SHA-256 recorded at write time', async () => {
      const s = storeOn(peer, bucket);
      const body = Buffer.from('original bytes');
      await s.put('tamper', body, { sha256: sha(body) });
      const client = peerClient(peer);
      const Key = `${s.url.split('/')[3]}/tamper`;
      // Someone rewrites the object but keeps the old metadata.
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key, Body: 'evil bytes!!!!', Metadata: { 'strata-sha256': sha(body) } }),
      );
      client.destroy();
      await expect(buffer(await s.get('tamper'))).rejects.toBeInstanceOf(IntegrityError);
    });

    it.runIf(!isMoto)('reports a server without KMS refusing SSE in one line (MinIO without KMS)', async () => {
      const s = storeOn(peer, bucket, { sse: 'AES256' });
      await expect(s.put('enc', Buffer.from('secret'))).rejects.toThrow(/NotImplemented \(HTTP 501\).*KMS/);
    });

    it.runIf(isMoto)('sends server-side encryption headers', async () => {
      const s = storeOn(peer, bucket, { sse: 'AES256' });
      await s.put('enc', Buffer.from('secret'));
      await s.put('enc-big', Readable.from([randomBytes(6 * 1024 * 1024), randomBytes(4 * 1024 * 1024)]));
      const client = peerClient(peer);
      const prefix = s.url.split('/')[3];
      for (const key of ['enc', 'enc-big']) {
        const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}` }));
        expect(h.ServerSideEncryption, key).toBe('AES256');
      }
      client.destroy();
    });

    it('deletes every version of a key in a versioned bucket', async () => {
      const s = storeOn(peer, await lockedBucket());
      await s.put('v', Buffer.from('1'));
      await s.put('v', Buffer.from('2'));
      await s.delete(['v']);
      const left = [];
      for await (const v of s.listVersions('v')) left.push(v);
      expect(left).toEqual([]);
    });

    it.runIf(isMoto)('changes the class of a versioned object without leaving the old version billed', async () => {
      const s = storeOn(peer, await lockedBucket());
      await s.put('tiered', Buffer.from('pack bytes'));
      await s.setStorageClass('tiered', 'STANDARD_IA');
      const versions = [];
      for await (const v of s.listVersions('tiered')) versions.push(v);
      expect(versions).toHaveLength(1);
      expect((await s.head('tiered'))?.storageClass).toBe('STANDARD_IA');
      expect((await buffer(await s.get('tiered'))).toString()).toBe('pack bytes');
    });

    it.runIf(isMoto)(
      'refuses to move an object under Object Lock by copy (its protected version would stay)',
      async () => {
        const s = storeOn(peer, await lockedBucket());
        await s.put('locked', Buffer.from('evidence'));
        await s.setLegalHold('locked', true);
        await expect(s.setStorageClass('locked', 'GLACIER_IR')).rejects.toThrow(/under Object Lock/);
        expect((await s.head('locked'))?.storageClass).toBe('STANDARD');
        await s.setLegalHold('locked', false);
      },
    );

    it('maps a missing bucket and an unreachable endpoint to one clear line', async () => {
      const missing = storeOn(peer, 'no-such-bucket-strata');
      await expect(missing.put('x', Buffer.from('x'))).rejects.toThrow('bucket "no-such-bucket-strata" does not exist');
      await expect(missing.get('x')).rejects.toThrow(/does not exist/);
      const nowhere = storeOn({ ...peer, endpoint: 'http://127.0.0.1:9' }, bucket, { maxAttempts: 1 });
      const err = await nowhere.head('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect(describeError(err)).toBe('cannot reach S3 endpoint http://127.0.0.1:9: ECONNREFUSED');
      await expect(storeOn(peer, bucket).get('absent')).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}
