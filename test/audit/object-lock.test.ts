// The audit log under Object Lock: with audit.retainFor, every sealed segment and tree head is written under
// COMPLIANCE retention, so the store itself refuses an early delete (to Strata, to anyone with the bucket's keys);
// a store that cannot lock makes sealing fail, with the pending records kept.
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { sealOptionsOf } from '../../lib/audit/seal-options.ts';
import { createStoreAuditLog } from '../../lib/audit/store-audit.ts';
import { checkStoreLog, sealLog } from '../../lib/audit/store-log.ts';
import { AuditError, ConfigError, StoreError } from '../../lib/errors.ts';
import { parseDuration } from '../../lib/policy/duration.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { tempDir } from '../archive/fixtures.ts';
import { runCli } from '../support/run-cli.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';

const dir = tempDir('strata-audit-lock-');
afterAll(() => {
  vi.unstubAllEnvs();
  dir.cleanup();
});
let n = 0;
const { peer, skip } = s3PeerOrSkip();
const DAY = 86_400_000;

async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

async function writeRecords(store: ObjectStore, count: number) {
  const log = createStoreAuditLog(store);
  for (let i = 0; i < count; i++)
    await log.record({ action: 'emergency-delete', actor: 'oncall', subject: `wf-${i}`, outcome: 'ok' });
}

/** Seals under a one-day lock; every segment and head is then refused deletion by the store itself. */
async function expectLockedLog(store: ObjectStore) {
  await writeRecords(store, 3);
  const sealedAt = Date.now();
  const report = await sealLog(store, { retainFor: parseDuration('1d')! });
  expect(report.sealed).toBe(3);
  const locked = [...(await keysUnder(store, 'audit/log/segments/')), ...(await keysUnder(store, 'audit/log/heads/'))];
  expect(locked).toHaveLength(2);
  for (const key of locked) {
    const until = (await store.head(key))!.retainUntil!;
    expect(Math.abs(until.getTime() - (sealedAt + DAY))).toBeLessThan(60_000);
    await expect(store.delete([key]), key).rejects.toBeInstanceOf(StoreError);
    expect(await store.head(key), key).toBeDefined();
  }
  expect((await checkStoreLog(store)).ok).toBe(true);
}

describe('audit log segments and heads under COMPLIANCE retention', () => {
  test('on a directory store (the adapter enforces the lock)', async () => {
    await expectLockedLog(new FileSystemStore(join(dir.path, `r${n++}`)));
  });

  test('a store without Object Lock cannot keep the log locked: sealing is refused, nothing pending is lost', async () => {
    const fs = new FileSystemStore(join(dir.path, `r${n++}`));
    const unlockable: ObjectStore = {
      url: fs.url,
      put: (k, b, o) => fs.put(k, b, o),
      get: (k, r) => fs.get(k, r),
      head: (k) => fs.head(k),
      list: (p) => fs.list(p),
      delete: (k) => fs.delete(k),
    };
    await writeRecords(unlockable, 2);
    await expect(sealLog(unlockable, { retainFor: parseDuration('1d')! })).rejects.toThrow(
      /audit.retainFor: .* has no Object Lock/,
    );
    expect(await keysUnder(fs, 'audit/pending/')).toHaveLength(2);
    expect(await keysUnder(fs, 'audit/log/')).toEqual([]);
  });

  test('a segment a crashed sealer left unlocked is locked before its head is written', async () => {
    const fs = new FileSystemStore(join(dir.path, `r${n++}`));
    await writeRecords(fs, 2);
    // The crashed sealer ran without audit.retainFor, and died between its segment and its head.
    const crashing = Object.assign(Object.create(fs) as FileSystemStore, {
      put: (k: string, b: Buffer, o?: object) =>
        k.startsWith('audit/log/heads/') ? Promise.reject(new Error('killed')) : fs.put(k, b, o),
    });
    await expect(sealLog(crashing)).rejects.toThrow(/killed/);
    const [segment] = await keysUnder(fs, 'audit/log/segments/');
    expect((await fs.head(segment!))!.retainUntil).toBeUndefined();
    await sealLog(fs, { retainFor: parseDuration('1d')! });
    expect(await keysUnder(fs, 'audit/log/segments/')).toEqual([segment]);
    await expect(fs.delete([segment!])).rejects.toBeInstanceOf(StoreError);
  });

  test('audit.retainFor must be a duration', () => {
    expect(() => sealOptionsOf({ retainFor: 'forever' })).toThrow(ConfigError);
    expect(sealOptionsOf({ retainFor: '7y' }).retainFor).toMatchObject({ years: 7 });
  });

  test('strata audit seal locks with STRATA_AUDIT_RETAIN_FOR', async () => {
    const root = join(dir.path, `r${n++}`);
    await writeRecords(new FileSystemStore(root), 2);
    vi.stubEnv('STRATA_AUDIT_RETAIN_FOR', '30d');
    const sealed = await runCli(['--store', `file:${root}`, 'audit', 'seal', '-o', 'json']);
    vi.unstubAllEnvs();
    expect(sealed.code, sealed.err).toBe(0);
    const store = new FileSystemStore(root);
    for (const key of await keysUnder(store, 'audit/log/')) {
      expect((await store.head(key))!.retainUntil!.getTime()).toBeGreaterThan(Date.now() + 29 * DAY);
      await expect(store.delete([key])).rejects.toBeInstanceOf(StoreError);
    }
  });
});

describe.skipIf(!peer)(`audit log under Object Lock on ${peer?.server ?? `S3 (skipped: ${skip})`}`, () => {
  test('an early delete of a segment or head is refused by the bucket', async () => {
    await expectLockedLog(storeOn(peer!, await createBucket(peer!, { objectLock: true })));
  });

  test('a bucket without Object Lock refuses the locked write: sealing fails, saying why, records stay pending', async () => {
    const store = storeOn(peer!, await createBucket(peer!));
    await writeRecords(store, 2);
    const err = await sealLog(store, { retainFor: parseDuration('1d')! }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditError);
    expect((err as Error).message).toMatch(/cannot seal the audit log: .*the bucket needs Object Lock/);
    expect(await keysUnder(store, 'audit/pending/')).toHaveLength(2);
    expect(await keysUnder(store, 'audit/log/heads/')).toEqual([]);
  });
});
