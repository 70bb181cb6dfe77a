// Full-text hits on awkward log text: the reported line and snippet are the real ones whatever bytes the log holds.
import { describe, expect, test } from 'vitest';
import { literalPhrase, queryFromFlags } from '../../lib/catalog/query-flags.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { FakeSource } from './fake-source.ts';

async function hitsIn(log: string | Uint8Array, query: string) {
  const { catalog } = openSqliteCatalog(':memory:');
  try {
    const report = await indexCatalog(
      catalog,
      new FakeSource().add({ id: 'f'.repeat(64), uid: 'u', name: 'wf', logs: { n1: log } }),
    );
    expect(report.problems).toEqual([]);
    return (await catalog.searchText(query)).map((h) => ({ line: h.line, snippet: h.snippet }));
  } finally {
    await catalog.close();
  }
}

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('line and snippet of a hit', () => {
  // Each log has the hit on line 3, after a line holding the awkward bytes.
  const before: [string, string | Uint8Array][] = [
    ['NUL', 'line one\nline two \x00 bin\nline three findme here\n'],
    ['several NULs', 'line one\n\x00\x00\x00\x00\nline three findme here\n'],
    // U+0001 and U+0002 are what the highlighter marks a match with.
    ['SOH/STX', 'line one\nline two \x01 x \x02\nline three findme here\n'],
    ['ESC sequence', 'line one\nline two \x1b[31mred\x1b[0m\nline three findme here\n'],
    ['other C0 and DEL', 'line one\nline two \x07\x08\x0b\x0c\x7f\nline three findme here\n'],
    ['CRLF line ends', 'line one\r\nline two\r\nline three findme here\r\n'],
    ['invalid UTF-8', bytes('line one\nline two ', [0xff, 0xfe, 0xc3], ' bin\nline three findme here\n')],
    ['line separator U+2028', 'line one\nline two \u2028 x\nline three findme here\n'],
  ];
  for (const [name, log] of before) {
    test(`after ${name}`, async () => {
      expect(await hitsIn(log, 'findme')).toEqual([{ line: 3, snippet: 'line three «findme» here' }]);
    });
  }

  test('a NUL many segments before the hit', async () => {
    const filler = Array.from({ length: 3000 }, (_, i) => `filler line ${i + 2} \x00 padding-padding-padding`);
    const log = ['line one', ...filler, 'the findme line'].join('\n') + '\n';
    expect(await hitsIn(log, 'findme')).toEqual([{ line: 3002, snippet: 'the «findme» line' }]);
  });

  test('control bytes on the hit line are shown, not sent to the terminal', async () => {
    expect(await hitsIn('a\x00b \x1b[2J findme \x01\x02 x\ttab\x9b\n', 'findme')).toEqual([
      { line: 1, snippet: 'a␀b ␛[2J «findme» ␁␂ x\ttab�' },
    ]);
    expect(await hitsIn(bytes('bad ', [0xff], ' findme\n'), 'findme')).toEqual([
      { line: 1, snippet: 'bad � «findme»' },
    ]);
  });

  test('lines are counted by line feeds, as grep -n does: a lone CR does not start a line', async () => {
    expect(await hitsIn('one\rtwo findme\nthree\n', 'findme')).toEqual([{ line: 1, snippet: 'one␍two «findme»' }]);
  });

  test('two hits in one segment: the first one counts, with the right line', async () => {
    expect(await hitsIn('a\x00\nfindme b\nc findme\n', 'findme')).toEqual([{ line: 2, snippet: '«findme» b' }]);
  });
});

describe('searching a timestamp as it appears in the log', () => {
  // Every shape the index folds the sub-second digits of, and one it leaves alone (offset instead of Z).
  const stamps = [
    '2024-10-16T04:21:03.509232Z',
    '2024-10-16T04:21:03.509232123Z',
    '2024-10-16T04:21:03.5Z',
    '2024-10-16 04:21:03.509Z',
    '04:21:03.509232Z',
    '2024-10-16t04:21:03.509232z',
    '2024-10-16T04:21:03.509232+00:00',
  ];
  for (const stamp of stamps) {
    test(stamp, async () => {
      const log = `first line\n{"ts":"${stamp}","msg":"ready"}\n`;
      const hit = [{ line: 2, snippet: expect.stringContaining('ready') }];
      expect(await hitsIn(log, literalPhrase(stamp))).toEqual(hit);
      expect(await hitsIn(log, literalPhrase(stamp.toUpperCase()))).toEqual(hit);
      expect(await hitsIn(log, literalPhrase(`"ts":"${stamp}","msg"`))).toEqual(hit);
    });
  }

  test('through the search flags and the workflow query', async () => {
    const { catalog } = openSqliteCatalog(':memory:');
    const log = 'boot\n2024-10-16T04:21:03.509232Z step started\n';
    await indexCatalog(catalog, new FakeSource().add({ id: 'f'.repeat(64), uid: 'u', name: 'wf', logs: { n1: log } }));
    const query = queryFromFlags({ text: '2024-10-16T04:21:03.509232Z', literal: true });
    expect(await catalog.searchText(query.text!)).toMatchObject([{ line: 2 }]);
    expect((await catalog.search(query)).map((w) => w.name)).toEqual(['wf']);
    // A query may start anywhere in the timestamp (a token boundary: `16T04` is one token).
    expect(await catalog.searchText('"21:03.509232Z step"')).toMatchObject([{ line: 2 }]);
    await catalog.close();
  });

  test('sub-second digits are not indexed: a timestamp matches every line of its second', async () => {
    const log = '04:21:03.100Z a\n04:21:04.509Z b\n04:21:03.900Z c\n';
    expect(await hitsIn(log, literalPhrase('04:21:03.509Z'))).toHaveLength(1);
    const { catalog } = openSqliteCatalog(':memory:');
    await indexCatalog(catalog, new FakeSource().add({ id: 'f'.repeat(64), uid: 'u', name: 'wf', logs: { n1: log } }));
    expect(await catalog.searchText(literalPhrase('04:21:03.509Z'), { limit: 10 })).toMatchObject([{ line: 1 }]);
    expect(await catalog.searchText(literalPhrase('04:21:04.1Z'))).toMatchObject([
      { line: 2, snippet: '«04:21:04.509Z» b' },
    ]);
    await catalog.close();
  });
});
