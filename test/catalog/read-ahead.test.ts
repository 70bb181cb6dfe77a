// readAhead: the source is read before the consumer asks, in order, errors in place, and an early stop releases it.
import { describe, expect, test } from 'vitest';
import { readAhead } from '../../lib/catalog/read-ahead.ts';

/** A source that records each pull (as `pulled n`) and whether it was closed. */
function recorded(n: number, failAt?: number) {
  const log: string[] = [];
  const source = (async function* () {
    try {
      for (let i = 0; i < n; i++) {
        log.push(`pulled ${i}`);
        await Promise.resolve();
        if (i === failAt) throw new Error(`read ${i} failed`);
        yield i;
      }
    } finally {
      log.push('closed');
    }
  })();
  return { log, source };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('readAhead', () => {
  test('pulls up to `ahead` items before the consumer asks for any, then one more per item taken', async () => {
    const { log, source } = recorded(10);
    const it = readAhead(source, 3);
    await settle();
    expect(log).toEqual(['pulled 0', 'pulled 1', 'pulled 2']);
    expect(await it.next()).toEqual({ done: false, value: 0 });
    await settle();
    expect(log.at(-1)).toBe('pulled 3');
    expect(log).toHaveLength(4);
  });

  test('hands out every item in order, then the end', async () => {
    const { log, source } = recorded(5);
    const got: number[] = [];
    for await (const i of readAhead(source, 2)) got.push(i);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(log.at(-1)).toBe('closed');
  });

  test("a source's error comes out where it happened, after the items before it", async () => {
    const { source } = recorded(5, 2);
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const i of readAhead(source, 4)) got.push(i);
      })(),
    ).rejects.toThrow('read 2 failed');
    expect(got).toEqual([0, 1]);
  });

  test('a consumer that stops early closes the source and is told of the items pulled for it', async () => {
    const { log, source } = recorded(10);
    const unused: number[] = [];
    for await (const i of readAhead(source, 3, (item) => void unused.push(item))) if (i === 1) break;
    expect(log.at(-1)).toBe('closed');
    expect(unused).toEqual([2, 3, 4]);
    expect(log).not.toContain('pulled 5');
  });
});
