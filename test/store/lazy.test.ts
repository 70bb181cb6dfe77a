// The lazily loaded store: loads its adapter once, on the first request, and passes everything through.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../../lib/errors.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { LazyStore } from '../../lib/store/lazy.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('LazyStore', () => {
  test('loads the adapter on the first request only, then delegates every call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-lazy-'));
    dirs.push(dir);
    let loads = 0;
    const store = new LazyStore('file:lazy', async () => {
      loads++;
      return new FileSystemStore(dir);
    });
    expect(loads).toBe(0);
    await store.put('a/1', Buffer.from('one'));
    await store.put('a/2', Buffer.from('two'));
    expect(await text(await store.get('a/2'))).toBe('two');
    expect((await store.head('a/1'))?.size).toBe(3);
    const keys: string[] = [];
    for await (const o of store.list('a/')) keys.push(o.key);
    expect(keys).toEqual(['a/1', 'a/2']);
    await store.delete(['a/1']);
    expect(await store.head('a/1')).toBeUndefined();
    expect(loads).toBe(1);
  });

  test('an adapter that cannot be opened fails each request with its error', async () => {
    const store = new LazyStore('s3://b/', async () => {
      throw new ConfigError('bad S3 settings');
    });
    await expect(store.head('k')).rejects.toThrow(ConfigError);
    await expect(store.get('k')).rejects.toThrow(/bad S3 settings/);
  });
});
