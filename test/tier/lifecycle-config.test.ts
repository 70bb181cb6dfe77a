// Server-side lifecycle transitions and the bucket policy Strata emits: conservative days, no expirations, and a
// configuration the S3 peer accepts.
import {
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, test } from 'vitest';
import { parseTimeline, type RetentionAction } from '../../lib/policy/compile.ts';
import { parseDuration, parseRetention, retentionEnd } from '../../lib/policy/duration.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import { buildTimeline } from '../../lib/policy/timeline.ts';
import { bucketPolicy, GROUP_SKEW_DAYS, lifecycleRules } from '../../lib/tier/lifecycle-config.ts';
import type { ArchivedWorkflow } from '../../lib/tier/plan.ts';
import { tierClasses } from '../../lib/tier/storage-class.ts';
import { createBucket, peerClient, s3PeerOrSkip } from '../support/s3-fixtures.ts';

const { peer, skip } = s3PeerOrSkip();
const classes = tierClasses(DEFAULT_PRICING);

function wf(
  uid: string,
  group: string,
  spec: Record<string, string | boolean>,
  retain: string,
  finished: string,
): ArchivedWorkflow {
  const action: RetentionAction = {
    archiveAfter: parseDuration('30m')!,
    immediate: false,
    timeline: parseTimeline(spec)!,
    retainFor: parseRetention(retain)!,
    deleteSource: true,
  };
  const t0 = new Date(finished);
  return {
    manifestId: uid,
    uid,
    namespace: 'n',
    name: uid,
    group,
    packs: [],
    timeline: buildTimeline(action, t0, retentionEnd(t0, action.retainFor)),
  };
}

test('one rule per retention class: transitions at the latest due day plus the group skew, never an expiration', () => {
  const { rules, notes } = lifecycleRules(
    [
      wf('a', 'succeeded-2026-11', { hot: '7d', warm: '30d', cold: 'rest' }, '180d', '2026-11-01T00:00:00Z'),
      wf('b', 'succeeded-2026-12', { hot: '7d', warm: '30d', cold: 'rest' }, '180d', '2026-12-01T00:00:00Z'),
      wf(
        'c',
        'financial-2026-11',
        { hot: '30d', warm: '60d', cold: '1y', deepArchive: true },
        '7y',
        '2026-11-01T00:00:00Z',
      ),
    ],
    classes,
    'strata/',
  );
  expect(notes).toEqual([]);
  expect(rules).toEqual([
    {
      ID: 'strata-financial',
      Status: 'Enabled',
      Filter: { Prefix: 'strata/archive/packs/financial-' },
      Transitions: [
        { Days: 30 + GROUP_SKEW_DAYS, StorageClass: 'STANDARD_IA' },
        { Days: 90 + GROUP_SKEW_DAYS, StorageClass: 'GLACIER_IR' },
        { Days: 455 + GROUP_SKEW_DAYS, StorageClass: 'DEEP_ARCHIVE' },
      ],
    },
    {
      ID: 'strata-succeeded',
      Status: 'Enabled',
      Filter: { Prefix: 'strata/archive/packs/succeeded-' },
      Transitions: [
        { Days: 7 + GROUP_SKEW_DAYS, StorageClass: 'STANDARD_IA' },
        { Days: 37 + GROUP_SKEW_DAYS, StorageClass: 'GLACIER_IR' },
      ],
    },
  ]);
  expect(JSON.stringify(rules)).not.toMatch(/Expiration/);
});

test('a tier one workflow of the class never reaches is left out; undecided classes get no rule', () => {
  const { rules, notes } = lifecycleRules(
    [
      wf('a', 'mixed-2026-11', { hot: '7d', warm: '30d', cold: 'rest' }, '1y', '2026-11-01T00:00:00Z'),
      wf('b', 'mixed-2026-11', { hot: '7d', warm: 'rest' }, '1y', '2026-11-01T00:00:00Z'),
      {
        manifestId: 'u',
        uid: 'u',
        namespace: 'n',
        name: 'u',
        group: 'odd-2026-11',
        packs: [],
        undecided: 'failed closed',
      },
    ],
    classes,
    '',
  );
  expect(rules.map((r) => r.Transitions.map((t) => t.StorageClass))).toEqual([['STANDARD_IA']]);
  expect(notes).toEqual(['retention class "odd": policy cannot decide for 1 workflow(s): no rule']);
});

describe.skipIf(!peer)(`emitted configuration on ${peer?.server ?? `S3 (skipped: ${skip})`}`, () => {
  test('the S3 peer accepts the lifecycle configuration and the bucket policy', async () => {
    const bucket = await createBucket(peer!);
    const client = peerClient(peer!);
    const { rules } = lifecycleRules(
      [wf('a', 'succeeded-2026-11', { hot: '7d', warm: '30d', cold: 'rest' }, '180d', '2026-11-01T00:00:00Z')],
      classes,
      'p/',
    );
    await client.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: rules as never } }),
    );
    const back = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    expect(back.Rules?.[0]?.Transitions?.map((t) => t.StorageClass)).toEqual(['STANDARD_IA', 'GLACIER_IR']);
    await client.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify(bucketPolicy(bucket, 'p/', 'arn:aws:iam::123456789012:role/strata-deleter')),
      }),
    );
    client.destroy();
  });
});
