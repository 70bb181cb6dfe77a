// The S3 adapter through a proxy that fails ~10 % of requests: every byte must still come back right.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';

const { peer, skip } = s3PeerOrSkip();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

if (!peer) {
  describe.skip(`S3 store under injected faults (skipped: ${skip})`, () => {});
} else {
  describe(`S3Store under ~10 % injected faults (${peer.server})`, () => {
    let proxy: FaultProxy;
    let bucket: string;
    beforeAll(async () => {
      bucket = await createBucket(peer);
      proxy = await startFaultProxy({
        target: peer.endpoint,
        rates: { error5xx: 0.04, drop: 0.025, slow: 0.015, stall: 0.01, cut: 0.05 },
        slowMs: 250,
        seed: 20261125,
        maxFaults: 200,
      });
    });
    afterAll(() => proxy?.stop());

    it('round-trips small and multipart objects with all bytes verified', async () => {
      const s = storeOn({ ...peer, endpoint: proxy.endpoint }, bucket, {
        maxAttempts: 8,
        partSize: 5 * 1024 * 1024,
        requestTimeoutMs: 2_000, // a stalled answer costs 2 s, then the SDK retries
      });
      const bodies = new Map<string, Buffer>();
      for (let i = 0; i < 60; i++) bodies.set(`small/${String(i).padStart(3, '0')}`, randomBytes(1024 + i * 997));
      bodies.set('big/a', randomBytes(11 * 1024 * 1024 + 7));
      bodies.set('big/b', randomBytes(6 * 1024 * 1024 + 3));

      const entries = [...bodies];
      for (let i = 0; i < entries.length; i += 8) {
        await Promise.all(
          entries.slice(i, i + 8).map(([key, body]) =>
            s.put(key, key.startsWith('big/') ? Readable.from([body.subarray(0, 3e6), body.subarray(3e6)]) : body, {
              sha256: sha(body),
            }),
          ),
        );
      }
      for (const [key, body] of entries) {
        expect(sha(await buffer(await s.get(key))), key).toBe(sha(body));
      }
      const big = bodies.get('big/a')!;
      const slice = await buffer(await s.get('big/a', { start: 5_000_000, end: 9_999_999 }));
      expect(sha(slice)).toBe(sha(big.subarray(5_000_000, 10_000_000)));

      const listed = [];
      for await (const o of s.list('')) listed.push(`${o.key}:${o.size}`);
      expect(listed).toEqual(entries.map(([k, b]) => `${k}:${b.length}`).sort());
      await s.delete([...bodies.keys()]);
      for await (const o of s.list('')) expect.unreachable(`left behind: ${o.key}`);

      // The faults really happened, in every kind, at roughly the intended rate.
      const { requests, error5xx, drop, cut, slow, stall } = proxy.stats;
      const injected = error5xx + drop + cut + slow + stall;
      console.log(`fault proxy: ${injected} faults in ${requests} requests`, proxy.stats);
      expect(error5xx).toBeGreaterThan(0);
      expect(drop).toBeGreaterThan(0);
      expect(cut).toBeGreaterThan(0);
      expect(slow).toBeGreaterThan(0);
      expect(stall).toBeGreaterThan(0);
      expect(injected / requests).toBeGreaterThan(0.05);
    });
  });
}
