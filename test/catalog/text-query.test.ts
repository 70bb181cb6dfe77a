// The catalog's query language: one parse for every backend, and the matcher that confirms and places hits.
import { describe, expect, test } from 'vitest';
import { logTokens, matchText, parseTextQuery, toFts5 } from '../../lib/catalog/text-query.ts';
import { matchSegment } from '../../lib/catalog/text-hit.ts';
import { ConfigError } from '../../lib/errors.ts';

const phrase = (prefix: boolean, ...tokens: string[]) => ({ kind: 'phrase', tokens, prefix });

describe('parse', () => {
  test('precedence: OR loosest, then AND (implied), then binary NOT', () => {
    expect(parseTextQuery('a b OR c NOT d')).toEqual({
      kind: 'or',
      of: [
        { kind: 'and', of: [phrase(false, 'a'), phrase(false, 'b')] },
        { kind: 'not', include: phrase(false, 'c'), exclude: phrase(false, 'd') },
      ],
    });
    expect(parseTextQuery('(a OR b) AND "C d"*')).toEqual({
      kind: 'and',
      of: [{ kind: 'or', of: [phrase(false, 'a'), phrase(false, 'b')] }, phrase(true, 'c', 'd')],
    });
  });

  test('bare words with punctuation are phrases of their tokens; quotes double inside phrases', () => {
    expect(parseTextQuery('exit-code:137')).toEqual(phrase(false, 'exit', 'code', '137'));
    expect(parseTextQuery('"say ""hi"""')).toEqual(phrase(false, 'say', 'hi'));
    expect(parseTextQuery('Ünïcode')).toEqual(phrase(false, 'unicode'));
    // Lower-case or/and/not are words.
    expect(parseTextQuery('or')).toEqual(phrase(false, 'or'));
  });

  test('malformed queries are ConfigErrors naming the query', () => {
    for (const bad of ['', ' ', 'a OR', 'NOT a', '(a', 'a)', '"a', '!!!', '""'])
      expect(() => parseTextQuery(bad), bad).toThrow(ConfigError);
    expect(() => parseTextQuery('a OR')).toThrow(/full-text query "a OR" is not valid/);
  });

  test('FTS5 translation quotes every phrase', () => {
    expect(toFts5(parseTextQuery('a "b c"* NOT (d OR e)'))).toBe('("a" AND ("b c" * NOT ("d" OR "e")))');
  });
});

describe('match', () => {
  test('phrases are consecutive tokens; a prefix applies to the last one', () => {
    const tokens = logTokens('error: connection refused by registry');
    expect(matchText(parseTextQuery('"connection refused"'), tokens)).toEqual([[7, 25]]);
    expect(matchText(parseTextQuery('"refused connection"'), tokens)).toBeUndefined();
    expect(matchText(parseTextQuery('"connection ref"*'), tokens)).toEqual([[7, 25]]);
    expect(matchText(parseTextQuery('refused NOT registry'), tokens)).toBeUndefined();
  });

  test('sub-second timestamp digits match any fraction, as the indexes store them', () => {
    const tokens = logTokens('at 10:00:00.323456789Z go');
    expect(matchText(parseTextQuery('"00:00.1Z go"'), tokens)).toBeDefined();
    expect(matchText(parseTextQuery('323456789z'), tokens)).toBeUndefined();
  });

  test('a segment match names the line and cuts a long line around the first match', () => {
    const long = 'x '.repeat(200) + 'needle ' + 'y '.repeat(200);
    const m = matchSegment(parseTextQuery('needle'), `one\ntwo\n${long}\n`)!;
    expect(m.lineOffset).toBe(2);
    expect(m.snippet.startsWith('…')).toBe(true);
    expect(m.snippet.endsWith('…')).toBe(true);
    expect(m.snippet).toContain('«needle»');
    expect(m.highlights.map(([s, e]) => m.snippetText.slice(s, e))).toEqual(['needle']);
    expect(matchSegment(parseTextQuery('absent'), long)).toBeUndefined();
  });
});
