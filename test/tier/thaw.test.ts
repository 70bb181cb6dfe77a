// Cold restore planning: which packs must thaw, the cheapest tier that meets a deadline, hours and cost; on the S3
// peer a workflow in GLACIER and DEEP_ARCHIVE becomes readable once thawed; on a store without classes nothing waits.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { initRepository, readManifest, restoreWorkflow } from '../../lib/archive/index.ts';
import { packKey } from '../../lib/archive/repository.ts';
import { storageClassesOf } from '../../lib/store/store.ts';
import { planThaw, requestThaw, thawStates } from '../../lib/tier/thaw.ts';
import { SMALL, tempRepository } from '../archive/fixtures.ts';
import { runCli } from '../support/run-cli.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';
import { archiveAt } from './helpers.ts';

const GIB = 1024 ** 3;
const { peer, skip } = s3PeerOrSkip();
const out = mkdtempSync(join(tmpdir(), 'strata-thaw-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('planThaw', () => {
  const states = [
    { key: 'a', bytes: GIB, storageClass: 'GLACIER' as const, restore: 'not-started' as const },
    { key: 'b', bytes: GIB, storageClass: 'DEEP_ARCHIVE' as const, restore: 'not-started' as const },
    { key: 'c', bytes: GIB, storageClass: 'STANDARD_IA' as const },
    { key: 'd', bytes: GIB, storageClass: 'GLACIER' as const, restore: 'restored' as const },
  ];

  test('without a deadline: the cheapest tier (Bulk), 48 h for DEEP_ARCHIVE, readable packs left alone', () => {
    const plan = planThaw(states);
    expect(plan).toMatchObject({ total: 4, ready: 2, hours: 48 });
    expect(plan.packs.map((p) => [p.key, p.tier])).toEqual([
      ['a', 'Bulk'],
      ['b', 'Bulk'],
    ]);
    expect(plan.cost).toBeCloseTo(0 + 0.025 / 1000 + 0.0025 + 0.025 / 1000, 8);
  });

  test('a 12 h deadline takes Standard for DEEP_ARCHIVE and Bulk still for GLACIER; 1 h takes Expedited and says DEEP cannot', () => {
    const twelve = planThaw(states, 12);
    expect(twelve.packs.map((p) => p.tier)).toEqual(['Bulk', 'Standard']);
    expect(twelve.hours).toBe(12);
    expect(twelve.deadlineMissed).toBeUndefined();
    const one = planThaw(states, 1);
    expect(one.packs.map((p) => p.tier)).toEqual(['Expedited', 'Standard']);
    expect(one.deadlineMissed).toMatch(/no retrieval tier of DEEP_ARCHIVE completes within 1 h/);
  });

  test('a thaw already in progress is not paid for twice', () => {
    const plan = planThaw([{ key: 'a', bytes: GIB, storageClass: 'GLACIER', restore: 'in-progress' }]);
    expect(plan.packs).toHaveLength(1);
    expect(plan.cost).toBe(0);
  });
});

test('on a store without classes nothing needs a thaw: strata thaw says so and exits 0', async () => {
  const t = await tempRepository();
  try {
    await archiveAt(t.repo, 'w', new Date(), [randomBytes(5_000)]);
    const r = await runCli(['--store', `file:${t.root}`, 'thaw', 'w', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ready: 1, packs: 1, thawing: 0, retrievalCost: 0 });
  } finally {
    t.cleanup();
  }
});

describe.skipIf(!peer)(`thaw on ${peer?.server ?? `S3 (skipped: ${skip})`}`, () => {
  test.runIf(peer?.server.startsWith('moto'))(
    'packs in GLACIER and DEEP_ARCHIVE are requested, then the workflow restores',
    async () => {
      const store = storeOn(peer!, await createBucket(peer!));
      const repo = await initRepository(store, SMALL);
      const id = await archiveAt(repo, 'cold', new Date(), [randomBytes(90_000), randomBytes(90_000)]);
      const manifest = await readManifest(repo, id);
      expect(manifest.packs.length).toBeGreaterThan(1);
      const classes = storageClassesOf(store)!;
      await classes.setStorageClass(packKey('g', manifest.packs[0]!), 'GLACIER');
      for (const p of manifest.packs.slice(1)) await classes.setStorageClass(packKey('g', p), 'DEEP_ARCHIVE');
      await expect(restoreWorkflow(repo, id, join(out, 'before'))).rejects.toThrow(/restored/);

      const plan = planThaw(await thawStates(repo, manifest), 12);
      expect(plan.ready).toBe(0);
      expect(plan.packs.map((p) => p.tier)).toEqual(['Bulk', ...manifest.packs.slice(1).map(() => 'Standard')]);
      const after = planThaw(await requestThaw(repo, manifest, plan, 1), 12);
      expect(after.ready).toBe(after.total); // moto completes restores at once
      await restoreWorkflow(repo, id, join(out, 'after'));
    },
  );
});
