// The SQLite catalog's full-text walk: hits newest first (the segments indexed last), a page stops with its hits,
// the caller's namespaces hold whatever the walk meets first, and the compact layout reads back only what it shows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { SEGMENT_CHARS } from '../../lib/catalog/log-segments.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { archiveSegmentReader } from '../../lib/catalog/segment-reader.ts';
import { openSqliteCatalog, type SegmentReader } from '../../lib/catalog/sqlite.ts';
import { FakeSource } from './fake-source.ts';

const id = (c: string) => c.repeat(64);
const filler = (lines: number) => Array.from({ length: lines }, (_, i) => `step ${i} ok quiet`).join('\n');

/** Three workflows indexed oldest first (indexCatalog goes by manifest id); the newest has the longest log. */
function threeGenerations(): FakeSource {
  return new FakeSource()
    .add({ id: id('a'), uid: 'u1', name: 'oldest', logs: { n: 'needle here\n' } })
    .add({ id: id('b'), uid: 'u2', name: 'middle', logs: { n: `${filler(20)}\nneedle here\n` } })
    .add({ id: id('c'), uid: 'u3', name: 'newest', logs: { n: `${filler(400)}\nneedle here\n` } });
}

const dirs: string[] = [];
const open: Catalog[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function catalogFile(textFrom?: SegmentReader): Catalog {
  const dir = mkdtempSync(join(tmpdir(), 'strata-search-order-'));
  dirs.push(dir);
  const { catalog } = openSqliteCatalog(join(dir, 'catalog.db'), textFrom ? { textFrom } : {});
  open.push(catalog);
  return catalog;
}

describe.each([
  ['stored', false],
  ['compact', true],
])('SQLite full-text order (%s layout)', (_layout, compact) => {
  const make = (source: FakeSource) => catalogFile(compact ? archiveSegmentReader(source) : undefined);

  test('hits come newest first: the segments indexed last, whatever their length', async () => {
    const source = threeGenerations();
    const c = make(source);
    await indexCatalog(c, source);
    // Ranking (bm25) put the shortest segment first: the oldest workflow's.
    expect((await c.searchText('needle')).map((h) => h.name)).toEqual(['newest', 'middle', 'oldest']);
    expect((await c.searchText('needle', { limit: 2 })).map((h) => h.name)).toEqual(['newest', 'middle']);
    expect((await c.searchText('"needle here"', { limit: 1 })).map((h) => [h.name, h.line])).toEqual([['newest', 401]]);
  });

  test("newer hits in another namespace never fill the caller's page", async () => {
    const source = new FakeSource();
    source.add({ id: id('0'), uid: 'mine-1', name: 'mine-1', namespace: 'agents', logs: { n: 'needle one\n' } });
    source.add({ id: id('1'), uid: 'mine-2', name: 'mine-2', namespace: 'agents', logs: { n: 'needle two\n' } });
    for (const c of 'abcdef')
      source.add({ id: id(c), uid: `x-${c}`, name: `secret-${c}`, namespace: 'secret', logs: { n: 'needle x\n' } });
    const c = make(source);
    await indexCatalog(c, source);
    const hits = await c.searchText('needle', { namespaces: ['agents'], limit: 5 });
    expect(hits.map((h) => [h.namespace, h.name])).toEqual([
      ['agents', 'mine-2'],
      ['agents', 'mine-1'],
    ]);
    expect(await c.searchText('needle', { namespaces: [] })).toEqual([]);
  });
});

describe('reading hits back from the archive (compact layout)', () => {
  /** One log of `n` segments, `needle` in each. */
  const longLog = (n: number) => {
    const line = 'needle '.padEnd(99, 'x');
    return Array.from({ length: (n * SEGMENT_CHARS) / 100 - 1 }, () => line).join('\n') + '\n';
  };

  test('a page reads back only the segments it shows', async () => {
    const source = new FakeSource().add({ id: id('a'), uid: 'u', name: 'long', logs: { n: longLog(8) } });
    const reader = archiveSegmentReader(source);
    const asked: number[] = [];
    const c = catalogFile(async (s) => (asked.push(s.firstLine), reader(s)));
    await indexCatalog(c, source);
    asked.length = 0;
    const hits = await c.searchText('needle', { limit: 3 });
    expect(hits).toHaveLength(3);
    expect(asked).toHaveLength(3);
    // Newest first is the log's end first; the texts were read in log order, one stream forward.
    expect(hits.map((h) => h.line)).toEqual([...asked].sort((a, b) => b - a));
  });

  test('reading a segment back streams its log only as far as that segment, and no more of it is held', async () => {
    const text = longLog(8);
    let streamed = 0;
    const reader = archiveSegmentReader({
      openEntry: async () =>
        Readable.from(
          (function* () {
            for (let i = 0; i < text.length; i += 4096) {
              streamed += 4096;
              yield Buffer.from(text.slice(i, i + 4096));
            }
          })(),
        ),
    });
    const first = await reader({ manifestId: id('a'), path: 'logs/n/main.log', firstLine: 1 });
    expect(first.startsWith('needle')).toBe(true);
    expect(streamed).toBeLessThan(3 * SEGMENT_CHARS);
    // The next segment continues the same stream.
    const secondLine = first.split('\n').length;
    expect(await reader({ manifestId: id('a'), path: 'logs/n/main.log', firstLine: secondLine })).toMatch(/^needle/);
    expect(streamed).toBeLessThan(4 * SEGMENT_CHARS);
    // An earlier segment starts the log again; a line no segment starts on is an error naming the log.
    expect(await reader({ manifestId: id('a'), path: 'logs/n/main.log', firstLine: 1 })).toBe(first);
    await expect(reader({ manifestId: id('a'), path: 'logs/n/main.log', firstLine: 2 })).rejects.toThrow(
      /no segment starting at line 2/,
    );
  });
});
