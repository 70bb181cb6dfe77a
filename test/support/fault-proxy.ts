// A fault-injecting HTTP proxy on 127.0.0.1 in front of the S3 peer: 5xx, slow and stalled answers, dropped and cut connections.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultRates {
  /** Answer 500/503 with an S3 error body, without forwarding. */
  error5xx: number;
  /** Close the connection without any answer, without forwarding. */
  drop: number;
  /** Of GETs with a large body: forward, then cut the connection halfway through the response body. */
  cut: number;
  /** Forward after a delay of `slowMs`. */
  slow: number;
  /** Read the request, then never answer: the client must time out and retry. */
  stall?: number;
}

export interface FaultProxyOptions {
  target: string;
  rates: FaultRates;
  slowMs?: number;
  /** Deterministic fault pattern. */
  seed?: number;
  /** Stop injecting after this many faults (forward everything afterwards). */
  maxFaults?: number;
  /** The proxy closes itself after this long, whatever happens (it never outlives a test run). */
  lifetimeMs?: number;
}

export interface FaultStats {
  requests: number;
  error5xx: number;
  drop: number;
  cut: number;
  slow: number;
  stall: number;
}

export interface FaultProxy {
  endpoint: string;
  stats: FaultStats;
  stop(): Promise<void>;
}

/** mulberry32: a tiny seeded PRNG so a failing fault pattern can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const random = prng(opts.seed ?? 1);
  const stats: FaultStats = { requests: 0, error5xx: 0, drop: 0, cut: 0, slow: 0, stall: 0 };
  const faults = () => stats.error5xx + stats.drop + stats.cut + stats.slow + stats.stall;
  const maxFaults = opts.maxFaults ?? Infinity;

  // Every kind with a rate happens at least once, early (every 4th request, then the first large GET for a
  // cut), so a test can insist on each without depending on luck; after that faults follow the rates.
  const owed = (['error5xx', 'drop', 'slow', 'stall'] as const).filter((k) => (opts.rates[k] ?? 0) > 0);
  let cutOwed = opts.rates.cut > 0;

  const pick = (req: IncomingMessage): keyof FaultRates | undefined => {
    if (faults() >= maxFaults) return undefined;
    if (stats.requests % 4 === 0 && owed.length) return owed.shift();
    if (cutOwed && req.method === 'GET') return 'cut';
    const r = random();
    const { error5xx, drop, cut, slow, stall = 0 } = opts.rates;
    if (r < error5xx) return 'error5xx';
    if (r < error5xx + drop) return 'drop';
    if (r < error5xx + drop + slow) return 'slow';
    if (r < error5xx + drop + slow + stall) return 'stall';
    if (req.method === 'GET' && random() < cut) return 'cut'; // counted only if the body turns out large
    return undefined;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, cutHalfway: boolean) => {
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        const length = Number(up.headers['content-length'] ?? 0);
        if (cutHalfway && length > 4096) {
          stats.cut++;
          cutOwed = false;
          res.writeHead(up.statusCode ?? 502, up.headers);
          let sent = 0;
          up.on('data', (chunk: Buffer) => {
            if (sent >= length / 2) return;
            res.write(chunk.subarray(0, Math.max(0, Math.ceil(length / 2) - sent)));
            sent += chunk.length;
            if (sent >= length / 2) {
              up.destroy();
              res.socket?.destroy();
            }
          });
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    stats.requests++;
    const fault = pick(req);
    if (fault === 'error5xx' || fault === 'drop') {
      stats[fault]++;
      req.resume();
      req.on('end', () => {
        if (fault === 'drop') {
          req.socket.destroy();
          return;
        }
        const status = random() < 0.5 ? 500 : 503;
        const code = status === 500 ? 'InternalError' : 'SlowDown';
        res.writeHead(status, { 'content-type': 'application/xml', connection: 'close' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`);
      });
      return;
    }
    if (fault === 'stall') {
      stats.stall++;
      req.resume(); // swallow the body; the answer never comes (stop() closes the socket if the client does not)
      return;
    }
    if (fault === 'slow') {
      stats.slow++;
      req.pause();
      setTimeout(() => forward(req, res, false), opts.slowMs ?? 300);
      return;
    }
    forward(req, res, fault === 'cut');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  server.unref();
  const lifetime = setTimeout(() => void stop(), opts.lifetimeMs ?? 120_000);
  lifetime.unref();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= new Promise<void>((ok) => {
      clearTimeout(lifetime);
      server.close(() => ok());
      server.closeAllConnections();
    }));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats, stop };
}
