// The encrypting store: the shared ObjectStore contract over a local directory, and what encryption must add —
// nothing readable at rest, a wrong key or tampered byte is an error naming the object, never garbage.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { describeError, IntegrityError } from '../../lib/errors.ts';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: unknown) => describeError(e),
  );
import { EncryptedStore } from '../../lib/crypto/encrypted-store.ts';
import { KeyUnavailableError } from '../../lib/crypto/errors.ts';
import { Keyring } from '../../lib/crypto/keyring.ts';
import { LocalKeyDirectory } from '../../lib/crypto/local-keys.ts';
import { HEADER_SIZE, SEGMENT_SIZE } from '../../lib/crypto/segments.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { describeStoreContract } from '../store/contract.ts';
import { encryptedOver, tempKeyDir } from '../support/encrypted-store.ts';

const base = mkdtempSync(join(tmpdir(), 'strata-enc-store-'));
const keyDir = tempKeyDir();
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
  rmSync(keyDir, { recursive: true, force: true });
});
let n = 0;
const freshRoot = () => join(base, `root-${n++}`);
const makeStore = async () => encryptedOver(new FileSystemStore(freshRoot()), keyDir);

describeStoreContract(
  'encrypted, over a local directory',
  { makeStore, makeLockedStore: makeStore },
  {
    versioning: false,
    refusesHostileKeys: true,
    restoreCompletes: 'immediately',
    storageClasses: false,
    enforcesCompliance: true,
    offers: { storageClasses: false, objectLock: true, versions: false, unfinishedWrites: true },
  },
);

describe('EncryptedStore', () => {
  it('stores no plaintext, and reads back every range across segment boundaries', async () => {
    const root = freshRoot();
    const s = encryptedOver(new FileSystemStore(root), keyDir);
    const body = Buffer.from('secret workflow log line\n'.repeat(20_000));
    await s.put('archive/packs/g/x', body);
    const raw = readFileSync(join(root, 'archive/packs/g/x'));
    expect(raw.includes(Buffer.from('secret workflow'))).toBe(false);
    expect(raw.subarray(0, 8).toString()).toBe('STRATAEN');
    for (const [start, end] of [
      [0, 0],
      [SEGMENT_SIZE - 1, SEGMENT_SIZE],
      [SEGMENT_SIZE, 3 * SEGMENT_SIZE + 5],
      [body.length - 1, body.length - 1],
      [123_456, undefined],
    ] as const) {
      const got = await buffer(await s.get('archive/packs/g/x', { start, ...(end !== undefined && { end }) }));
      expect(got.equals(body.subarray(start, end === undefined ? undefined : end + 1))).toBe(true);
    }
  });

  it('refuses a flipped byte, a truncated object and a swapped object, naming the object', async () => {
    const root = freshRoot();
    const s = encryptedOver(new FileSystemStore(root), keyDir);
    const body = randomBytes(3 * SEGMENT_SIZE);
    await s.put('a', body);
    await s.put('b', body);
    const path = join(root, 'a');
    const good = readFileSync(path);
    const flipped = Buffer.from(good);
    flipped[HEADER_SIZE + SEGMENT_SIZE + 100]! ^= 1;
    writeFileSync(path, flipped);
    expect(await failure(s.get('a').then(buffer))).toMatch(/key a: encrypted segment 1 does not authenticate/);
    writeFileSync(path, good.subarray(0, good.length - (SEGMENT_SIZE + 16)));
    expect(await failure(s.get('a').then(buffer))).toMatch(/key a: .*truncated/);
    writeFileSync(path, readFileSync(join(root, 'b')));
    const fresh = encryptedOver(new FileSystemStore(root), keyDir);
    await expect(fresh.get('a')).rejects.toThrow(IntegrityError);
  });

  it('with another key directory: a clear error naming the object and tenant, never garbage', async () => {
    const root = freshRoot();
    await encryptedOver(new FileSystemStore(root), keyDir).put('m', Buffer.from('{"secret":1}'));
    const otherKeys = tempKeyDir();
    try {
      const s = encryptedOver(new FileSystemStore(root), otherKeys);
      const err = await s.get('m').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeyUnavailableError);
      expect(describeError(err)).toMatch(/key m: .*tenant "_repository"/);
    } finally {
      rmSync(otherKeys, { recursive: true, force: true });
    }
  });

  it('refuses plaintext objects unless told to accept them (a repository from before encryption)', async () => {
    const root = freshRoot();
    await new FileSystemStore(root).put('old', Buffer.from('plain'));
    expect(await failure(encryptedOver(new FileSystemStore(root), keyDir).get('old'))).toMatch(
      /key old: object is not encrypted/,
    );
    const lenient = encryptedOver(new FileSystemStore(root), keyDir, { acceptPlaintext: true });
    expect((await buffer(await lenient.get('old'))).toString()).toBe('plain');
    expect((await buffer(await lenient.get('old', { start: 1, end: 2 }))).toString()).toBe('la');
  });

  it('seals each tenant with its own key: keys/ holds one wrapped key per tenant', async () => {
    const root = freshRoot();
    const s = encryptedOver(new FileSystemStore(root), keyDir);
    await s.forTenant('team-a').put('x', Buffer.from('a'));
    await s.forTenant('team-b').put('y', Buffer.from('b'));
    expect(readdirSync(join(root, 'keys')).sort()).toEqual(['team-a', 'team-b']);
    const reader = encryptedOver(new FileSystemStore(root), keyDir);
    expect((await buffer(await reader.get('x'))).toString()).toBe('a');
    expect((await buffer(await reader.get('y'))).toString()).toBe('b');
  });

  it("a long-running process stops using an erased tenant's key once its cache expires", async () => {
    const inner = new FileSystemStore(freshRoot());
    const dir = tempKeyDir();
    try {
      const longRunning = new EncryptedStore(inner, new Keyring(inner, new LocalKeyDirectory(dir), 0), {
        tenant: 't1',
      });
      await longRunning.put('x', Buffer.from('data'));
      expect((await buffer(await longRunning.get('x'))).toString()).toBe('data');
      await new Keyring(inner, new LocalKeyDirectory(dir)).erase('t1');
      expect(await failure(longRunning.get('x'))).toMatch(/key x: .*tenant "t1", erased at/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
