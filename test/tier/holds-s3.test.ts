// Holds the store enforces, on the loopback S3 peer with an Object Lock bucket: a legal hold locks the workflow's
// manifest and packs so the store itself denies their deletion (to Strata and to a raw client alike); a release
// unlocks only what no other hold needs; a compliance class writes COMPLIANCE retention to its floor.
import { DeleteObjectsCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { initRepository, readManifest, type Repository } from '../../lib/archive/index.ts';
import { manifestKey, packKey } from '../../lib/archive/repository.ts';
import { emergencyDelete } from '../../lib/pipeline/emergency-delete.ts';
import type { HoldsAndExtensions } from '../../lib/policy/holds.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import { StoreError } from '../../lib/errors.ts';
import type { S3Store } from '../../lib/store/s3.ts';
import { enforceLocks, gatherTierFacts, lockTargets } from '../../lib/tier/index.ts';
import { archiveBundle } from '../../lib/archive/index.ts';
import { complianceRetention } from '../../lib/pipeline/policy-verdict.ts';
import { bundleOf, SMALL } from '../archive/fixtures.ts';
import { policySet } from '../policy/helpers.ts';
import { createBucket, peerClient, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';
import { archiveAt, DAY, workflowAt } from './helpers.ts';

const { peer, skip } = s3PeerOrSkip();
const hold = (uid: string, id: string, released?: Date) => ({
  id,
  workflowUid: uid,
  actor: 'legal',
  reason: 'litigation',
  created: new Date().toISOString(),
  ...(released ? { released: { actor: 'legal', reason: 'settled', at: released.toISOString() } } : {}),
});

/** Tries to delete every version of a key with the SDK directly, as an administrator script would. */
async function rawDeleteAllVersions(store: S3Store, bucket: string, key: string): Promise<string[]> {
  const client = peerClient(peer!);
  const full = `${store.url.split('/').slice(3).join('/')}${key}`;
  const versions = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: full }));
  const out = await client.send(
    new DeleteObjectsCommand({
      Bucket: bucket,
      Delete: { Objects: (versions.Versions ?? []).map((v) => ({ Key: v.Key!, VersionId: v.VersionId })) },
    }),
  );
  client.destroy();
  return (out.Errors ?? []).map((e) => e.Code ?? 'error');
}

describe.skipIf(!peer)(`holds the store enforces on ${peer?.server ?? `S3 (skipped: ${skip})`}`, () => {
  test.runIf(peer?.server.startsWith('moto'))(
    'a legal hold locks manifest and packs; the store denies their deletion; release keeps what another hold needs',
    async () => {
      const bucket = await createBucket(peer!, { objectLock: true });
      const store = storeOn(peer!, bucket);
      const repo: Repository = await initRepository(store, SMALL);
      const shared = randomBytes(30_000);
      const a = await archiveAt(repo, 'a', new Date(), [shared, randomBytes(5_000)]);
      const b = await archiveAt(repo, 'b', new Date(), [shared]);
      const packsA = (await readManifest(repo, a)).packs.map((p) => packKey('g', p));
      const packsB = (await readManifest(repo, b)).packs.map((p) => packKey('g', p));
      const now = new Date();
      const both: HoldsAndExtensions = { holds: [hold('a', 'h1'), hold('b', 'h2')], extensions: [] };

      const set = await enforceLocks(repo, await lockTargets(repo), both, now);
      expect(set.problems).toEqual([]);
      for (const key of [manifestKey(a), ...packsA, manifestKey(b), ...packsB])
        expect((await store.head(key))?.legalHold, key).toBe(true);

      // Denied by the store itself: Strata's delete, and a raw client deleting every version.
      await expect(store.delete([packsA[0]!])).rejects.toBeInstanceOf(StoreError);
      expect(await rawDeleteAllVersions(store, bucket, manifestKey(a))).toEqual(['AccessDenied']);
      const refused = await emergencyDelete(
        { uid: 'a', reason: 'erasure', approver: 'dpo', actor: 'oncall', breakGlass: false, dryRun: false },
        { repo, holds: both, audit: { record: async () => {} }, now, settleMs: 0 },
      );
      expect(refused.refused).toBe(true);

      // Releasing a's hold unlocks a's own objects, not the pack b (still held) shares.
      const released: HoldsAndExtensions = { holds: [hold('a', 'h1', now), hold('b', 'h2')], extensions: [] };
      const cleared = await enforceLocks(repo, await lockTargets(repo), released, new Date(now.getTime() + 1000));
      expect(cleared.legalHoldsCleared).toContain(manifestKey(a));
      for (const key of packsB) expect((await store.head(key))?.legalHold, key).toBe(true);
      for (const key of packsA.filter((k) => !packsB.includes(k)))
        expect((await store.head(key))?.legalHold).toBe(false);
      expect((await store.head(manifestKey(a)))?.legalHold).toBe(false);
    },
  );

  test.runIf(peer?.server.startsWith('moto'))(
    'a compliance class locks its objects in COMPLIANCE mode to its floor: early deletion is denied, break-glass too',
    async () => {
      const bucket = await createBucket(peer!, { objectLock: true });
      const store = storeOn(peer!, bucket);
      const repo = await initRepository(store, SMALL);
      const finished = new Date(Date.now() - DAY);
      const id = await archiveAt(repo, 'fin', finished, [randomBytes(10_000)]);
      const set = policySet(
        [{ name: 'financial', match: 'true', complianceClass: 'financial', retainFor: '7y', priority: 50 }],
        { archiveAfter: '0s', retainFor: '30d' },
      );
      const now = new Date();
      const none: HoldsAndExtensions = { holds: [], extensions: [] };
      const facts = await gatherTierFacts(repo, {
        policySet: set,
        holds: none,
        pricing: DEFAULT_PRICING,
        now,
        classes: undefined,
      });
      const floor = facts.workflows[0]!.retainUntil!;
      expect(floor.getUTCFullYear()).toBe(finished.getUTCFullYear() + 7);

      const report = await enforceLocks(repo, facts.workflows, none, now);
      expect(report.problems).toEqual([]);
      const packs = (await readManifest(repo, id)).packs.map((p) => packKey('g', p));
      for (const key of [manifestKey(id), ...packs]) {
        expect(Math.abs((await store.head(key))!.retainUntil!.getTime() - floor.getTime()), key).toBeLessThan(1000);
      }
      expect(await rawDeleteAllVersions(store, bucket, packs[0]!)).toEqual(['AccessDenied']);
      const forced = await emergencyDelete(
        { uid: 'fin', reason: 'erasure', approver: 'dpo', actor: 'oncall', breakGlass: true, dryRun: false },
        { repo, holds: none, audit: { record: async () => {} }, now, settleMs: 0 },
      );
      expect(forced.refused).toBe(true);
      expect(forced.reasons[0]).toMatch(/under Object Lock retention until .*: the store refuses deletion before then/);
      expect(await store.head(manifestKey(id))).toBeDefined();
    },
  );

  test.runIf(peer?.server.startsWith('moto'))(
    'a compliance class is locked when it is archived: the store refuses early deletion before any tier run',
    async () => {
      const bucket = await createBucket(peer!, { objectLock: true });
      const store = storeOn(peer!, bucket);
      const repo = await initRepository(store, SMALL);
      const set = policySet(
        [
          {
            name: 'financial',
            match: 'labels[?"class"].orValue("") == "financial"',
            complianceClass: 'financial',
            retainFor: '7y',
            priority: 50,
          },
        ],
        { archiveAfter: '0s', retainFor: '30d' },
      );
      const retainUntil = complianceRetention(set);
      const finished = new Date(Date.now() - DAY);
      const archive = async (uid: string, labels: Record<string, string>) =>
        (
          await archiveBundle(
            repo,
            bundleOf(uid, [{ path: 'logs/main.log', data: randomBytes(12_000) }], workflowAt(uid, finished, labels)),
            { group: 'g', retainUntil },
          )
        ).manifestId;
      const fin = await archive('fin', { class: 'financial' });
      const plain = await archive('plain', {});

      const floor = new Date(finished);
      floor.setUTCFullYear(floor.getUTCFullYear() + 7);
      const packs = (await readManifest(repo, fin)).packs.map((p) => packKey('g', p));
      for (const key of [manifestKey(fin), ...packs]) {
        const info = await store.head(key);
        expect(Math.abs(info!.retainUntil!.getTime() - floor.getTime()), key).toBeLessThan(1000);
      }
      // Denied by the store itself, to Strata and to a raw client deleting every version.
      await expect(store.delete([manifestKey(fin)])).rejects.toBeInstanceOf(StoreError);
      expect(await rawDeleteAllVersions(store, bucket, manifestKey(fin))).toEqual(['AccessDenied']);
      expect(await rawDeleteAllVersions(store, bucket, packs[0]!)).toEqual(['AccessDenied']);
      // A workflow of no compliance class is written without retention.
      expect((await store.head(manifestKey(plain)))?.retainUntil).toBeUndefined();
      await store.delete([manifestKey(plain)]);
      expect(await store.head(manifestKey(plain))).toBeUndefined();
    },
  );
});
