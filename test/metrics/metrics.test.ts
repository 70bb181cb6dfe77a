// The Prometheus exposition and the /metrics endpoint `strata watch --metrics-address` serves.
import { afterEach, describe, expect, test } from 'vitest';
import { parseListenAddress, serveMetrics, type MetricsEndpoint } from '../../lib/metrics/http.ts';
import { renderMetrics, type Metric } from '../../lib/metrics/prometheus.ts';

const gauge = (name: string, value: number | undefined, help = 'h'): Metric => ({
  name,
  help,
  type: 'gauge',
  value: () => value,
});

describe('the text format', () => {
  test('HELP and TYPE for each metric, the sample after them; a metric without a value has no sample', () => {
    const text = renderMetrics([
      gauge('strata_a', 3, 'line one\nline two with \\'),
      { ...gauge('strata_b_total', 7), type: 'counter' },
      gauge('strata_c', undefined),
      gauge('strata_d', Infinity),
    ]);
    expect(text).toBe(
      [
        '# HELP strata_a line one\\nline two with \\\\',
        '# TYPE strata_a gauge',
        'strata_a 3',
        '# HELP strata_b_total h',
        '# TYPE strata_b_total counter',
        'strata_b_total 7',
        '# HELP strata_c h',
        '# TYPE strata_c gauge',
        '# HELP strata_d h',
        '# TYPE strata_d gauge',
        'strata_d +Inf',
        '',
      ].join('\n'),
    );
  });

  test('a name Prometheus would reject is an error naming it', () => {
    expect(() => renderMetrics([gauge('strata-watch', 1)])).toThrow(/"strata-watch" is not a Prometheus name/);
  });
});

describe('the endpoint', () => {
  let endpoint: MetricsEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
  });

  test('GET /metrics answers the current exposition; other paths are 404, other methods 405', async () => {
    let n = 0;
    endpoint = await serveMetrics('127.0.0.1:0', () => renderMetrics([gauge('strata_n', ++n)]));
    const base = `http://127.0.0.1:${endpoint.port}`;
    const first = await fetch(`${base}/metrics`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await first.text()).toMatch(/^strata_n 1$/m);
    expect(await (await fetch(`${base}/metrics?x=1`)).text()).toMatch(/^strata_n 2$/m);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  test('a render that throws is a 500 with its message, and the endpoint keeps serving', async () => {
    let fail = true;
    endpoint = await serveMetrics('127.0.0.1:0', () => {
      if (fail) throw new Error('loop state unreadable');
      return 'ok\n';
    });
    const res = await fetch(`http://127.0.0.1:${endpoint.port}/metrics`);
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/loop state unreadable/);
    fail = false;
    expect(await (await fetch(`http://127.0.0.1:${endpoint.port}/metrics`)).text()).toBe('ok\n');
  });

  test('addresses: host:port, :port, [ipv6]:port; anything else names the flag', () => {
    expect(parseListenAddress('127.0.0.1:9090')).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseListenAddress(':9090')).toEqual({ host: undefined, port: 9090 });
    expect(parseListenAddress('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
    for (const bad of ['9090', 'host', 'h:99999', 'h:p', '::1:9090'])
      expect(() => parseListenAddress(bad), bad).toThrow(/--metrics-address/);
  });
});
