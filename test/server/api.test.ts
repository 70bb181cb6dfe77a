// The REST API end to end on loopback: real archive and catalog, token-file callers, responses checked against /openapi.json.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { archiveBundle, initRepository } from '../../lib/archive/index.ts';
import type { AuditRecord } from '../../lib/audit/audit.ts';
import type { BundleEntry, WorkflowBundle } from '../../lib/bundle/bundle.ts';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { openRepository } from '../../lib/archive/repository.ts';
import { parseAccessFile, TokenFileAccess } from '../../server/auth/token-file.ts';
import { createApp } from '../../server/http/app.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const LOG =
  Array.from({ length: 50 }, (_, i) => `line ${i + 1}${i === 41 ? ' segfault in worker' : ''}`).join('\n') + '\n';

function bundle(
  i: number,
  namespace: string,
  phase: string,
  labels: Record<string, string>,
  log: string,
): WorkflowBundle {
  const uid = `00000000-0000-0000-0000-0000000000${String(i).padStart(2, '0')}`;
  const name = `wf-${i}`;
  const node = `${name}-node`;
  const day = String(i).padStart(2, '0');
  const workflow = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name, namespace, uid, labels },
    status: {
      phase,
      startedAt: `2026-11-${day}T09:00:00Z`,
      finishedAt: `2026-11-${day}T10:00:00Z`,
      nodes: {
        [name]: { id: name, name, type: 'DAG', phase, children: [node] },
        [node]: { id: node, name: `${name}.a`, displayName: 'a', type: 'Pod', phase, children: [] },
      },
    },
  };
  const entries: BundleEntry[] = [
    {
      path: `logs/${node}/main.log`,
      kind: 'log',
      nodeId: node,
      container: 'main',
      size: Buffer.byteLength(log),
      open: async () => Readable.from([Buffer.from(log)]),
    },
  ];
  return { uid, namespace, name, workflow, entries, missing: [] };
}

const ACCESS = `
users:
  - { username: alice, tokenSha256: ${sha('alice-token')} }
  - { username: bob, groups: [finance-auditors], tokenSha256: ${sha('bob-token')} }
  - { username: carol, tokenSha256: ${sha('carol-token')} }
rules:
  - { user: alice, verbs: [get, list], namespaces: [agents] }
  - { group: finance-auditors, verbs: [list], namespaces: [finance] }
`;

let dir: string;
let server: Server;
let base: string;
let catalog: Catalog;
let doc: {
  paths: Record<string, { get: { responses: Record<string, { content?: Record<string, { schema: object }> }> } }>;
  components: { schemas: { Problem: object } };
};
const audit: AuditRecord[] = [];
const ids: Record<string, string> = {};
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-server-'));
  const store = new FileSystemStore(join(dir, 'repo'));
  const repo = await initRepository(store);
  const wfs = [
    bundle(1, 'agents', 'Succeeded', { team: 'a', tier: 'gold' }, LOG),
    bundle(2, 'agents', 'Failed', { team: 'b' }, 'setup\nsegfault in worker 3\n'),
    bundle(3, 'agents', 'Succeeded', { team: 'a' }, 'ok\n'),
    bundle(4, 'finance', 'Succeeded', { team: 'a' }, 'ledger closed, segfault in worker 9\n'),
  ];
  for (const b of wfs) ids[b.name] = (await archiveBundle(repo, b)).manifestId;
  catalog = openSqliteCatalog(':memory:').catalog;
  await indexCatalog(catalog, await archiveManifestSource(store));
  const access = new TokenFileAccess(parseAccessFile(ACCESS, 'access.yaml'));
  server = createServer(
    createApp({
      catalog,
      repository: () => openRepository(store),
      authenticator: access,
      authorizer: access,
      audit: { record: async (r) => void audit.push(r) },
      version: 'test',
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
  doc = (await (await fetch(`${base}/openapi.json`)).json()) as typeof doc;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await catalog.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, token?: string, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, { headers: { ...(token && { authorization: `Bearer ${token}` }), ...headers } });
}

/** The body, checked against the document's schema for this path and status. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are checked by schema at run time
async function checked(res: Response, route: string): Promise<any> {
  const body = await res.json();
  const responses = doc.paths[route]!.get.responses;
  const schema =
    res.status < 300
      ? responses[String(res.status)]!.content!['application/json']!.schema
      : doc.components.schemas.Problem;
  expect(responses[String(res.status)], `status ${res.status} documented for ${route}`).toBeDefined();
  const validate = ajv.compile(schema);
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
  return body;
}

const LIST = '/api/v1/workflows';

describe('openapi', () => {
  test('is OpenAPI 3.1 with every route', () => {
    expect((doc as unknown as { openapi: string }).openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([LIST, '/api/v1/workflows/{manifestId}', '/api/v1/search', '/healthz', '/readyz']),
    );
  });
});

describe('authentication and tenant boundaries', () => {
  test('401 without a token or with a wrong one', async () => {
    expect((await get(LIST)).status).toBe(401);
    const res = await get(LIST, 'nope');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    await checked(res, LIST);
  });

  test('a list shows only namespaces the caller may list', async () => {
    const alice = await checked(await get(LIST, 'alice-token'), LIST);
    expect(alice.items.map((w: { namespace: string }) => w.namespace)).toEqual(['agents', 'agents', 'agents']);
    const bob = await checked(await get(LIST, 'bob-token'), LIST);
    expect(bob.items.map((w: { name: string }) => w.name)).toEqual(['wf-4']);
    const carol = await checked(await get(LIST, 'carol-token'), LIST);
    expect(carol.items).toEqual([]);
  });

  test('403 when asking for a namespace the caller may not list', async () => {
    const res = await get(`${LIST}?namespace=finance`, 'alice-token');
    expect(res.status).toBe(403);
    expect((await checked(res, LIST)).error.message).toContain('finance');
  });

  test("search never returns another tenant's hits", async () => {
    const alice = await checked(await get('/api/v1/search?q=segfault', 'alice-token'), '/api/v1/search');
    expect(alice.hits.length).toBe(2);
    expect(alice.hits.every((h: { namespace: string }) => h.namespace === 'agents')).toBe(true);
    expect(JSON.stringify(alice)).not.toContain('ledger');
    const carol = await checked(await get('/api/v1/search?q=segfault', 'carol-token'), '/api/v1/search');
    expect(carol.hits).toEqual([]);
  });

  test('a workflow in a namespace the caller cannot see is a 404, one they may list but not get a 403', async () => {
    expect((await get(`${LIST}/${ids['wf-4']}`, 'alice-token')).status).toBe(404);
    expect((await get(`${LIST}/${ids['wf-4']}`, 'bob-token')).status).toBe(403);
    expect((await get(`${LIST}/${ids['wf-1']}/nodes/wf-1-node/log`, 'carol-token')).status).toBe(404);
  });
});

describe('listing', () => {
  test('pages with an opaque cursor, no row twice or missed', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await checked(
        await get(`${LIST}?limit=1&sort=oldest${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, 'alice-token'),
        LIST,
      );
      seen.push(...page.items.map((w: { name: string }) => w.name));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['wf-1', 'wf-2', 'wf-3']);
  });

  test('a cursor from another query is refused', async () => {
    const page = await checked(await get(`${LIST}?limit=1`, 'alice-token'), LIST);
    const res = await get(`${LIST}?limit=1&phase=Failed&cursor=${page.nextCursor}`, 'alice-token');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe('cursor');
  });

  test.each([
    ['labelSelector=team%3Da', ['wf-3', 'wf-1']],
    ['labelSelector=team!%3Da', ['wf-2']],
    ['labelSelector=team%20in%20(b)', ['wf-2']],
    ['labelSelector=tier', ['wf-1']],
    ['labelSelector=!tier,team%3Da', ['wf-3']],
    ['phase=failed', ['wf-2']],
    ['namePrefix=wf-', ['wf-3', 'wf-2', 'wf-1']],
    ['finishedAfter=2026-11-02T10:00:00Z', ['wf-3', 'wf-2']],
    ['startedBefore=2026-11-02T00:00:00Z', ['wf-1']],
    ['sort=name', ['wf-1', 'wf-2', 'wf-3']],
    ['incomplete=true', []],
  ])('filter %s', async (query, names) => {
    const page = await checked(await get(`${LIST}?${query}`, 'alice-token'), LIST);
    expect(page.items.map((w: { name: string }) => w.name)).toEqual(names);
  });
});

describe('one workflow and its logs', () => {
  test('detail has the object, node tree with logs, entries', async () => {
    audit.length = 0;
    const route = '/api/v1/workflows/{manifestId}';
    const body = await checked(await get(`${LIST}/${ids['wf-1']}`, 'alice-token'), route);
    expect(body.object.metadata.name).toBe('wf-1');
    const node = body.nodes.find((n: { id: string }) => n.id === 'wf-1-node');
    expect(node.logs).toEqual([{ container: 'main', path: 'logs/wf-1-node/main.log', size: LOG.length }]);
    expect(body.nodes.find((n: { id: string }) => n.id === 'wf-1').children).toEqual(['wf-1-node']);
    expect(audit).toMatchObject([{ action: 'read', actor: 'alice', subject: ids['wf-1'] }]);
  });

  test('a log streams whole, by byte range, and grep-filtered; each read audited', async () => {
    audit.length = 0;
    const url = `${LIST}/${ids['wf-1']}/nodes/wf-1-node/log`;
    const whole = await get(url, 'alice-token');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(await whole.text()).toBe(LOG);
    const part = await get(url, 'alice-token', { range: 'bytes=5-11' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 5-11/${LOG.length}`);
    expect(await part.text()).toBe(LOG.slice(5, 12));
    const tail = await get(url, 'alice-token', { range: 'bytes=-8' });
    expect(await tail.text()).toBe(LOG.slice(-8));
    const beyond = await get(url, 'alice-token', { range: `bytes=${LOG.length}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${LOG.length}`);
    const grep = await get(`${url}?grep=segfault`, 'alice-token');
    expect(await grep.text()).toBe('42:line 42 segfault in worker\n');
    expect(audit.map((a) => [a.actor, a.details?.range ?? a.details?.grep ?? 'whole'])).toEqual([
      ['alice', 'whole'],
      ['alice', '5-11'],
      ['alice', `${LOG.length - 8}-${LOG.length - 1}`],
      ['alice', 'segfault'],
    ]);
  });

  test('search hits name node, line and highlight the match', async () => {
    const body = await checked(await get('/api/v1/search?q=segfault', 'alice-token'), '/api/v1/search');
    const hit = body.hits.find((h: { name: string }) => h.name === 'wf-1');
    expect(hit).toMatchObject({ nodeId: 'wf-1-node', line: 42, path: 'logs/wf-1-node/main.log' });
    const [s, e] = hit.highlights[0];
    expect(hit.snippetText.slice(s, e)).toBe('segfault');
    expect(hit.snippet).toContain('«segfault»');
  });
});

describe('bad input is a 4xx with a clear message, never a 500', () => {
  test.each([
    [`${LIST}?limit=100000`, 400, 'limit'],
    [`${LIST}?limit=0`, 400, 'limit'],
    [`${LIST}?limit=abc`, 400, 'limit'],
    [`${LIST}?bogus=1`, 400, 'bogus'],
    [`${LIST}?startedAfter=yesterday`, 400, 'startedAfter'],
    [`${LIST}?startedAfter=2026-11-03T00:00:00Z&startedBefore=2026-11-01T00:00:00Z`, 400, 'startedAfter'],
    [`${LIST}?labelSelector=a%20in%20(%3Cscript%3E)`, 400, 'labelSelector'],
    [`${LIST}?labelSelector=%2C%2C`, 400, 'labelSelector'],
    [`${LIST}?cursor=not-a-cursor`, 400, 'cursor'],
    [`${LIST}?namespace=..%2Fetc`, 400, 'namespace'],
    [`${LIST}/..%2F..%2Fetc%2Fpasswd`, 400, 'manifestId'],
    [`${LIST}/${'a'.repeat(64)}/nodes/..%2Fx/log`, 400, 'nodeId'],
    [`${LIST}/%E0%A4%A`, 400, 'manifestId'],
    ['/api/v1/search?q=%22unclosed', 400, 'q'],
    ['/api/v1/search?q=a%20NEAR(', 400, 'q'],
    ['/api/v1/search', 400, 'q'],
    [`/api/v1/search?q=${'x'.repeat(2000)}`, 400, 'q'],
    [`${LIST}/${'a'.repeat(64)}`, 404, undefined],
    [`${LIST}/${'b'.repeat(64)}/nodes/n/log?container=Main!`, 400, 'container'],
  ])('%s → %i', async (path, status, field) => {
    const res = await get(path, 'alice-token');
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { message: string; field?: string } };
    expect(body.error.message.length).toBeGreaterThan(5);
    if (field) expect(body.error.field ?? body.error.message).toContain(field);
  });

  test('other methods are 405, unknown paths 404, probes answer without a token', async () => {
    expect(
      (await fetch(`${base}${LIST}`, { method: 'POST', headers: { authorization: 'Bearer alice-token' } })).status,
    ).toBe(405);
    expect((await get('/nope', 'alice-token')).status).toBe(404);
    expect((await get('/healthz')).status).toBe(200);
    expect(await checked(await get('/readyz'), '/readyz')).toEqual({ status: 'ok' });
  });
});
