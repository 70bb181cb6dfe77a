// The tier engine on the loopback S3 peer: moves change the objects' storage class, a GLACIER pack cannot be read
// until it is restored, and the hot metadata (manifests, indexes) stays readable throughout.
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, describe, expect, test } from 'vitest';
import {
  archiveBundle,
  initRepository,
  readManifest,
  restoreWorkflow,
  verifyRepository,
} from '../../lib/archive/index.ts';
import { indexKey, packKey } from '../../lib/archive/repository.ts';
import { discardAudit } from '../../lib/audit/audit.ts';
import { ArchivedObjectError } from '../../lib/errors.ts';
import { NO_HOLDS } from '../../lib/policy/index.ts';
import { parsePricing } from '../../lib/policy/pricing.ts';
import { storageClassesOf } from '../../lib/store/store.ts';
import { applyTierPlan, gatherTierFacts, planTiering, tierClasses } from '../../lib/tier/index.ts';
import { bundleOf, SMALL } from '../archive/fixtures.ts';
import { policySet } from '../policy/helpers.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';

const { peer, skip } = s3PeerOrSkip();
const DAY = 86_400_000;
const out = mkdtempSync(join(tmpdir(), 'strata-tier-s3-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const pricing = parsePricing(
  `tiers:
  hot: { storageClass: STANDARD, perGBMonth: 0.023 }
  warm: { storageClass: STANDARD_IA, perGBMonth: 0.0125, minimumDays: 30 }
  cold: { storageClass: GLACIER, perGBMonth: 0.0036, minimumDays: 90, overheadBytes: 32768, hotOverheadBytes: 8192 }
  deepArchive: { storageClass: DEEP_ARCHIVE, perGBMonth: 0.00099, minimumDays: 180 }
`,
  'test',
);

describe.skipIf(!peer)(`tiers on ${peer?.server ?? `S3 (skipped: ${skip})`}`, () => {
  test.runIf(peer?.server.startsWith('moto'))(
    'a move changes the class; a GLACIER pack is refused until restored; metadata stays hot',
    async () => {
      const store = storeOn(peer!, await createBucket(peer!));
      const repo = await initRepository(store, SMALL);
      const finished = new Date(Date.now() - 10 * DAY).toISOString();
      const data = randomBytes(50_000);
      const r = await archiveBundle(
        repo,
        bundleOf('u1', [{ path: 'logs/main.log', data }], {
          kind: 'Workflow',
          metadata: { name: 'wf-u1', namespace: 'agents', uid: 'u1' },
          status: { phase: 'Succeeded', finishedAt: finished },
        }),
        { group: 'g' },
      );
      const packs = (await readManifest(repo, r.manifestId)).packs;
      const set = policySet([], { archiveAfter: '0s', timeline: { hot: '1d', cold: 'rest' }, retainFor: '1y' });
      const classes = tierClasses(pricing);
      expect(storageClassesOf(store)).toBeDefined();
      const gather = () =>
        gatherTierFacts(repo, { policySet: set, holds: NO_HOLDS, pricing, now: new Date(), classes });

      const plan = planTiering(await gather());
      expect(plan.moves.map((m) => [m.packId, m.from, m.to])).toEqual(packs.map((p) => [p, 'hot', 'cold']));
      // GLACIER bills 32 KiB at its price and 8 KiB at STANDARD's per object on top of the pack.
      expect(plan.moves[0]!.cost.monthlyAfter).toBeGreaterThan((plan.moves[0]!.bytes / 1024 ** 3) * 0.0036);
      const run = await applyTierPlan(repo, plan, { classes, audit: discardAudit, now: new Date() });
      expect(run.moves.map((m) => m.outcome)).toEqual(packs.map(() => 'moved'));

      for (const p of packs) {
        expect((await store.head(packKey('g', p)))?.storageClass).toBe('GLACIER');
        expect((await store.head(indexKey('g', p)))?.storageClass).toBe('STANDARD');
        await expect(store.get(packKey('g', p))).rejects.toBeInstanceOf(ArchivedObjectError);
      }
      // Structure checks read only hot objects; a restore of the data needs the thaw first.
      expect((await verifyRepository(repo, {})).problems).toEqual([]);
      await expect(restoreWorkflow(repo, r.manifestId, join(out, 'frozen'))).rejects.toThrow(/restored/);
      expect(planTiering(await gather()).moves).toEqual([]);

      for (const p of packs) expect(await store.restore(packKey('g', p), 1)).toBe('restored');
      await restoreWorkflow(repo, r.manifestId, join(out, 'thawed'));
      expect((await buffer(createReadStream(join(out, 'thawed/logs/main.log')))).equals(data)).toBe(true);
    },
  );
});
