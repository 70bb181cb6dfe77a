// The local-directory store: the shared contract plus what only a directory can get wrong (escapes, leftovers).
import { fc, test as propTest } from '@fast-check/vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../lib/errors.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { describeStoreContract } from './contract.ts';

const base = mkdtempSync(join(tmpdir(), 'strata-fs-store-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const freshRoot = () => join(base, `root-${n++}`);
const makeStore = async () => new FileSystemStore(freshRoot());

describeStoreContract(
  'local directory',
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

/** Every file under dir, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('FileSystemStore', () => {
  it('leaves no temp files behind after good and failed writes, and prunes emptied directories', async () => {
    const root = freshRoot();
    const s = new FileSystemStore(root);
    await s.put('a/b/c', Buffer.from('x'), { metadata: { a: '1' } });
    await expect(s.put('a/b/d', Buffer.from('y'), { sha256: '00'.repeat(32) })).rejects.toThrow(/SHA-256 mismatch/);
    expect(filesUnder(root)).toEqual(['a/b/.c.strata-meta', 'a/b/c']);
    await s.delete(['a/b/c']);
    expect(readdirSync(root)).toEqual([]);
  });

  it('writes a sidecar only for what a reader needs back (metadata, retention), and drops one an overwrite does not need', async () => {
    const root = freshRoot();
    const s = new FileSystemStore(root);
    await s.put('plain', Buffer.from('x'), { contentType: 'application/json' });
    await s.put('kept', Buffer.from('y'), { metadata: { a: '1' } });
    expect(filesUnder(root)).toEqual(['.kept.strata-meta', 'kept', 'plain']);
    await s.put('kept', Buffer.from('z'));
    expect(filesUnder(root)).toEqual(['kept', 'plain']);
    expect((await s.head('kept'))?.metadata).toBeUndefined();
  });

  it('ignores a sidecar that belongs to an earlier generation of the file', async () => {
    const root = freshRoot();
    const s = new FileSystemStore(root);
    await s.put('obj', Buffer.from('cold'), { metadata: { a: '1' } });
    // Someone replaces the data file behind our back (new inode): its metadata no longer applies.
    rmSync(join(root, 'obj'));
    writeFileSync(join(root, 'obj'), 'replaced');
    const info = await s.head('obj');
    expect(info).toMatchObject({ size: 8 });
    expect(info?.metadata).toBeUndefined();
    expect((await buffer(await s.get('obj'))).toString()).toBe('replaced');
  });

  it('refuses to overwrite a held object (no versions to keep the held one)', async () => {
    const s = new FileSystemStore(freshRoot());
    await s.put('held', Buffer.from('keep me'));
    await s.setLegalHold('held', true);
    await expect(s.put('held', Buffer.from('gone'))).rejects.toThrow(/legal hold/);
    expect((await buffer(await s.get('held'))).toString()).toBe('keep me');
  });

  it('has no storage classes: a colder class is refused, never stored hot in silence or made to wait', async () => {
    const s = new FileSystemStore(freshRoot());
    await expect(s.put('cold', Buffer.from('x'), { storageClass: 'GLACIER' })).rejects.toThrow(
      /a directory store has no storage classes \(asked for GLACIER\)/,
    );
    expect(await s.head('cold')).toBeUndefined();
    await s.put('hot', Buffer.from('x'), { storageClass: 'STANDARD' });
    expect((await buffer(await s.get('hot'))).toString()).toBe('x');
  });

  it('refuses a key that is both an object and a prefix, with a clear message', async () => {
    const s = new FileSystemStore(freshRoot());
    await s.put('a', Buffer.from('x'));
    await expect(s.put('a/b', Buffer.from('y'))).rejects.toThrow(/directory store cannot hold both/);
    await s.put('c/d', Buffer.from('y'));
    await expect(s.put('c', Buffer.from('x'))).rejects.toThrow(/directory store cannot hold both/);
    await expect(s.put('c', Buffer.from('x'), { ifNoneMatch: true })).rejects.toThrow(
      /directory store cannot hold both/,
    );
  });

  it('ignores leftovers of a crash: stray temp files and orphan sidecars', async () => {
    const root = freshRoot();
    const s = new FileSystemStore(root);
    await s.put('d/kept', Buffer.from('kept'));
    writeFileSync(join(root, 'd', '.lost.strata-tmp-0123456789ab'), 'half a write');
    writeFileSync(join(root, 'd', '.gone.strata-meta'), JSON.stringify({ v: 1, ino: 1, size: 3 }));
    const keys = [];
    for await (const o of s.list('')) keys.push(o.key);
    expect(keys).toEqual(['d/kept']);
    expect(await s.head('d/gone')).toBeUndefined();
    await s.put('d/gone', Buffer.from('new'));
    expect((await s.head('d/gone'))?.size).toBe(3);
  });

  const keyChar = fc.constantFrom('a', 'b', '-', '/', '0', 'é', '.', '~', 'Z');
  propTest.prop(
    [
      fc.uniqueArray(fc.string({ unit: keyChar, minLength: 1, maxLength: 6 }), { maxLength: 25 }),
      fc.string({ unit: keyChar, maxLength: 3 }),
    ],
    {
      numRuns: 40,
    },
  )('lists any set of keys in UTF-8 byte order, filtered by any prefix', async (raw, prefix) => {
    // Keep keys a directory can hold: valid, and none both an object and a prefix of another.
    const valid = raw.filter((k) => k.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'));
    const keys = valid.filter((k) => !valid.some((o) => o.startsWith(`${k}/`)));
    const s = new FileSystemStore(freshRoot());
    for (const k of keys) await s.put(k, Buffer.from(k));
    const listed = [];
    for await (const o of s.list(prefix)) listed.push(o.key);
    const expected = keys
      .filter((k) => k.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(listed).toEqual(expected);
  });

  const segment = fc.oneof(
    fc.constantFrom('..', '.', '', 'a', 'b.strata-meta', '\\', '\0', '..\\x'),
    fc.string({ maxLength: 4 }),
  );
  propTest.prop([fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean()], { numRuns: 150 })(
    'never writes outside the root, whatever the key',
    async (segments, absolute) => {
      const outer = mkdtempSync(join(base, 'prop-'));
      const root = join(outer, 'root');
      const s = new FileSystemStore(root);
      const key = (absolute ? '/' : '') + segments.join('/');
      try {
        await s.put(key, Buffer.from('p'));
        expect((await s.head(key))?.size).toBe(1);
      } catch (err) {
        expect(err).toBeInstanceOf(StoreError);
      }
      expect(filesUnder(outer).every((f) => f.startsWith('root/'))).toBe(true);
      rmSync(outer, { recursive: true, force: true });
    },
  );
});
