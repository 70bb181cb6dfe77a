// The Elasticsearch catalog's own behaviour on the loopback node: period indices behind aliases, retention dropping
// expired periods, crash-safe upserts, and bulk indexing that waits out a node refusing for a while.
import { Client, type estypes } from '@elastic/elasticsearch';
import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { CatalogWorkflow, LogSegment } from '../../lib/catalog/catalog.ts';
import { BulkWriter } from '../../lib/catalog/es-bulk.ts';
import {
  openElasticsearchCatalog,
  workflowDocument,
  type ElasticsearchCatalog,
} from '../../lib/catalog/elasticsearch.ts';
import { StrataError } from '../../lib/errors.ts';
import {
  ensureSchema,
  ES_CATALOG_SCHEMA_VERSION,
  markRebuilt,
  RESET_CLAIM_STALE_MS,
} from '../../lib/catalog/es-schema.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { searchPeerOrSkip } from '../support/search-peer.ts';

const peer = searchPeerOrSkip(inject('searchPeer'));

function workflow(id: string, finishedAt: string, extra: Partial<CatalogWorkflow> = {}): CatalogWorkflow {
  return {
    manifestId: id.padEnd(64, '0'),
    uid: `uid-${id}`,
    namespace: 'ci',
    name: `wf-${id}`,
    phase: 'Failed',
    finishedAt,
    labels: { team: 'a' },
    incomplete: false,
    entries: 1,
    bytes: 10,
    ...extra,
  };
}

async function* segs(...list: LogSegment[]): AsyncIterable<LogSegment> {
  yield* list;
}

const prefix = () => `t-${randomBytes(4).toString('hex')}`;

describe.skipIf(peer.skip)(`Elasticsearch catalog${peer.skip ? ` (skipped: ${peer.skip})` : ''}`, () => {
  let catalog: ElasticsearchCatalog;
  beforeAll(async () => {
    catalog = await openElasticsearchCatalog({ node: peer.endpoint!, prefix: prefix(), replicas: 0 });
  });
  afterAll(async () => {
    await catalog?.client.indices.delete({ index: `${catalog.prefix}-*` });
    await catalog?.close();
  });

  test('a page by workflow time reads the months in its order, more each round, until it is full', async () => {
    const c = await openElasticsearchCatalog({ node: peer.endpoint!, prefix: prefix(), replicas: 0 });
    try {
      for (const [id, at] of [
        ['p1', '2026-07-10T10:00:00Z'],
        ['p2', '2026-08-10T10:00:00Z'],
        ['p3', '2026-09-10T10:00:00Z'],
        ['p4', '2026-10-10T10:00:00Z'],
        ['p5', '2026-11-10T10:00:00Z'],
        ['p6', '2026-11-11T10:00:00Z'],
      ] as const)
        await c.upsertManifest(workflow(id, at), [], segs());
      const read: unknown[] = [];
      const search = c.client.search.bind(c.client);
      c.client.search = ((params: { index?: unknown }) => {
        read.push(params.index);
        return search(params as never);
      }) as typeof c.client.search;
      const month = (m: string) => `${c.prefix}-workflows-2026.${m}`;
      const names = (p: { items: CatalogWorkflow[] }) => p.items.map((w) => w.name);

      // One row more than the page says whether another follows: November alone holds both.
      const first = await c.page({ sort: 'newest', limit: 1 });
      expect(names(first)).toEqual(['wf-p6']);
      expect(read.splice(0)).toEqual([[month('11')]]);

      const more = await c.page({ sort: 'newest', limit: 2, after: first.last! });
      expect(names(more)).toEqual(['wf-p5', 'wf-p4']);
      // The cursor's month first (one row left), then the two before it.
      expect(read.splice(0)).toEqual([[month('11')], [month('10'), month('09')]]);

      const oldest = await c.page({ sort: 'oldest', limit: 5 });
      expect(names(oldest)).toEqual(['wf-p1', 'wf-p2', 'wf-p3', 'wf-p4', 'wf-p5']);
      expect(read.splice(0)).toEqual([[month('07')], [month('08'), month('09')], [month('10'), month('11')]]);

      const finished = await c.page({
        sort: 'newest',
        limit: 10,
        finished: { from: new Date('2026-08-01T00:00:00Z'), to: new Date('2026-09-01T00:00:00Z') },
      });
      expect(names(finished)).toEqual(['wf-p2']);
      expect(read.splice(0)).toEqual([[month('08')]]);
    } finally {
      await c.client.indices.delete({ index: `${c.prefix}-*` });
      await c.close();
    }
  });

  test('one index per month behind read aliases; a hit names path, node and line', async () => {
    await catalog.upsertManifest(
      workflow('a1', '2026-10-03T10:00:00Z'),
      [{ path: 'logs/n1/main.log', kind: 'log', nodeId: 'n1' }],
      segs({ path: 'logs/n1/main.log', nodeId: 'n1', firstLine: 1, text: 'start\nERROR connection refused by db\n' }),
    );
    await catalog.upsertManifest(
      workflow('b2', '2026-11-20T10:00:00Z'),
      [],
      segs({ path: 'logs/n2/main.log', nodeId: 'n2', firstLine: 65, text: 'all good\n' }),
    );
    const indices = (await catalog.client.cat.indices({ index: `${catalog.prefix}-*`, format: 'json' })).map(
      (i) => i.index,
    );
    expect(indices.sort()).toEqual(
      ['logs-2026.10', 'logs-2026.11', 'workflows-2026.10', 'workflows-2026.11'].map((s) => `${catalog.prefix}-${s}`),
    );
    const hits = await catalog.searchText('"connection refused"');
    expect(hits).toMatchObject([
      { name: 'wf-a1', path: 'logs/n1/main.log', nodeId: 'n1', line: 2, snippet: 'ERROR «connection refused» by db' },
    ]);
    expect((await catalog.search({ text: 'conn*' })).map((w) => w.name)).toEqual(['wf-a1']);
    expect((await catalog.entries(workflow('a1', '').manifestId)).map((e) => e.path)).toEqual(['logs/n1/main.log']);
  });

  test('removing the last workflow of a month drops that month’s indices (retention frees space at once)', async () => {
    await catalog.remove(workflow('a1', '').manifestId);
    const indices = (await catalog.client.cat.indices({ index: `${catalog.prefix}-*`, format: 'json' })).map(
      (i) => i.index,
    );
    expect(indices.sort()).toEqual(['logs-2026.11', 'workflows-2026.11'].map((s) => `${catalog.prefix}-${s}`));
    expect(await catalog.searchText('refused')).toEqual([]);
    expect((await catalog.stats()).manifests).toBe(1);
  });

  test('a newest-first page reads only the newest matching documents, not every one its filters match', async () => {
    const c = await openElasticsearchCatalog({ node: peer.endpoint!, prefix: prefix(), replicas: 0 });
    try {
      // One upsert creates the month's index from the template; 400 more rows of the same month arrive in bulk.
      await c.upsertManifest(workflow('c0', '2026-09-01T00:00:00Z'), [], segs());
      const rows = Array.from({ length: 400 }, (_, i) =>
        workflow(`d${i.toString(16).padStart(3, '0')}`, new Date(Date.UTC(2026, 8, 2) + i * 60_000).toISOString()),
      );
      const operations = rows.flatMap((w) => [
        { index: { _index: `${c.prefix}-workflows-2026.09`, _id: w.manifestId } },
        workflowDocument(w, 'g0', [], 0),
      ]);
      expect((await c.client.bulk({ operations, refresh: true })).errors).toBe(false);
      const sent: estypes.SearchRequest[] = [];
      const search = c.client.search.bind(c.client);
      c.client.search = ((req: estypes.SearchRequest, opts?: object) => {
        sent.push(req);
        return search(req, opts);
      }) as typeof c.client.search;
      const page = await c.page({ sort: 'newest', limit: 5, labels: [{ key: 'team', op: 'in', values: ['a'] }] });
      expect(page.items.map((w) => w.name)).toEqual(['wf-d18f', 'wf-d18e', 'wf-d18d', 'wf-d18c', 'wf-d18b']);
      // The same request, profiled: how many documents the query visited to answer it.
      const profiled = await search({ ...sent.at(-1)!, profile: true });
      const visited = profiled.profile!.shards.flatMap((s) =>
        s.searches.flatMap((q) => q.query.map((n) => n.breakdown.next_doc_count + n.breakdown.advance_count)),
      );
      expect(visited.reduce((a, b) => a + b, 0)).toBeLessThan(50);
    } finally {
      await c.client.indices.delete({ index: `${c.prefix}-*` });
      await c.close();
    }
  });

  test('an upsert that dies while its log streams in leaves nothing visible; the next one replaces it', async () => {
    const w = workflow('c3', '2026-11-21T10:00:00Z');
    async function* dying(): AsyncIterable<LogSegment> {
      yield { path: 'logs/x.log', firstLine: 1, text: 'kraken released\n' };
      throw new Error('archive read failed');
    }
    await expect(catalog.upsertManifest(w, [], dying())).rejects.toThrow('archive read failed');
    await catalog.client.indices.refresh({ index: `${catalog.prefix}-*` });
    expect(await catalog.searchText('kraken')).toEqual([]);
    expect(await catalog.search({ text: 'kraken' })).toEqual([]);
    expect((await catalog.manifestIds()).has(w.manifestId)).toBe(false);
    await catalog.upsertManifest(w, [], segs({ path: 'logs/x.log', firstLine: 1, text: 'kraken released again\n' }));
    expect((await catalog.searchText('kraken')).map((h) => h.snippet)).toEqual(['«kraken» released again']);
    const { count } = await catalog.client.count({
      index: `${catalog.prefix}-logs`,
      query: { term: { manifestId: w.manifestId } },
    });
    expect(count).toBe(1);
  });

  test('concurrent upserts into a month no index holds yet all land, by this catalog and by a second one', async () => {
    // Two catalogs (two indexer pods) racing to create the same new month: the loser waits for the winner's shards.
    const other = await openElasticsearchCatalog({ node: peer.endpoint!, prefix: catalog.prefix, replicas: 0 });
    try {
      const ws = Array.from({ length: 8 }, (_, i) => workflow(`m${i}`, `2027-0${(i % 2) + 1}-1${i}T10:00:00Z`));
      await Promise.all(
        ws.map((w, i) =>
          (i % 2 ? other : catalog).upsertManifest(
            w,
            [],
            segs({ path: 'logs/m.log', firstLine: 1, text: `zebra ${i}\n` }),
          ),
        ),
      );
      const found = await catalog.search({ text: 'zebra' });
      expect(found.map((w) => w.name).sort()).toEqual(ws.map((w) => w.name).sort());
    } finally {
      await other.close();
    }
  });
});

/** A proxy that forwards to the node but, for the first `times` bulk answers, marks every other item 429. */
async function tooBusyProxy(target: string, times: number) {
  const url = new URL(target);
  let left = times;
  let rewritten = 0;
  const server = createServer((req, res) => {
    const up = request(
      { host: url.hostname, port: url.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          let body = Buffer.concat(chunks);
          if (req.url?.startsWith('/_bulk') && left > 0) {
            left--;
            rewritten++;
            const parsed = JSON.parse(body.toString()) as { errors: boolean; items: Array<Record<string, object>> };
            parsed.errors = true;
            parsed.items.forEach((item, i) => {
              if (i % 2 === 0) {
                const op = Object.keys(item)[0]!;
                item[op] = {
                  ...item[op],
                  status: 429,
                  error: { type: 'es_rejected_execution_exception', reason: 'busy' },
                };
              }
            });
            body = Buffer.from(JSON.stringify(parsed));
          }
          const headers = { ...answer.headers, 'content-length': String(body.length) };
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rewritten: () => rewritten,
    stop: () => new Promise<void>((ok) => (server.close(() => ok()), server.closeAllConnections())),
  };
}

describe.skipIf(peer.skip)('Elasticsearch bulk indexing against a node that refuses for a while', () => {
  const docs = (index: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({
      index,
      id: `d${i}`,
      doc: { n: i, pad: 'x'.repeat(200) },
      what: `doc ${i}`,
    }));
  let direct: Client;
  const index = `t-bulk-${randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    direct = new Client({ node: peer.endpoint! });
    await direct.indices.create({
      index,
      settings: { number_of_replicas: 0 },
      mappings: { properties: { n: { type: 'long' } } },
    });
  });
  afterAll(async () => {
    await direct?.indices.delete({ index: `${index}*` });
    await direct?.close();
  });
  const countIn = async (i: string) => {
    await direct.indices.refresh({ index: i });
    return (await direct.count({ index: i })).count;
  };

  test('5xx answers and dropped connections are waited out with back-off; every document arrives once', async () => {
    const proxy = await startFaultProxy({
      target: peer.endpoint!,
      rates: { error5xx: 0.5, drop: 0.3, cut: 0, slow: 0 },
      seed: 11,
      maxFaults: 10,
      lifetimeMs: 100_000,
    });
    const client = new Client({ node: proxy.endpoint, maxRetries: 0 });
    try {
      const writer = new BulkWriter(client, { flushBytes: 3_000, firstWaitMs: 10, maxWaitMs: 100 });
      for (const d of docs(index, 60)) await writer.add(d);
      await writer.flush();
      expect(proxy.stats.error5xx + proxy.stats.drop).toBeGreaterThan(0);
      expect(writer.retries).toBeGreaterThan(0);
      expect(await countIn(index)).toBe(60);
    } finally {
      await client.close();
      await proxy.stop();
    }
  });

  test('items rejected as too busy (429) are sent again, only those', async () => {
    const proxy = await tooBusyProxy(peer.endpoint!, 3);
    const client = new Client({ node: proxy.endpoint });
    try {
      const writer = new BulkWriter(client, { flushBytes: 1e9, firstWaitMs: 10 });
      for (const d of docs(`${index}-busy`, 20)) await writer.add(d);
      await writer.flush();
      expect(proxy.rewritten()).toBe(3);
      expect(writer.retries).toBe(3);
      expect(await countIn(`${index}-busy`)).toBe(20);
    } finally {
      await client.close();
      await proxy.stop();
    }
  });

  test('a refusal that outlasts the retry window fails with the cause; a rejected document is named', async () => {
    const proxy = await startFaultProxy({ target: peer.endpoint!, rates: { error5xx: 1, drop: 0, cut: 0, slow: 0 } });
    const client = new Client({ node: proxy.endpoint, maxRetries: 0 });
    try {
      const writer = new BulkWriter(client, { retryForMs: 300, firstWaitMs: 20 });
      await writer.add(docs(index, 1)[0]!);
      await expect(writer.flush()).rejects.toThrow(/still refused after 0 s: HTTP 50[03]/);
    } finally {
      await client.close();
      await proxy.stop();
    }
    const writer = new BulkWriter(direct);
    await writer.add({ index, id: 'bad', doc: { n: 'not a number' }, what: 'manifest m1, logs/a.log from line 1' });
    const err = await writer.flush().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrataError);
    expect((err as Error).message).toMatch(/refused manifest m1, logs\/a.log from line 1 .*mapper_parsing_exception/);
  });

  describe('schema version and the reset of an older catalog', () => {
    const catalog = { client: new Client({ node: peer.endpoint ?? 'http://127.0.0.1:1' }) };
    afterAll(() => catalog.client.close());
    const meta = (p: string) => `${p}-meta`;
    const setMeta = async (p: string, doc: Record<string, unknown>) =>
      catalog.client.index({ index: meta(p), id: 'catalog', document: doc, refresh: true });
    const stateOf = async (p: string) =>
      ((await catalog.client.get({ index: meta(p), id: 'catalog' }))._source as { state: string }).state;

    test('an opener waits while another deletes the old indices, then joins the rebuild without deleting', async () => {
      const p = prefix();
      const t0 = 1_800_000_000_000;
      await catalog.client.indices.create({ index: meta(p), settings: { number_of_replicas: 0 } });
      await setMeta(p, { version: ES_CATALOG_SCHEMA_VERSION, state: 'resetting', at: t0 });
      let deleted = 0;
      let waits = 0;
      const state = await ensureSchema(catalog.client, p, {
        reset: false,
        replicas: 0,
        deleteIndices: async () => void deleted++,
        hasIndices: async () => true,
        now: () => t0 + 1000,
        // The other opener finishes its deletion while this one waits.
        sleep: async () => {
          waits++;
          await setMeta(p, { version: ES_CATALOG_SCHEMA_VERSION, state: 'rebuilding', at: t0 + 2000 });
        },
      });
      expect({ state, deleted, waits }).toEqual({ state: { fresh: true, rebuilding: true }, deleted: 0, waits: 1 });
      await catalog.client.indices.delete({ index: meta(p) });
    });

    test('a reset claimed by an opener that died is taken over after a minute; done() marks the catalog ready', async () => {
      const p = prefix();
      const t0 = 1_800_000_000_000;
      await catalog.client.indices.create({ index: meta(p), settings: { number_of_replicas: 0 } });
      await setMeta(p, { version: ES_CATALOG_SCHEMA_VERSION, state: 'resetting', at: t0 });
      let deleted = 0;
      const state = await ensureSchema(catalog.client, p, {
        reset: false,
        replicas: 0,
        deleteIndices: async () => void deleted++,
        hasIndices: async () => true,
        now: () => t0 + RESET_CLAIM_STALE_MS + 1,
        sleep: async () => {
          throw new Error('waited for a claim that was abandoned');
        },
      });
      expect({ state, deleted }).toEqual({ state: { fresh: true, rebuilding: true }, deleted: 1 });
      expect(await stateOf(p)).toBe('rebuilding');
      await markRebuilt(catalog.client, p);
      expect(await stateOf(p)).toBe('ready');
      await catalog.client.indices.delete({ index: meta(p) });
    });
  });
});
