// Replicating an encrypted (format 3) repository: the replica gets the sealed bytes and wrapped keys as stored (no
// byte of content in the clear, nothing re-sealed), is the same repository readable with the same KEKs, is healed
// from the good side when a sealed copy does not authenticate, follows a key rotation, and a tenant's erasure
// makes its copies on the replica unreadable too. On the directory store, and on the S3 peer as a replica.
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
} from '../../lib/archive/index.ts';
import { packKey, readObject, tenantRepository } from '../../lib/archive/repository.ts';
import { eraseTenant } from '../../lib/crypto/erase.ts';
import { KeyUnavailableError } from '../../lib/crypto/errors.ts';
import { replicate } from '../../lib/replica/replicate.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { SMALL, tempDir } from '../archive/fixtures.ts';
import { encryptedOver } from '../support/encrypted-store.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';
import { archiveAt } from '../tier/helpers.ts';

const dir = tempDir('strata-replica-enc-');
afterAll(() => dir.cleanup());
let n = 0;
const { peer, skip } = s3PeerOrSkip();
const base = { verify: false, prune: false, dryRun: false };
const TENANT = 'agents'; // archiveAt's namespace

async function primaryWith() {
  const root = join(dir.path, `primary-${n++}`);
  const keyDir = join(dir.path, `keys-${n++}`);
  const marker = Buffer.from(`secret-${randomBytes(8).toString('hex')}`);
  const store = encryptedOver(new FileSystemStore(root), keyDir);
  const repo = await tenantRepository(await initRepository(store, SMALL), TENANT);
  const shared = randomBytes(20_000);
  const ids = [
    await archiveAt(repo, 'one', new Date(), [shared, Buffer.concat([marker, randomBytes(8_000)])]),
    await archiveAt(repo, 'two', new Date(), [shared]),
  ];
  return { store, repo, keyDir, root, marker, ids };
}

async function rawObjects(store: ObjectStore): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for await (const o of store.list('')) out.set(o.key, await readObject(store, o.key));
  return out;
}

/** The replica as a reader with the same KEKs opens it: a repository of its own. */
const openReplica = (replica: ObjectStore, keyDir: string) => openRepository(encryptedOver(replica, keyDir));

describe('replicating an encrypted repository to a directory', () => {
  test('copies the sealed bytes as stored; the replica verifies and restores with the same keys', async () => {
    const p = await primaryWith();
    const replica = new FileSystemStore(join(dir.path, `replica-${n++}`));
    const first = await replicate(p.store, replica, base);
    expect(first.drift).toEqual([]);
    expect(first.copied).toContain('keys/agents/data-key');
    // Byte for byte what the primary stores: nothing opened and sealed again, nothing in the clear.
    const [ours, theirs] = [await rawObjects(p.store.inner), await rawObjects(replica)];
    expect([...theirs.keys()].sort()).toEqual([...ours.keys()].sort());
    for (const [key, bytes] of theirs) expect(bytes.equals(ours.get(key)!), key).toBe(true);
    for (const [key, bytes] of theirs) expect(bytes.includes(p.marker), key).toBe(false);

    expect(await replicate(p.store, replica, { ...base, verify: true })).toMatchObject({
      copied: [],
      healed: [],
      drift: [],
    });
    const copy = await openReplica(replica, p.keyDir);
    expect((await verifyRepository(copy, { readData: true })).problems).toEqual([]);
    await restoreWorkflow(copy, p.ids[0]!, join(dir.path, `restored-${n++}`));
  });

  test('a sealed copy that does not authenticate is healed from the good side, either way', async () => {
    const p = await primaryWith();
    const replicaRoot = join(dir.path, `replica-${n++}`);
    await replicate(p.store, new FileSystemStore(replicaRoot), base);
    const [pack] = (await readManifest(p.repo, p.ids[0]!)).packs;
    const key = packKey('g', pack!);
    const file = join(replicaRoot, ...key.split('/'));
    const bytes = readFileSync(file);
    bytes[200] = bytes[200]! ^ 0xff; // same size: only --verify reads it
    writeFileSync(file, bytes);
    const healed = await replicate(p.store, new FileSystemStore(replicaRoot), { ...base, verify: true });
    expect(healed.drift).toEqual([]);
    expect(healed.healed).toEqual([{ key, side: 'replica', why: expect.stringMatching(/wrong key, or .* altered/) }]);

    // A manifest lost on the primary comes back from the replica, sealed as it was.
    const manifest = `archive/manifests/${p.ids[1]}`;
    const before = await readObject(p.store.inner, manifest);
    await p.store.inner.delete([manifest]);
    const back = await replicate(p.store, new FileSystemStore(replicaRoot), base);
    expect(back.healed).toEqual([
      { key: manifest, side: 'primary', why: 'missing on the primary, which references it' },
    ]);
    expect((await readObject(p.store.inner, manifest)).equals(before)).toBe(true);
    expect((await verifyRepository(await openRepository(p.store), { readData: true })).problems).toEqual([]);
  });

  test('a rotated key reaches the replica; an erased tenant is unreadable there too', async () => {
    const p = await primaryWith();
    const replica = new FileSystemStore(join(dir.path, `replica-${n++}`));
    await replicate(p.store, replica, base);
    await p.store.keyring.rotate(TENANT); // the old KEK is retired: the replica's wrapped key no longer unwraps
    const rotated = await replicate(p.store, replica, { ...base, verify: true });
    expect(rotated.drift).toEqual([]);
    expect(rotated.healed).toEqual([
      {
        key: 'keys/agents/data-key',
        side: 'replica',
        why: expect.stringMatching(/key-encryption key .* is not in .*destroyed/),
      },
    ]);
    await restoreWorkflow(await openReplica(replica, p.keyDir), p.ids[1]!, join(dir.path, `restored-${n++}`));

    const erased = await eraseTenant(p.store, TENANT);
    expect(erased.unwrapRefused).toBe(true);
    // Not even replicated yet: the replica's copies need the destroyed KEK.
    const copy = await openReplica(replica, p.keyDir);
    await expect(restoreWorkflow(copy, p.ids[1]!, join(dir.path, `restored-${n++}`))).rejects.toThrow(
      KeyUnavailableError,
    );
    const pruned = await replicate(p.store, replica, { ...base, prune: true });
    expect(pruned.drift).toEqual([]);
    expect(pruned.pruned).toContain(`archive/manifests/${p.ids[1]}`);
    expect(pruned.copied).toContain(`keys/agents/erased-${erased.dataKeys[0]!.id}`);
  });
});

describe.skipIf(!peer)(`an encrypted repository replicated to S3 on ${peer?.server ?? `S3 (skipped: ${skip})`}`, () => {
  test('copies sealed bytes to the bucket, detects a replaced object and heals it; the replica restores', async () => {
    const p = await primaryWith();
    const replica = storeOn(peer!, await createBucket(peer!));
    expect((await replicate(p.store, replica, base)).drift).toEqual([]);
    const [pack] = (await readManifest(p.repo, p.ids[1]!)).packs;
    const key = packKey('g', pack!);
    const bad = await readObject(p.store.inner, key);
    expect(bad.includes(p.marker)).toBe(false);
    bad[60] = bad[60]! ^ 0x01;
    await replica.put(key, bad);
    const healed = await replicate(p.store, replica, { ...base, verify: true });
    expect(healed.healed).toEqual([{ key, side: 'replica', why: expect.stringMatching(/wrong key, or .* altered/) }]);
    expect((await readObject(replica, key)).equals(await readObject(p.store.inner, key))).toBe(true);
    const copy = await openReplica(replica, p.keyDir);
    expect((await verifyRepository(copy, { readData: true })).problems).toEqual([]);
    await restoreWorkflow(copy, p.ids[0]!, join(dir.path, `restored-${n++}`));
  });
});
