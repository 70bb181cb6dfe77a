// GraphQL at /graphql over the same service as REST: tenant filtering, audit, cursors shared with REST, limits.
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LOG, ARTIFACT, startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
beforeAll(async () => {
  f = await startFixture();
});
afterAll(() => f.close());

interface GqlBody {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- shapes are the query's
  data?: any;
  errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown[] }>;
}

async function gql(query: string, token = 'alice-token', variables?: Record<string, unknown>) {
  const res = await fetch(`${f.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ query, ...(variables && { variables }) }),
  });
  return { status: res.status, body: (await res.json()) as GqlBody };
}

describe('graphql', () => {
  test('401 without a valid token, as REST', async () => {
    expect((await gql('{ workflows { nodes { name } } }', '')).status).toBe(401);
    expect((await gql('{ workflows { nodes { name } } }', 'wrong')).status).toBe(401);
  });

  test('lists only what the caller may list, with filters, and pages with cursors REST also accepts', async () => {
    const { body } = await gql('{ workflows { nodes { name namespace labels { key value } } } }');
    expect(body.data.workflows.nodes.map((w: { name: string }) => w.name)).toEqual(['wf-3', 'wf-2', 'wf-1']);
    const bob = await gql('{ workflows { nodes { name } } }', 'bob-token');
    expect(bob.body.data.workflows.nodes).toEqual([{ name: 'wf-4' }]);
    const filtered = await gql(
      '{ workflows(filter: {labelSelector: "team=a", phases: ["succeeded"]}, sort: OLDEST) { nodes { name } } }',
    );
    expect(filtered.body.data.workflows.nodes).toEqual([{ name: 'wf-1' }, { name: 'wf-3' }]);

    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: { body: GqlBody } = await gql(
        'query($after: String) { workflows(first: 1, sort: OLDEST, after: $after) { nodes { name } pageInfo { hasNextPage endCursor } } }',
        'alice-token',
        { after },
      );
      seen.push(...page.body.data.workflows.nodes.map((w: { name: string }) => w.name));
      after = page.body.data.workflows.pageInfo.endCursor;
    } while (after);
    expect(seen).toEqual(['wf-1', 'wf-2', 'wf-3']);

    // One data path: a cursor from GraphQL continues the same listing over REST.
    const first = await gql('{ workflows(first: 1, sort: OLDEST) { pageInfo { endCursor } } }');
    const rest = await fetch(
      `${f.base}/api/v1/workflows?sort=oldest&limit=5&cursor=${first.body.data.workflows.pageInfo.endCursor}`,
      { headers: { authorization: 'Bearer alice-token' } },
    );
    expect(((await rest.json()) as { items: Array<{ name: string }> }).items.map((w) => w.name)).toEqual([
      'wf-2',
      'wf-3',
    ]);
  });

  test("a workflow's nodes, logs (range, grep) and artifacts; every archive read audited", async () => {
    f.audit.length = 0;
    const { body } = await gql(
      `query($id: ID!) { workflow(manifestId: $id) {
         name
         nodes { id children logs { container size text(offset: 5, length: 7) } }
         log(nodeId: "wf-1-node") { whole: text grep: text(grep: "segfault") }
         artifacts { path name size sha256 downloadUrl }
       } }`,
      'alice-token',
      { id: f.ids['wf-1'] },
    );
    expect(body.errors).toBeUndefined();
    const wf = body.data.workflow;
    const node = wf.nodes.find((n: { id: string }) => n.id === 'wf-1-node');
    expect(node.logs).toEqual([{ container: 'main', size: LOG.length, text: LOG.slice(5, 12) }]);
    expect(wf.log.whole).toBe(LOG);
    expect(wf.log.grep).toBe('42:line 42 segfault in worker\n');
    expect(wf.artifacts).toEqual([
      {
        path: 'artifacts/wf-1-node/model.txt',
        name: 'model',
        size: ARTIFACT.length,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        downloadUrl: `/api/v1/workflows/${f.ids['wf-1']}/artifacts/artifacts/wf-1-node/model.txt`,
      },
    ]);
    // The detail (once per request, however many fields need it) and each log read, with the verified caller.
    // (resolvers run concurrently: order by what was read)
    const reads = f.audit.map((a) => [a.actor, a.action, a.details?.what, a.details?.range ?? a.details?.grep ?? null]);
    expect(reads.sort((x, y) => String(x).localeCompare(String(y)))).toEqual([
      ['alice', 'read', 'log', null],
      ['alice', 'read', 'log', '5-11'],
      ['alice', 'read', 'log', 'segfault'],
      ['alice', 'read', 'workflow', null],
    ]);
  });

  test('tenant boundaries: 404 for what the caller cannot see, 403 for list-only, search filtered', async () => {
    const hidden = await gql(`{ workflow(manifestId: "${f.ids['wf-4']}") { name } }`);
    expect(hidden.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(hidden.body.data).toEqual({ workflow: null });
    const listOnly = await gql(`{ workflow(manifestId: "${f.ids['wf-4']}") { name } }`, 'bob-token');
    expect(listOnly.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    const search = await gql('{ search(q: "segfault") { line snippet highlights workflow { name namespace } } }');
    expect(search.body.data.search.map((h: { workflow: { name: string } }) => h.workflow.name).sort()).toEqual([
      'wf-1',
      'wf-2',
    ]);
    expect(JSON.stringify(search.body)).not.toContain('ledger');
    const forbidden = await gql('{ search(q: "segfault", namespaces: ["finance"]) { line } }');
    expect(forbidden.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
  });

  test('introspection is on (and free of the depth limit)', async () => {
    const { status, body } = await gql(getIntrospectionQuery());
    expect(status).toBe(200);
    const types = body.data.__schema.types.map((t: { name: string }) => t.name);
    expect(types).toEqual(expect.arrayContaining(['Workflow', 'Node', 'Log', 'Artifact', 'Hold', 'Extension']));
  });
});

describe('graphql bad input: 4xx or a typed error, never a 500', () => {
  test('a query deeper than the limit is refused before it runs; fragments do not hide depth', async () => {
    f.audit.length = 0;
    const tree = (levels: number) => `nodes { id ${'childNodes { id '.repeat(levels)}${'} '.repeat(levels)}}`;
    const q = (levels: number) => `{ workflow(manifestId: "${f.ids['wf-1']}") { ${tree(levels)} } }`;
    const ok = await gql(q(5)); // depth 8: workflow, nodes, 5 childNodes, id
    expect(ok.status).toBe(200);
    expect(ok.body.errors).toBeUndefined();
    const deep = await gql(q(6));
    expect(deep.status).toBe(400);
    expect(deep.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_DEEP', depth: 9, limit: 8 });
    const viaFragments = await gql(`
      query { workflow(manifestId: "${f.ids['wf-1']}") { nodes { ...A } } }
      fragment A on Node { childNodes { ...B } }
      fragment B on Node { childNodes { ...C } }
      fragment C on Node { childNodes { childNodes { childNodes { childNodes { id } } } } }`);
    expect(viaFragments.status).toBe(400);
    expect(viaFragments.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_DEEP' });
    expect(f.audit.length).toBe(1); // only the allowed query read anything
  });

  test('depth and cost limits name themselves', async () => {
    f.audit.length = 0;
    const costly = await gql('{ workflows(first: 500) { nodes { nodes { logs { text } } } } }');
    expect((await gql('{ workflows(first: 100000) { nodes { name } } }')).status).toBe(400);
    expect(costly.status).toBe(400);
    expect(costly.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY' });
    expect(costly.body.errors?.[0]?.message).toMatch(/costs \d+; the limit is/);
    expect(f.audit).toEqual([]); // refused before any resolver ran
  });

  test.each([
    ['{ workflows(first: 501) { nodes { name } } }', 'limit'],
    ['{ workflows(first: 0) { nodes { name } } }', 'limit'],
    ['{ workflows(filter: {startedAfter: "yesterday"}) { nodes { name } } }', 'startedAfter'],
    ['{ workflows(filter: {labelSelector: ",,"}) { nodes { name } } }', 'labelSelector'],
    ['{ workflows(after: "not-a-cursor") { nodes { name } } }', 'cursor'],
    ['{ workflow(manifestId: "../../etc/passwd") { name } }', 'manifestId'],
    ['{ search(q: "\\"unclosed") { line } }', 'q'],
    ['{ search(q: "x", first: 1000) { line } }', 'limit'],
  ])('%s → BAD_USER_INPUT naming %s', async (query, field) => {
    const { status, body } = await gql(query);
    expect(status).toBe(200);
    const err = body.errors?.[0];
    expect(err?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
    expect(`${String(err?.extensions?.field)} ${err?.message}`).toContain(field);
  });

  test('malformed requests are 4xx', async () => {
    expect((await gql('{ workflows { nodes { name } ')).status).toBe(400); // syntax
    expect((await gql('{ nope }')).status).toBe(400); // unknown field
    const post = (body: string, type = 'application/json') =>
      fetch(`${f.base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': type, authorization: 'Bearer alice-token' },
        body,
      });
    expect((await post('not json')).status).toBe(400);
    expect((await post('[]')).status).toBe(400);
    expect((await post('{"query": "{ workflows { nodes { name } } }", "bogus": 1}')).status).toBe(400);
    expect((await post('query', 'text/plain')).status).toBe(415);
    expect((await post(JSON.stringify({ query: `{ ${'a '.repeat(40_000)} }` }))).status).toBe(413);
    expect((await post(JSON.stringify({ query: `{ ${'workflows { nodes { name } } '.repeat(1000)} }` }))).status).toBe(
      400,
    ); // too many tokens
    const del = await fetch(`${f.base}/graphql`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer alice-token' },
    });
    expect(del.status).toBe(405);
  });

  test('GET with query parameters works too', async () => {
    const res = await fetch(`${f.base}/graphql?query=${encodeURIComponent('{ workflows { nodes { name } } }')}`, {
      headers: { authorization: 'Bearer bob-token' },
    });
    expect(((await res.json()) as GqlBody).data.workflows.nodes).toEqual([{ name: 'wf-4' }]);
  });
});
