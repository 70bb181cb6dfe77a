// Measures chunker parameters on log-like data (run by hand: npx tsx test/archive/measure-chunker.ts); numbers go in docs/format.md.
import { createHash } from 'node:crypto';
import { compress } from 'zstd-napi';
import { Chunker, DEFAULT_CHUNKER } from '../../lib/archive/chunker.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
}

const installBlock = Array.from(
  { length: 400 },
  (_, i) => `npm http fetch GET 200 https://registry.npmjs.org/pkg-${i} ${i % 90}ms (cache hit)`,
).join('\n');
const stack = Array.from({ length: 30 }, (_, i) => `    at Object.fn${i} (/app/src/module${i}.ts:${i * 7}:${i})`).join(
  '\n',
);

/** One agent run's log: timestamped lines, an install block, test output, sometimes a stack trace. */
function agentLog(r: () => number, size: number): string {
  const lines: string[] = [];
  let t = Date.UTC(2026, 10, 1) + Math.floor(r() * 1e9);
  let n = 0;
  lines.push(installBlock);
  while (n < size) {
    t += Math.floor(r() * 900);
    const roll = r();
    let line: string;
    if (roll < 0.01) line = `Error: assertion failed in case ${Math.floor(r() * 1000)}\n${stack}`;
    else if (roll < 0.5)
      line = `${new Date(t).toISOString()} INFO  step=${Math.floor(r() * 20)} tokens=${Math.floor(r() * 99999)} tool=edit_file path=src/feature${Math.floor(r() * 50)}.ts ok`;
    else if (roll < 0.8)
      line = `${new Date(t).toISOString()} DEBUG request id=${Math.floor(r() * 1e9).toString(16)} latency_ms=${Math.floor(r() * 2000)}`;
    else
      line = `${new Date(t).toISOString()} TEST  ✓ suite ${Math.floor(r() * 200)} › case ${Math.floor(r() * 40)} (${Math.floor(r() * 300)} ms)`;
    lines.push(line);
    n += line.length + 1;
  }
  return lines.join('\n') + '\n';
}

const r = rng(42);
const logs: Buffer[] = [];
for (let w = 0; w < 40; w++) {
  const log = Buffer.from(agentLog(r, 1_500_000 + Math.floor(r() * 2_000_000)));
  logs.push(log);
  if (r() < 0.4) logs.push(Buffer.concat([log, Buffer.from(agentLog(r, 200_000))])); // a retry repeating the earlier log
}
const total = logs.reduce((a, b) => a + b.length, 0);

for (const avg of [64 * 1024, 256 * 1024, 1024 * 1024]) {
  const params = { ...DEFAULT_CHUNKER, minSize: avg / 4, avgSize: avg, maxSize: avg * 4 };
  const seen = new Set<string>();
  const unique: Buffer[] = [];
  let chunks = 0;
  const t0 = performance.now();
  for (const log of logs) {
    const c = new Chunker(params);
    const parts = [];
    for (let o = 0; o < log.length; o += 65536) parts.push(...c.push(log.subarray(o, o + 65536)));
    const last = c.finish();
    if (last) parts.push(last);
    for (const p of parts) {
      chunks++;
      const id = createHash('sha256').update(p).digest('hex');
      if (!seen.has(id)) {
        seen.add(id);
        unique.push(p);
      }
    }
  }
  const ms = performance.now() - t0;
  const uniqueBytes = unique.reduce((a, b) => a + b.length, 0);
  let stored = 0;
  let frame: Buffer[] = [];
  let frameLen = 0;
  const flush = () => {
    if (frameLen) stored += compress(Buffer.concat(frame), { compressionLevel: 3 }).length;
    frame = [];
    frameLen = 0;
  };
  for (const u of unique) {
    frame.push(u);
    frameLen += u.length;
    if (frameLen >= 1024 * 1024) flush();
  }
  flush();
  console.log(
    `avg ${avg / 1024} KiB: chunks ${chunks}, unique ${seen.size}, unique/original ${(uniqueBytes / total).toFixed(3)}, ` +
      `stored/original ${(stored / total).toFixed(4)}, chunk+hash ${(total / 1e6 / (ms / 1000)).toFixed(0)} MB/s`,
  );
}
console.log(`corpus: ${logs.length} logs, ${(total / 1e6).toFixed(1)} MB`);

// Frame size and zstd level, over the unique chunks at 256 KiB.
{
  const params = { ...DEFAULT_CHUNKER };
  const seen = new Set<string>();
  const unique: Buffer[] = [];
  for (const log of logs) {
    const c = new Chunker(params);
    const parts = c.push(log);
    const last = c.finish();
    if (last) parts.push(last);
    for (const p of parts) {
      const id = createHash('sha256').update(p).digest('hex');
      if (!seen.has(id)) {
        seen.add(id);
        unique.push(p);
      }
    }
  }
  for (const frameSize of [256 * 1024, 1024 * 1024, 4 * 1024 * 1024]) {
    for (const level of [3, 6, 9, 19]) {
      let stored = 0;
      let frame: Buffer[] = [];
      let frameLen = 0;
      const t0 = performance.now();
      const flush = () => {
        if (frameLen) stored += compress(Buffer.concat(frame), { compressionLevel: level }).length;
        frame = [];
        frameLen = 0;
      };
      for (const u of unique) {
        frame.push(u);
        frameLen += u.length;
        if (frameLen >= frameSize) flush();
      }
      flush();
      const ms = performance.now() - t0;
      const raw = unique.reduce((a, b) => a + b.length, 0);
      console.log(
        `frame ${frameSize / 1024} KiB, level ${level}: stored/original ${(stored / total).toFixed(4)}, compress ${(raw / 1e6 / (ms / 1000)).toFixed(0)} MB/s`,
      );
    }
  }
}
