// /metrics (Prometheus text, bounded route labels) and per-caller rate limits (clock stepped, never slept).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
let now = 0;
beforeAll(async () => {
  f = await startFixture({ rateLimit: { perSecond: 1, burst: 3 }, clock: () => now });
});
afterAll(() => f.close());

const get = (path: string, token = 'alice-token') =>
  fetch(`${f.base}${path}`, { headers: { authorization: `Bearer ${token}` } });

describe('rate limits per caller', () => {
  test('a burst past the limit is a 429 with Retry-After; another caller is unaffected; tokens come back', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get('/api/v1/workflows')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await get('/api/v1/workflows');
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(((await limited.json()) as { error: { message: string } }).error.message).toContain('alice');
    expect((await get('/api/v1/workflows', 'bob-token')).status).toBe(200);
    now += 1; // one second later: one more request
    expect((await get('/api/v1/workflows')).status).toBe(200);
    expect((await get('/api/v1/workflows')).status).toBe(429);
    now += 100;
  });
});

describe('/metrics', () => {
  test('counts requests by route name and status, with latency histograms, and gauges restores', async () => {
    await get(`/api/v1/workflows/${'a'.repeat(64)}`);
    await get('/no/such/path/with/a/unique/name');
    const res = await fetch(`${f.base}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/strata_server_requests_total\{route="listWorkflows",method="GET",code="200"\} \d+/);
    expect(text).toMatch(/strata_server_requests_total\{route="listWorkflows",method="GET",code="429"\} \d+/);
    expect(text).toContain('strata_server_requests_total{route="getWorkflow",method="GET",code="404"} 1');
    expect(text).toContain('strata_server_requests_total{route="unmatched",method="GET",code="404"} 1');
    expect(text).not.toContain('unique'); // paths never become labels
    expect(text).toMatch(/strata_server_request_duration_seconds_bucket\{route="listWorkflows",le="\+Inf"\} \d+/);
    expect(text).toMatch(/strata_server_rate_limited_total [1-9]/);
    expect(text).toContain('strata_server_restores_active 0');
    // Every sample line is name{labels} value.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/);
  });
});
