// Buckets and stores on the loopback S3 peer for the suites (a plain bucket and an Object Lock bucket).
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { S3Store, type S3StoreOptions } from '../../lib/store/s3.ts';
import type { S3Peer } from './s3-peer.ts';

export type PeerInfo = Omit<S3Peer, 'stop'>;

/** The peer from globalSetup, or the reason the S3 suites skip. */
export function s3PeerOrSkip(): { peer?: PeerInfo; skip?: string } {
  const info = inject('s3Peer');
  if (!info) return { skip: 'no S3 peer was provided (is test/setup/global-peers.ts the globalSetup?)' };
  return 'skip' in info ? { skip: info.skip } : { peer: info };
}

export function peerClient(peer: PeerInfo, endpoint = peer.endpoint): S3Client {
  return new S3Client({
    endpoint,
    region: peer.region,
    forcePathStyle: true,
    credentials: { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey },
  });
}

export async function createBucket(peer: PeerInfo, opts: { objectLock?: boolean } = {}): Promise<string> {
  const bucket = `strata-test-${randomBytes(5).toString('hex')}`;
  const client = peerClient(peer);
  await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: opts.objectLock }));
  client.destroy();
  return bucket;
}

export function storeOn(peer: PeerInfo, bucket: string, extra: Partial<S3StoreOptions> = {}): S3Store {
  return new S3Store({
    bucket,
    prefix: `t-${randomBytes(4).toString('hex')}/`,
    endpoint: peer.endpoint,
    region: peer.region,
    forcePathStyle: true,
    accessKeyId: peer.accessKeyId,
    secretAccessKey: peer.secretAccessKey,
    maxAttempts: 5,
    conditionalWrites: 'auto',
    ...extra,
  });
}
