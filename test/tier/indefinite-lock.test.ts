// A compliance class kept indefinitely is locked in COMPLIANCE mode for a rolling window (not "forever", which could
// never be undone): at archive time, then extended by the tier run once less than half the window remains.
import { fc, test as propTest } from '@fast-check/vitest';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { archiveBundle, initRepository, readManifest, type Repository } from '../../lib/archive/index.ts';
import { manifestKey, packKey } from '../../lib/archive/repository.ts';
import { StoreError } from '../../lib/errors.ts';
import { complianceRetention } from '../../lib/pipeline/policy-verdict.ts';
import { complianceLock, INDEFINITE_LOCK_WINDOW_DAYS } from '../../lib/policy/index.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { enforceLocks, gatherTierFacts } from '../../lib/tier/index.ts';
import { bundleOf, SMALL, tempDir } from '../archive/fixtures.ts';
import { policySet } from '../policy/helpers.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';
import { DAY, workflowAt } from './helpers.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const WINDOW = INDEFINITE_LOCK_WINDOW_DAYS * DAY;
const NONE = { holds: [], extensions: [] };
const POLICY = policySet(
  [
    {
      name: 'legal-archive',
      match: 'labels[?"class"].orValue("") == "legal"',
      complianceClass: 'legal-archive',
      retainFor: 'indefinite',
      priority: 50,
    },
  ],
  { archiveAfter: '0s', retainFor: '30d' },
);

test('complianceLock: a definite floor locks to itself; an indefinite one a window ahead, renewed at half', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const floor = new Date('2033-06-01T00:00:00Z');
  expect(complianceLock(floor, now)).toEqual({ until: floor, renewBefore: floor });
  expect(complianceLock(new Date('2026-01-01T00:00:00Z'), now)).toBeUndefined();
  expect(complianceLock(undefined, now)).toBeUndefined();
  expect(complianceLock('indefinite', now)).toEqual({
    until: new Date(now.getTime() + WINDOW),
    renewBefore: new Date(now.getTime() + WINDOW / 2),
  });
});

/** A repository on a directory store whose Object Lock emulation runs on `clock.now`. */
async function lockedRepo(): Promise<{ repo: Repository; store: FileSystemStore; clock: { now: Date } }> {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const clock = { now: new Date('2026-06-01T00:00:00Z') };
  const store = new FileSystemStore(dir.path, () => clock.now);
  return { repo: await initRepository(store, SMALL), store, clock };
}

async function archiveLegal(repo: Repository, uid: string, at: Date, labels = { class: 'legal' }): Promise<string[]> {
  const bundle = bundleOf(
    uid,
    [{ path: 'logs/main.log', data: randomBytes(12_000) }],
    workflowAt(uid, new Date(at.getTime() - DAY), labels),
  );
  const { manifestId } = await archiveBundle(repo, bundle, {
    group: 'g',
    retainUntil: complianceRetention(POLICY, () => at),
  });
  const packs = (await readManifest(repo, manifestId)).packs.map((p) => packKey('g', p));
  return [manifestKey(manifestId), ...packs];
}

async function tierRun(repo: Repository, now: Date) {
  const facts = await gatherTierFacts(repo, {
    policySet: POLICY,
    holds: NONE,
    pricing: DEFAULT_PRICING,
    now,
    classes: undefined,
  });
  return enforceLocks(repo, facts.workflows, NONE, now);
}

const lockOf = async (store: ObjectStore, key: string) => (await store.head(key))?.retainUntil?.getTime();

describe('an indefinite compliance class on a directory store with Object Lock', () => {
  test('archived locked a window ahead; the tier run leaves it while half remains, then extends it', async () => {
    const { repo, store, clock } = await lockedRepo();
    const t0 = clock.now;
    const keys = await archiveLegal(repo, 'legal-1', t0);
    const plain = await archiveLegal(repo, 'plain-1', t0, { class: 'none' });
    for (const key of keys) expect(await lockOf(store, key), key).toBe(t0.getTime() + WINDOW);
    expect(await lockOf(store, plain[0]!)).toBeUndefined();

    clock.now = new Date(t0.getTime() + 100 * DAY);
    expect((await tierRun(repo, clock.now)).retentionSet).toEqual([]);
    await expect(store.delete([keys[0]!])).rejects.toBeInstanceOf(StoreError);

    clock.now = new Date(t0.getTime() + 200 * DAY);
    const renewed = await tierRun(repo, clock.now);
    expect(renewed.retentionSet.sort()).toEqual([...keys].sort());
    for (const key of keys) expect(await lockOf(store, key), key).toBe(clock.now.getTime() + WINDOW);

    // Past the archive-time lock's end: still refused, because the tier run extended it.
    clock.now = new Date(t0.getTime() + WINDOW + 10 * DAY);
    await expect(store.delete([keys[1]!])).rejects.toThrow(/COMPLIANCE retention until/);
    await store.delete([plain[0]!]);
  });

  propTest.prop(
    [
      fc.array(fc.integer({ min: 1, max: Math.floor(INDEFINITE_LOCK_WINDOW_DAYS / 2) }), {
        minLength: 1,
        maxLength: 12,
      }),
    ],
    {
      numRuns: 15,
    },
  )('tier runs at most half a window apart: the lock never lapses', async (gapsInDays) => {
    const { repo, store, clock } = await lockedRepo();
    const keys = await archiveLegal(repo, 'legal-p', clock.now);
    for (const gap of gapsInDays) {
      const next = new Date(clock.now.getTime() + gap * DAY);
      // Up to the moment of the next run, every object is still locked.
      for (const key of keys) expect((await lockOf(store, key))!, key).toBeGreaterThan(next.getTime());
      clock.now = next;
      const report = await tierRun(repo, clock.now);
      expect(report.problems).toEqual([]);
      for (const key of keys) {
        expect((await lockOf(store, key))! - clock.now.getTime(), key).toBeGreaterThanOrEqual(WINDOW / 2);
      }
    }
  });
});

const { peer, skip } = s3PeerOrSkip();
describe.skipIf(!peer?.server.startsWith('moto'))(
  `an indefinite compliance class on ${peer?.server ?? `S3 (skipped: ${skip})`}`,
  () => {
    test('archived under COMPLIANCE retention a window ahead: the store refuses its deletion', async () => {
      const store = storeOn(peer!, await createBucket(peer!, { objectLock: true }));
      const repo = await initRepository(store, SMALL);
      const before = Date.now();
      const keys = await archiveLegal(repo, 'legal-s3', new Date());
      for (const key of keys) {
        const until = (await lockOf(store, key))!;
        expect(until, key).toBeGreaterThanOrEqual(before + WINDOW - 1000);
        expect(until, key).toBeLessThanOrEqual(Date.now() + WINDOW + 1000);
      }
      await expect(store.delete([keys[0]!])).rejects.toBeInstanceOf(StoreError);
      // A tier run the same day changes nothing: more than half the window remains.
      expect((await tierRun(repo, new Date())).retentionSet).toEqual([]);
    });
  },
);
