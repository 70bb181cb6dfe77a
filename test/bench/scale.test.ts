// The scale benchmark's generator and its target judgement (the measurements themselves are `npm run bench`).
import { describe, expect, it } from 'vitest';
import { scaleTargets, type BackendScaleResult } from '../../hack/bench/scale-bench.ts';
import { DAY_MS, ScaleCorpus } from '../../hack/bench/scale-corpus.ts';

const shape = {
  seed: 3,
  rows: 2000,
  logBytes: 2_000_000,
  logBytesPerWorkflow: 100_000,
  days: 30,
  end: new Date('2026-11-01T00:00:00Z'),
};

async function text(stream: AsyncIterable<unknown>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of stream) parts.push(b as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

describe('the scale corpus', () => {
  it('builds the same rows and log bytes from the same seed, and other ones from another seed', async () => {
    const a = new ScaleCorpus(shape);
    const b = new ScaleCorpus(shape);
    expect(b.manifest(1234)).toEqual(a.manifest(1234));
    const log = a.manifest(0).entries.find((e) => e.kind === 'log')!;
    expect(await text(b.openLog(0, log.path))).toBe(await text(a.openLog(0, log.path)));
    expect(new ScaleCorpus({ ...shape, seed: 4 }).manifest(1234)).not.toEqual(a.manifest(1234));
  });

  it('spreads rows over the time range and gives logs to the asked share of them, of exactly their size', async () => {
    const c = new ScaleCorpus(shape);
    const start = shape.end.getTime() - shape.days * DAY_MS;
    let logged = 0;
    for (let i = 0; i < shape.rows; i++) {
      const r = c.row(i);
      expect(r.finishedMs).toBeGreaterThanOrEqual(start);
      expect(r.finishedMs).toBeLessThan(shape.end.getTime());
      if (r.logged) logged++;
    }
    expect(logged).toBe(shape.logBytes / shape.logBytesPerWorkflow);
    const m = c.manifest(0);
    for (const e of m.entries.filter((x) => x.kind === 'log')) {
      const body = await text(c.openLog(0, e.path));
      expect(Buffer.byteLength(body)).toBe(e.size);
      expect(body.endsWith('\n')).toBe(true);
    }
    // Distinct manifest ids, labels of the documented kinds.
    expect(new Set(Array.from({ length: 500 }, (_, i) => c.row(i).id)).size).toBe(500);
    expect(Object.keys(m.summary!.labels!)).toEqual(expect.arrayContaining(['team', 'strata.dev/tier']));
  });
});

describe('scale targets', () => {
  const backend = (over: Partial<BackendScaleResult>): BackendScaleResult => ({
    backend: 'sqlite',
    rows: 1,
    loadSeconds: { metadata: 1, logs: 1 },
    upsertRowsPerSecond: 1,
    batchedRowsPerSecond: 1,
    batch: 100,
    rowsPerSecond: 1,
    logBytes: 1,
    indexMBps: 60,
    loadAverage: 1,
    indexBytes: 1,
    textIndexBytes: 1,
    indexRatio: 0.05,
    queries: {},
    ...over,
  });

  it('judges metadata queries against 50 ms, full text against 300 ms, and indexing and size on SQLite', () => {
    const checks = scaleTargets([
      backend({
        queries: {
          'label containment': { p50: 10, p95: 60, results: 50 },
          'full text + time range (30 days)': { p50: 100, p95: 250, results: 20 },
        },
      }),
      backend({ backend: 'postgresql', indexMBps: 1, queries: {} }),
      backend({ backend: 'elasticsearch', error: 'did not start' }),
    ]);
    expect(checks).toEqual([
      { target: 'sqlite: label containment p95 <= 50 ms', value: 60, met: false },
      { target: 'sqlite: full text + time range (30 days) p95 <= 300 ms', value: 250, met: true },
      { target: 'sqlite: indexing >= 50 MB/s of log text', value: 60, met: true },
      { target: 'sqlite: full-text index <= 0.10x the raw log text', value: 0.05, met: true },
    ]);
  });
});
