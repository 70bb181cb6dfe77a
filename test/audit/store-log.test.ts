// The audit log on real stores: parallel writers and parallel sealers make one log that checks, with every record
// exactly once; a sealer that crashed after committing is finished by the next.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createStoreAuditLog } from '../../lib/audit/store-audit.ts';
import { auditRecords, checkStoreLog, sealLog } from '../../lib/audit/store-log.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';

const base = mkdtempSync(join(tmpdir(), 'strata-audit-log-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const { privateKey, publicKey } = generateKeyPairSync('ed25519');

async function writeConcurrently(store: ObjectStore, writers: number, each: number) {
  const logs = Array.from({ length: writers }, () => createStoreAuditLog(store));
  const sealers: Promise<unknown>[] = [];
  await Promise.all(
    logs.map(async (log, w) => {
      for (let i = 0; i < each; i++) {
        await log.record({ action: 'archive', actor: `pod-${w}`, subject: `w${w}-r${i}`, outcome: 'ok' });
        // Sealers race the writers and each other, as the sweep and tiering crons and `audit verify` would.
        if (i % 4 === 0) sealers.push(sealLog(store, { signingKey: privateKey, segmentRecords: 7 }));
      }
    }),
  );
  await Promise.all(sealers);
  await sealLog(store, { signingKey: privateKey, segmentRecords: 7 });
}

async function expectOneLog(store: ObjectStore, writers: number, each: number) {
  const check = await checkStoreLog(store, { publicKey });
  expect(check.problems).toEqual([]);
  expect(check).toMatchObject({ ok: true, signed: true, records: writers * each });
  const subjects: string[] = [];
  for await (const r of auditRecords(store)) subjects.push(r.subject);
  const expected = Array.from({ length: writers }, (_, w) =>
    Array.from({ length: each }, (_, i) => `w${w}-r${i}`),
  ).flat();
  expect(subjects.sort()).toEqual(expected.sort());
}

describe('audit log in a directory store', () => {
  test('parallel writers and sealers make one signed log holding every record once', async () => {
    const store = new FileSystemStore(join(base, `r${n++}`));
    await writeConcurrently(store, 6, 12);
    await expectOneLog(store, 6, 12);
    const pending: string[] = [];
    for await (const o of store.list('audit/pending/')) pending.push(o.key);
    expect(pending).toEqual([]);
  });

  test('a sealer that crashed after its head leaves pending copies; the next sealer removes them, sealing none twice', async () => {
    const store = new FileSystemStore(join(base, `r${n++}`));
    const log = createStoreAuditLog(store);
    for (let i = 0; i < 5; i++) await log.record({ action: 'gc', actor: 'a', subject: `s${i}`, outcome: 'ok' });
    const crashing: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      delete: async () => {
        throw new Error('killed');
      },
    });
    await expect(sealLog(crashing, { signingKey: privateKey })).rejects.toThrow('killed');
    await log.record({ action: 'gc', actor: 'a', subject: 's5', outcome: 'ok' });
    const report = await sealLog(store, { signingKey: privateKey });
    expect(report.sealed).toBe(1);
    const check = await checkStoreLog(store, { publicKey });
    expect(check).toMatchObject({ ok: true, records: 6, heads: 2 });
  });

  test('records written before the log existed (audit/records/) are sealed into it', async () => {
    const store = new FileSystemStore(join(base, `r${n++}`));
    const old = {
      at: '2026-01-01T00:00:00.000Z',
      action: 'restore',
      actor: 'strata/restore',
      subject: 'u1',
      outcome: 'ok',
    };
    await store.put('audit/records/2026-01-01/old.json', Buffer.from(JSON.stringify(old)));
    await sealLog(store);
    const records: unknown[] = [];
    for await (const r of auditRecords(store)) records.push(r);
    expect(records).toEqual([{ ...old, verified: false, index: 0 }]);
    expect((await checkStoreLog(store)).ok).toBe(true);
  });
});

const s3 = s3PeerOrSkip();
describe.skipIf(!s3.peer)('audit log in S3 (conditional writes on the next head)', () => {
  test('parallel writers and sealers make one signed log holding every record once', async () => {
    const store = storeOn(s3.peer!, await createBucket(s3.peer!));
    await writeConcurrently(store, 4, 8);
    await expectOneLog(store, 4, 8);
  });
});
