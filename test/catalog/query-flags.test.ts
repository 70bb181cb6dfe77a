// Query flags: labels, ISO and relative times, literal phrases, and the usage errors for bad values.
import { describe, expect, test } from 'vitest';
import { literalPhrase, queryFromFlags } from '../../lib/catalog/query-flags.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { ConfigError } from '../../lib/errors.ts';
import { FakeSource } from './fake-source.ts';

const now = new Date('2026-11-20T12:00:00Z');

describe('queryFromFlags', () => {
  test('labels, times and filters', () => {
    expect(queryFromFlags({ label: ['a=1', 'b=x=y'], since: '7d', until: '2026-11-20', phase: 'Failed' }, now)).toEqual(
      {
        labels: { a: '1', b: 'x=y' },
        since: new Date('2026-11-13T12:00:00Z'),
        until: new Date('2026-11-20T00:00:00Z'),
        phase: 'Failed',
      },
    );
    expect(queryFromFlags({ since: '90m' }, now).since).toEqual(new Date('2026-11-20T10:30:00Z'));
  });

  test('bad values are usage errors that name the flag', () => {
    const cases: [Parameters<typeof queryFromFlags>[0], RegExp][] = [
      [{ label: ['novalue'] }, /--label "novalue" must look like key=value/],
      [{ label: ['=x'] }, /--label "=x"/],
      [{ label: ['a=1', 'a=2'] }, /given twice/],
      [{ since: 'yesterday' }, /--since "yesterday" is neither an ISO date/],
      [{ until: '2026-13-45' }, /--until "2026-13-45"/],
      [{ since: '1d', until: '2d' }, /--since .* must be before --until/],
    ];
    for (const [flags, message] of cases) {
      expect(() => queryFromFlags(flags, now), JSON.stringify(flags)).toThrow(ConfigError);
      expect(() => queryFromFlags(flags, now)).toThrow(message);
    }
  });

  test('--literal searches text that is not a valid query', async () => {
    const source = new FakeSource().add({
      id: 'e'.repeat(64),
      uid: 'u',
      name: 'wf',
      logs: { n1: 'ok\nerror: exit-code "137" (OOMKilled)\n' },
    });
    const { catalog } = openSqliteCatalog(':memory:');
    await indexCatalog(catalog, source);
    const raw = 'error: exit-code "137" (OOMKilled';
    await expect(catalog.searchText(raw)).rejects.toThrow(ConfigError);
    const literal = queryFromFlags({ text: raw, literal: true }, now).text!;
    expect(literal).toBe(literalPhrase(raw));
    expect(await catalog.searchText(literal)).toMatchObject([{ nodeId: 'n1', line: 2 }]);
    expect(await catalog.searchText(literalPhrase('exit-code "138"'))).toEqual([]);
    await catalog.close();
  });
});
