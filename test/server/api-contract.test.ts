// What the OpenAPI document promises matches what the server does (findings of the schemathesis run, fuzz.test.ts):
// a request the document allows is not refused for a rule it does not state, and every status the server can answer
// is documented, in the API's JSON error shape.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { entryPathSchema } from '../../server/api/schemas.ts';
import { startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
let doc: {
  paths: Record<string, Record<string, { parameters: Array<{ name: string; schema: Record<string, unknown> }> }>>;
};
const param = (path: string, name: string, method = 'get') =>
  doc.paths[path]![method]!.parameters.find((p) => p.name === name)!.schema;

beforeAll(async () => {
  f = await startFixture({}, undefined, { restores: {} });
  doc = (await (await fetch(`${f.base}/openapi.json`)).json()) as typeof doc;
});
afterAll(async () => {
  await f?.close();
});

describe('the document states the rules the server applies', () => {
  test('page sizes are integers with their bounds (limit=0 was allowed by the document, refused by the server)', () => {
    expect(param('/api/v1/workflows', 'limit')).toMatchObject({ type: 'integer', minimum: 1, maximum: 500 });
    expect(param('/api/v1/search', 'limit')).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
  });

  test('an entry path is a pattern (a refinement was invisible: "a\\\\b" was allowed, then refused)', () => {
    const schema = param('/api/v1/workflows/{manifestId}/artifacts/{path}', 'path');
    const pattern = new RegExp(schema.pattern as string, 'u');
    for (const ok of ['artifacts/n/out.tgz', 'a/.hidden', 'a/..b', '...', 'x y/\u00e9\n'])
      expect([ok, pattern.test(ok), entryPathSchema.safeParse(ok).success]).toEqual([ok, true, true]);
    for (const bad of ['', '/a', 'a/', 'a//b', 'a/./b', '.', '..', 'a/..', '../a', 'a\\b', 'a\0b'])
      expect([bad, pattern.test(bad) && bad.length > 0, entryPathSchema.safeParse(bad).success]).toEqual([
        bad,
        false,
        false,
      ]);
  });

  test('search highlights are plain arrays of two integers (a tuple made schemathesis reject the document)', () => {
    expect(JSON.stringify(doc)).not.toContain('prefixItems');
  });

  test('every route documents 414 and 431; authenticated ones 429; audited reads and restores 503', () => {
    for (const [path, methods] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(methods)) {
        const codes = Object.keys((op as unknown as { responses: object }).responses);
        expect([path, method, codes]).toEqual([path, method, expect.arrayContaining(['414', '431'])]);
        if (path.startsWith('/api/')) expect([path, codes]).toEqual([path, expect.arrayContaining(['429'])]);
        if (path.startsWith('/api/v1/restores') || path.endsWith('/log') || path === '/api/v1/search')
          expect([path, codes]).toEqual([path, expect.arrayContaining(['503'])]);
      }
  });
});

/** A GET with the request target exactly as given (fetch would normalize it first). */
function rawGet(target: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const { port } = new URL(f.base);
    const req = request(
      { host: '127.0.0.1', port, path: target, headers: { authorization: 'Bearer alice-token' } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => done({ status: res.statusCode!, body }));
      },
    );
    req.on('error', fail);
    req.end();
  });
}

describe('a request is answered for the path it names, never a normalized one', () => {
  test('"//host/api/…" is not the API (it was read as host "host" and path "/api/…")', async () => {
    const r = await rawGet('//x/api/v1/workflows');
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).error.message).toBe('no route //x/api/v1/workflows');
  });

  test('dot segments do not climb to another resource (a/../b was served as b)', async () => {
    const other = f.ids['wf-3']!;
    for (const target of [
      `/api/v1/workflows/${f.ids['wf-1']}/artifacts/../../${other}`,
      `/api/v1/workflows/${f.ids['wf-1']}/artifacts/%2e%2e/%2E%2E/${other}`,
      `/api/v1/workflows/x/../${other}`,
    ]) {
      const r = await rawGet(target);
      expect([target, r.status === 400 || r.status === 404]).toEqual([target, true]);
    }
    expect((await rawGet(`/api/v1/workflows/${other}`)).status).toBe(200);
  });

  test('absolute-form targets keep their path; other forms are a 400', async () => {
    expect((await rawGet(`http://strata.example/api/v1/workflows?limit=1`)).status).toBe(200);
    const star = await rawGet('*');
    expect(star.status).toBe(400);
    expect(JSON.parse(star.body).error.message).toMatch(/must be a path/);
  });
});

describe('limits below the router answer in the API error shape', () => {
  test('headers over the server limit: 431 with a JSON body naming the limit (was an empty body)', async () => {
    const answer = await new Promise<{ status: number; type: string; body: string }>((done, fail) => {
      const req = request(`${f.base}/api/v1/workflows`, { headers: { 'x-big': 'a'.repeat(20_000) } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => done({ status: res.statusCode!, type: res.headers['content-type'] ?? '', body }));
      });
      req.on('error', fail);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(answer.type).toContain('application/json');
    expect(JSON.parse(answer.body)).toEqual({
      error: { status: 431, message: expect.stringMatching(/request line and headers are over \d+ bytes/) },
    });
  });

  test('limit=0 and limit over the maximum are 400 naming limit, in REST and GraphQL', async () => {
    for (const q of ['limit=0', 'limit=501', 'limit=1.5', 'limit=abc']) {
      const res = await fetch(`${f.base}/api/v1/workflows?${q}`, { headers: { authorization: 'Bearer alice-token' } });
      expect([q, res.status]).toEqual([q, 400]);
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe('limit');
    }
    const ok = await fetch(`${f.base}/api/v1/workflows?limit=500`, {
      headers: { authorization: 'Bearer alice-token' },
    });
    expect(ok.status).toBe(200);
  });
});
