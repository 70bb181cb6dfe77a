// Full-text searches of a SQLite catalog on search threads: the same answers as the catalog itself (the contract, both
// layouts), cancellation that frees the thread, and failures that say what went wrong.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { SearchThreadError, withSearchThreads } from '../../lib/catalog/search-threads.ts';
import { archiveSegmentReader } from '../../lib/catalog/segment-reader.ts';
import { openSqliteCatalog, type SegmentReader } from '../../lib/catalog/sqlite.ts';
import { ConfigError } from '../../lib/errors.ts';
import { contractCorpus, describeCatalogContract } from './contract.ts';

const dirs: string[] = [];
const fileIn = () => {
  const d = mkdtempSync(join(tmpdir(), 'strata-search-threads-'));
  dirs.push(d);
  return join(d, 'catalog.db');
};
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function threaded(path: string, textFrom?: SegmentReader, threads = 1): Catalog {
  const { catalog } = openSqliteCatalog(path, textFrom ? { textFrom } : {});
  return withSearchThreads(catalog, { path, threads, ...(textFrom && { textFrom }) });
}

describeCatalogContract('SQLite, searches on threads', async () => threaded(fileIn()));
describeCatalogContract('SQLite compact, searches on threads', async () =>
  threaded(fileIn(), archiveSegmentReader(contractCorpus())),
);

/** A reader of segment text that holds every read until opened (the first `stuck` reads forever). */
function heldReader(stuck = 0) {
  const real = archiveSegmentReader(contractCorpus());
  const held: Array<() => void> = [];
  let reads = 0;
  let opened = false;
  const reader: SegmentReader = async (s) => {
    reads++;
    if (reads <= stuck) await new Promise<never>(() => {});
    if (!opened) await new Promise<void>((r) => held.push(r));
    return real(s);
  };
  const open = () => {
    opened = true;
    for (const r of held.splice(0)) r();
  };
  return { reader, reads: () => reads, open };
}

describe('search threads', () => {
  const open: Catalog[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
  });
  const make = async (textFrom?: SegmentReader, threads = 1) => {
    const path = fileIn();
    const c = threaded(path, textFrom, threads);
    open.push(c);
    await indexCatalog(c, contractCorpus());
    return c;
  };

  test('a cancelled search rejects with the reason at once; its thread takes the next search', async () => {
    const text = heldReader();
    const c = await make(text.reader);
    const stop = new AbortController();
    const first = c.searchText('kraken', {}, { signal: stop.signal });
    await expect.poll(() => text.reads()).toBe(1); // running: its thread waits for the segment's text
    const second = c.searchText('panicked'); // waits for the one thread
    stop.abort(new Error('the client went away'));
    await expect(first).rejects.toThrow('the client went away');
    text.open();
    const hits = await second;
    expect(hits.map((h) => h.name)).toEqual(['play-2']);
  });

  test('a search cancelled while it waits for a thread never runs', async () => {
    const text = heldReader();
    const c = await make(text.reader);
    const running = c.searchText('kraken');
    await expect.poll(() => text.reads()).toBe(1);
    const stop = new AbortController();
    const waiting = c.searchText('panicked', {}, { signal: stop.signal });
    stop.abort(new Error('deadline passed'));
    await expect(waiting).rejects.toThrow('deadline passed');
    text.open();
    expect((await running).map((h) => h.name)).toEqual(['play-1']);
    expect(text.reads()).toBe(1); // the cancelled search read nothing
  });

  test('a cancelled search that does not stop is left behind: a fresh thread serves the next', async () => {
    const text = heldReader(1); // the first read never ends
    const c = await make(text.reader);
    const stop = new AbortController();
    const stuck = c.searchText('kraken', {}, { signal: stop.signal });
    await expect.poll(() => text.reads()).toBe(1);
    stop.abort(new Error('gave up'));
    await expect(stuck).rejects.toThrow('gave up');
    text.open();
    expect((await c.searchText('panicked')).map((h) => h.name)).toEqual(['play-2']);
    expect(text.reads()).toBe(2);
  });

  test('searches run side by side on several threads and see what was indexed since', async () => {
    const c = await make(undefined, 2);
    const all = await Promise.all(['kraken', 'panicked', 'refused', 'nosuchword'].map((q) => c.searchText(q)));
    expect(all.map((hits) => hits.map((h) => h.name).sort())).toEqual([
      ['play-1'],
      ['play-2'],
      ['docs-1', 'play-2'],
      [],
    ]);
    await c.remove('a'.repeat(64));
    expect(await c.searchText('kraken')).toEqual([]);
  });

  test('bad input and a file the threads cannot read are clear errors', async () => {
    const c = await make();
    await expect(c.searchText('refused AND')).rejects.toThrow(ConfigError);
    await expect(c.searchText('refused', { limit: 0 })).rejects.toThrow(/limit must be a positive integer/);
    await expect(c.searchText('refused', { limit: 0 })).rejects.toBeInstanceOf(ConfigError);
    // A stored catalog searched as if compact: the thread refuses the file and says why.
    const path = fileIn();
    const stored = openSqliteCatalog(path).catalog;
    const wrong = withSearchThreads(stored, { path, threads: 1, textFrom: archiveSegmentReader(contractCorpus()) });
    open.push(wrong);
    const err = await wrong.searchText('kraken').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SearchThreadError);
    expect((err as Error).message).toMatch(/cannot open catalog for searching: it is not a compact catalog/);
    expect((err as Error).message).toContain(path);
  });
});
