// CEL `filter=` on the workflow list (REST and GraphQL): the policy engine's CEL dialect over catalog rows, a 400
// naming the position for an invalid one, keyset paging through filtered rows, and never a row the caller may not see.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileFilter } from '../../server/api/cel-filter.ts';
import { filteredPage } from '../../server/service/filtered-page.ts';
import { startFixture, type Fixture } from './fixture.ts';

let f: Fixture;

beforeAll(async () => {
  f = await startFixture();
});
afterAll(async () => {
  await f?.close();
});

interface Page {
  items: Array<{ name: string; namespace: string }>;
  nextCursor?: string;
}

async function list(query: string, token = 'alice-token') {
  const res = await fetch(`${f.base}/api/v1/workflows?${query}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Page & { error: { message: string; field?: string } } };
}
const names = (query: string, token?: string) =>
  list(query, token).then((r) => (expect(r.status, JSON.stringify(r.body)).toBe(200), r.body.items.map((w) => w.name)));
const filter = (cel: string) => `filter=${encodeURIComponent(cel)}`;

describe('filter= keeps the rows the expression is true for', () => {
  test.each([
    ['phase == "Failed"', ['wf-2']],
    ['labels["team"] == "a" && name != "wf-3"', ['wf-1']],
    // wf-2 and wf-3 have no tier label: reading it fails on those rows, which then do not match.
    ['labels["tier"] == "gold"', ['wf-1']],
    ['"tier" in labels || phase == "Failed"', ['wf-2', 'wf-1']],
    ['name.matches("^wf-[13]$")', ['wf-3', 'wf-1']],
    ['finishedAt >= timestamp("2026-11-02T00:00:00Z") && duration == duration("1h")', ['wf-3', 'wf-2']],
    ['now - finishedAt > duration("1s") && entries >= 2 && sizeBytes > 0 && !incomplete', ['wf-3', 'wf-2', 'wf-1']],
    ['labels.exists(k, k == "tier")', ['wf-1']],
  ])('%s', async (cel, expected) => {
    expect(await names(filter(cel))).toEqual(expected);
  });

  test('combines with the other filters', async () => {
    expect(await names(`${filter('labels["team"] == "a"')}&phase=Succeeded&sort=oldest`)).toEqual(['wf-1', 'wf-3']);
  });

  test('never widens what the caller may see: the tenant filter applies first', async () => {
    expect(await names(filter('ns == "finance" || true'))).toEqual(['wf-3', 'wf-2', 'wf-1']);
    expect(await names(filter('ns == "finance"'))).toEqual([]);
    expect(await names(filter('true'), 'bob-token')).toEqual(['wf-4']);
    expect((await list(`namespace=finance&${filter('true')}`)).status).toBe(403);
    expect(await names(filter('true'), 'carol-token')).toEqual([]);
  });
});

describe('paging through filtered rows', () => {
  test('limit=1 walks the matches once each; the cursor belongs to its filter', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    const succeeded = filter('phase == "Succeeded"');
    do {
      const { body } = await list(`${succeeded}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(body.items.length).toBeLessThanOrEqual(1);
      seen.push(...body.items.map((w) => w.name));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['wf-3', 'wf-1']);
    const first = await list(`${succeeded}&limit=1`);
    const other = await list(`${filter('phase == "Failed"')}&limit=1&cursor=${first.body.nextCursor}`);
    expect(other.status).toBe(400);
    expect(other.body.error.field).toBe('cursor');
    expect((await list(`limit=1&cursor=${first.body.nextCursor}`)).status).toBe(400);
  });

  test('a scan budget spent early gives a short page with a cursor; following it finds every match once', async () => {
    const keep = compileFilter('phase == "Succeeded"', new Date());
    const query = { namespaces: ['agents', 'finance'], sort: 'oldest' as const };
    for (const budget of [1, 2, 3]) {
      const seen: string[] = [];
      let after;
      let pages = 0;
      do {
        const page = await filteredPage(f.catalog, query, after, 2, keep, budget);
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((w) => w.name));
        after = page.last;
        pages++;
      } while (after && pages < 10);
      expect([budget, seen]).toEqual([budget, ['wf-1', 'wf-3', 'wf-4']]);
    }
  });

  test('a page that fills inside a batch ends at its last match (the next page starts right after it)', async () => {
    const keep = compileFilter('phase == "Succeeded"', new Date());
    const query = { namespaces: ['agents', 'finance'], sort: 'oldest' as const };
    const one = await filteredPage(f.catalog, query, undefined, 1, keep);
    expect(one.items.map((w) => w.name)).toEqual(['wf-1']);
    const rest = await filteredPage(f.catalog, query, one.last, 10, keep);
    expect(rest.items.map((w) => w.name)).toEqual(['wf-3', 'wf-4']);
    expect(rest.last).toBeUndefined();
  });
});

describe('an invalid filter is a 400 naming the position', () => {
  test.each([
    ['phase ==', /filter: .*at position \d+/],
    ['nme == "wf-1"', /Unknown variable: nme \(did you mean "name"\?\) at position 1/],
    ['phase', /filter must return bool, not string/],
    ['workflow.spec.x == 1', /Unknown variable: workflow/],
    ['namespace == "a"', /use ns/],
    ['name.matches("(a")', /invalid RE2 pattern/],
    ['labels.all(k, [1, 2].exists(x, x > 1))', /may not nest at position 15/],
    ['phase == "a" && '.repeat(100) + 'true', /maxAstNodes/],
    ['('.repeat(100) + 'true' + ')'.repeat(100), /maxDepth/],
    ['x'.repeat(2049), /2048/],
    ['"\u0000" == phase || phase == "\\', /filter: /],
  ])('%s', async (cel, message) => {
    const { status, body } = await list(filter(cel));
    expect(status).toBe(400);
    expect(body.error.field).toBe('filter');
    expect(body.error.message).toMatch(message);
  });

  test('the OpenAPI document describes filter', async () => {
    const doc = (await (await fetch(`${f.base}/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: Array<{ name: string; description?: string }> } }>;
    };
    const p = doc.paths['/api/v1/workflows']!.get.parameters.find((x) => x.name === 'filter');
    expect(p?.description).toContain('CEL');
  });
});

describe('GraphQL: WorkflowFilter.cel', () => {
  const gql = async (query: string) => {
    const res = await fetch(`${f.base}/graphql`, {
      method: 'POST',
      headers: { authorization: 'Bearer alice-token', 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as {
      data?: { workflows: { nodes: Array<{ name: string }> } };
      errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
    };
  };

  test('same meaning as REST', async () => {
    const r = await gql(
      '{ workflows(filter: {cel: "phase == \\"Failed\\" || ns == \\"finance\\""}) { nodes { name } } }',
    );
    expect(r.data?.workflows.nodes.map((n) => n.name)).toEqual(['wf-2']);
  });

  test('an invalid one is BAD_USER_INPUT naming filter and the position', async () => {
    const r = await gql('{ workflows(filter: {cel: "phase =="}) { nodes { name } } }');
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', status: 400, field: 'filter' });
    expect(r.errors?.[0]?.message).toMatch(/at position/);
  });
});
