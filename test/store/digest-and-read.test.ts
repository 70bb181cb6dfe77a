// The one SHA-256 check and the one read-whole: what every store, restore and record reader relies on.
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { IntegrityError } from '../../lib/errors.ts';
import { readWhole } from '../../lib/store/read-whole.ts';
import { checkContentId, checkDigest, digestOf, matchesDigest, sha256Hex } from '../../lib/store/sha256.ts';

const body = Buffer.from('archived bytes');
const good = { sha256: sha256Hex(body), size: body.length };

describe('checkDigest', () => {
  test('passes what matches (hash case-insensitive; absent expectations unchecked)', async () => {
    const actual = await digestOf(Readable.from([body.subarray(0, 3), body.subarray(3)]));
    expect(actual).toEqual(good);
    expect(() => checkDigest(good, actual, 'x')).not.toThrow();
    expect(() => checkDigest({ sha256: good.sha256.toUpperCase() }, actual, 'x')).not.toThrow();
    expect(() => checkDigest({}, actual, 'x')).not.toThrow();
  });

  test('names whose data, both sides, and whether the hash or only the size differs', () => {
    expect(() => checkDigest({ ...good, sha256: '0'.repeat(64) }, good, 'read back', { file: 'a.log' })).toThrow(
      /^read back: SHA-256 mismatch: expected 14 bytes SHA-256 0{64}, received 14 bytes SHA-256 [0-9a-f]{64}/,
    );
    expect(() => checkDigest({ size: 3 }, good, 'put')).toThrow(/^put: size mismatch: expected 3 bytes, received 14/);
    expect(() => checkDigest({ size: 3 }, good, 'put')).toThrow(IntegrityError);
    expect(matchesDigest({ size: 14 }, good)).toBe(true);
    expect(matchesDigest({ size: 13 }, good)).toBe(false);
  });

  test('a content-addressed object must hash to its id', () => {
    expect(() => checkContentId(body, good.sha256, 'pack')).not.toThrow();
    expect(() => checkContentId(body, 'f'.repeat(64), 'pack', { key: 'k' })).toThrow(
      /pack content hashes to [0-9a-f]{64}, not its id f{64}/,
    );
  });
});

describe('readWhole', () => {
  test('joins what a stream yields, strings as UTF-8', async () => {
    expect((await readWhole(Readable.from(['ä', Buffer.from('b')]))).toString('utf8')).toBe('äb');
    expect(await readWhole(Readable.from([]))).toEqual(Buffer.alloc(0));
  });

  test('stops at maxBytes with the caller’s error and destroys the stream', async () => {
    const stream = Readable.from([Buffer.alloc(10), Buffer.alloc(10), Buffer.alloc(10)]);
    await expect(readWhole(stream, { maxBytes: 15, tooLarge: () => new IntegrityError('too big') })).rejects.toThrow(
      'too big',
    );
    expect(stream.destroyed).toBe(true);
  });
});
