// Replication: a replica gets every object, each copy checked; a corrupted or lost copy is healed from the side that
// proves good; deletions follow only with --prune; on the S3 peer as a replica too.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  initRepository,
  openRepository,
  readManifest,
  restoreWorkflow,
  verifyRepository,
  type Repository,
} from '../../lib/archive/index.ts';
import { packKey } from '../../lib/archive/repository.ts';
import { emergencyDelete } from '../../lib/pipeline/emergency-delete.ts';
import { replicate } from '../../lib/replica/replicate.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { SMALL, tempDir } from '../archive/fixtures.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';
import { archiveAt } from '../tier/helpers.ts';

const dir = tempDir('strata-replica-');
afterAll(() => dir.cleanup());
let n = 0;
const { peer, skip } = s3PeerOrSkip();
const base = { verify: false, prune: false, dryRun: false };

async function primaryWith(): Promise<{ repo: Repository; root: string; ids: string[] }> {
  const root = join(dir.path, `primary-${n++}`);
  const repo = await initRepository(new FileSystemStore(root), SMALL);
  const shared = randomBytes(20_000);
  const ids = [
    await archiveAt(repo, 'one', new Date(), [shared, randomBytes(8_000)]),
    await archiveAt(repo, 'two', new Date(), [shared]),
  ];
  return { repo, root, ids };
}

test('copies everything, verified; a second run has nothing to do; the replica restores on its own', async () => {
  const p = await primaryWith();
  const replicaRoot = join(dir.path, `replica-${n++}`);
  const first = await replicate(p.repo.store, new FileSystemStore(replicaRoot), base);
  expect(first.drift).toEqual([]);
  expect(first.copied.length).toBeGreaterThan(5);
  const again = await replicate(p.repo.store, new FileSystemStore(replicaRoot), { ...base, verify: true });
  expect(again).toMatchObject({ copied: [], healed: [], drift: [] });
  const replica = await openRepository(new FileSystemStore(replicaRoot));
  expect((await verifyRepository(replica, { readData: true })).problems).toEqual([]);
  await restoreWorkflow(replica, p.ids[0]!, join(dir.path, `restored-${n++}`));
});

test('a corrupted replica copy and a pack lost on the primary are healed from the good side', async () => {
  const p = await primaryWith();
  const replicaRoot = join(dir.path, `replica-${n++}`);
  await replicate(p.repo.store, new FileSystemStore(replicaRoot), base);
  const [pack] = (await readManifest(p.repo, p.ids[0]!)).packs;
  const key = packKey('g', pack!);
  // Flip one byte of the replica's pack (same size: only --verify sees it).
  const file = join(replicaRoot, ...key.split('/'));
  const bytes = readFileSync(file);
  bytes[100] = bytes[100]! ^ 0xff;
  writeFileSync(file, bytes);
  const healed = await replicate(p.repo.store, new FileSystemStore(replicaRoot), { ...base, verify: true });
  expect(healed.healed).toEqual([{ key, side: 'replica', why: 'content does not hash to the pack id' }]);
  expect(
    (await verifyRepository(await openRepository(new FileSystemStore(replicaRoot)), { readData: true })).problems,
  ).toEqual([]);

  await p.repo.store.delete([key]);
  const back = await replicate(p.repo.store, new FileSystemStore(replicaRoot), base);
  expect(back.healed).toEqual([{ key, side: 'primary', why: 'missing on the primary, which references it' }]);
  expect((await verifyRepository(p.repo, { readData: true })).problems).toEqual([]);
});

test('what the primary deleted on purpose stays on the replica as extra until --prune', async () => {
  const p = await primaryWith();
  const replicaRoot = join(dir.path, `replica-${n++}`);
  await replicate(p.repo.store, new FileSystemStore(replicaRoot), base);
  const result = await emergencyDelete(
    { uid: 'one', reason: 'breach', approver: 'ciso', actor: 'oncall', breakGlass: false, dryRun: false },
    {
      repo: p.repo,
      holds: { holds: [], extensions: [] },
      audit: { record: async () => {} },
      now: new Date(),
      settleMs: 0,
    },
  );
  expect(result.deletion?.outcome).toBe('done');
  const kept = await replicate(p.repo.store, new FileSystemStore(replicaRoot), base);
  expect(kept.extra).toContain(`archive/manifests/${p.ids[0]}`);
  const pruned = await replicate(p.repo.store, new FileSystemStore(replicaRoot), { ...base, prune: true });
  expect(pruned.pruned).toContain(`archive/manifests/${p.ids[0]}`);
  expect(pruned.drift).toEqual([]);
  const replica = await openRepository(new FileSystemStore(replicaRoot));
  expect((await verifyRepository(replica, { readData: true })).problems).toEqual([]);
  for await (const o of replica.store.list('archive/refs/')) expect(o.key).not.toMatch(/one/);
});

describe.skipIf(!peer)(`an S3 replica on ${peer?.server ?? `S3 (skipped: ${skip})`}`, () => {
  test('copies to the bucket, detects a replaced object and heals it', async () => {
    const p = await primaryWith();
    const replica = storeOn(peer!, await createBucket(peer!));
    expect((await replicate(p.repo.store, replica, base)).drift).toEqual([]);
    const [pack] = (await readManifest(p.repo, p.ids[1]!)).packs;
    const key = packKey('g', pack!);
    const good = await (await p.repo.store.get(key)).toArray();
    const bad = Buffer.concat(good as Buffer[]);
    bad[50] = bad[50]! ^ 0x01;
    await replica.put(key, bad);
    const healed = await replicate(p.repo.store, replica, { ...base, verify: true });
    expect(healed.healed).toEqual([{ key, side: 'replica', why: 'content does not hash to the pack id' }]);
    expect((await verifyRepository(await openRepository(replica), { readData: true })).problems).toEqual([]);
  });
});
