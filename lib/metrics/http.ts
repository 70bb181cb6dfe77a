// Serves `GET /metrics` (Prometheus text format) on an address of the caller's choosing, e.g. `:9090` in a pod.
import { createServer, type Server } from 'node:http';
import { ConfigError } from '../errors.ts';

export interface MetricsEndpoint {
  /** The port it listens on (the one asked for, or the kernel's pick for port 0). */
  port: number;
  close(): Promise<void>;
}

/** `host:port` or `:port` (every interface); the host may be a bracketed IPv6 address. */
export function parseListenAddress(address: string): { host?: string; port: number } {
  const m = address.match(/^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new ConfigError(`--metrics-address ${JSON.stringify(address)} is not host:port or :port`);
  const host = m[1] ?? m[2];
  return { host: host ? host : undefined, port };
}

export async function serveMetrics(address: string, render: () => string): Promise<MetricsEndpoint> {
  const { host, port } = parseListenAddress(address);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics is served here\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    let body: string;
    try {
      body = render();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound ? bound.port : port,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
