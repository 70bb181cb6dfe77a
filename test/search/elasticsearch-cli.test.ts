// The CLI on an Elasticsearch catalog (--catalog elasticsearch+http://…): `strata index` writes it, `strata search`
// reads it, and `strata tier` takes an expired workflow's documents out when its archive goes.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { catalogLocation, openCatalog } from '../../lib/catalog/open.ts';
import { tempRepository } from '../archive/fixtures.ts';
import { policyYaml } from '../policy/helpers.ts';
import { runCli } from '../support/run-cli.ts';
import { searchPeerOrSkip } from '../support/search-peer.ts';
import { archiveAt, DAY } from '../tier/helpers.ts';

const peer = searchPeerOrSkip(inject('searchPeer'));

test('catalog setting: a file path is SQLite, elasticsearch+http(s):// a node with an index prefix', () => {
  expect(catalogLocation('.strata/catalog.db')).toEqual({ kind: 'sqlite', path: '.strata/catalog.db' });
  expect(catalogLocation('elasticsearch+https://u:p@es.example:9200/team-a?replicas=0&shards=2')).toEqual({
    kind: 'elasticsearch',
    node: 'https://u:p@es.example:9200',
    prefix: 'team-a',
    replicas: 0,
    shards: 2,
  });
  expect(catalogLocation('elasticsearch+http://127.0.0.1:9200')).toMatchObject({ prefix: 'strata' });
  expect(() => catalogLocation('elasticsearch+http://h:9200/p?replicas=two')).toThrow(
    /replicas must be a whole number/,
  );
});

describe.skipIf(peer.skip)(`strata on an Elasticsearch catalog${peer.skip ? ` (skipped: ${peer.skip})` : ''}`, () => {
  let t: Awaited<ReturnType<typeof tempRepository>>;
  const catalog = `elasticsearch+${peer.endpoint}/cli-${randomBytes(4).toString('hex')}?replicas=0`;
  const strata = (args: string[]) => runCli(['--store', `file:${t.root}`, '--catalog', catalog, ...args]);
  let policy: string;

  beforeAll(async () => {
    t = await tempRepository();
    policy = join(t.root, '..', 'policy.yaml');
    writeFileSync(policy, policyYaml([], { archiveAfter: '0s', timeline: { hot: 'rest' }, retainFor: '30d' }));
    await archiveAt(t.repo, 'old', new Date(Date.now() - 40 * DAY), [Buffer.from('step 1\nold kraken surfaced\n')]);
    await archiveAt(t.repo, 'young', new Date(Date.now() - 5 * DAY), [Buffer.from('young kraken too\n')]);
  });
  afterAll(async () => {
    const { catalog: c } = await openCatalog(catalog);
    if ('reset' in c && typeof c.reset === 'function') await (c.reset as () => Promise<void>)();
    await c.close();
    await t?.cleanup();
  });

  const hits = async () => {
    const r = await strata(['search', 'kraken', '-o', 'json']);
    expect(r.code, r.err).toBe(0);
    return (JSON.parse(r.out) as Array<{ uid: string; line: number }>).map((h) => `${h.uid}:${h.line}`).sort();
  };

  test('index, then search finds both; expiry takes the old one out of the index with its archive', async () => {
    const indexed = await strata(['index', '-o', 'json']);
    expect(indexed.code, indexed.err).toBe(0);
    expect(JSON.parse(indexed.out)).toMatchObject({ indexed: 2, problems: 0 });
    expect(await hits()).toEqual(['old:2', 'young:1']);

    const tier = await strata(['tier', '--policy', policy, '--settle', '0s', '-o', 'json']);
    expect(tier.code, tier.err).toBe(0);
    expect(JSON.parse(tier.out)).toMatchObject({ expired: 1 });
    expect(await hits()).toEqual(['young:1']);

    // A rebuild from the store gives the same answers.
    expect((await strata(['index', '--rebuild', '-o', 'json'])).code).toBe(0);
    expect(await hits()).toEqual(['young:1']);
  });
});
