// Search admission: a few searches run, a few wait, the rest are refused at once with Retry-After (503 for the
// server, 429 for one caller's share), a wait has a deadline, and an expensive query is refused before it runs.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { parseTextQuery } from '../../lib/catalog/text-query.ts';
import { RetryLater, SearchQueue, searchCost } from '../../server/service/search-queue.ts';
import { startFixture, type Fixture } from './fixture.ts';

/** A piece of work that finishes when told to. */
function gate<T>(value: T) {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { work: async () => (await opened, value), open };
}

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal');
};

describe('SearchQueue', () => {
  afterEach(() => void vi.useRealTimers());

  test('runs `concurrency` at once, queues `maxQueued`, refuses the next with 503 and a Retry-After', async () => {
    const q = new SearchQueue({ concurrency: 1, maxQueued: 1, perCaller: 10 });
    const a = gate('a');
    const b = gate('b');
    let bStarted = false;
    const ra = q.run('x', a.work);
    const rb = q.run('y', async () => ((bStarted = true), b.work()));
    expect(q.active()).toBe(1);
    expect(q.depth()).toBe(1);
    const err = await refusal(q.run('z', async () => 'c'));
    expect(err).toBeInstanceOf(RetryLater);
    expect((err as RetryLater).status).toBe(503);
    expect((err as RetryLater).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(q.rejected['queue-full']).toBe(1);
    expect(bStarted).toBe(false);
    a.open();
    expect(await ra).toBe('a');
    await vi.waitFor(() => expect(bStarted).toBe(true));
    b.open();
    expect(await rb).toBe('b');
    expect(q.active()).toBe(0);
    expect(q.depth()).toBe(0);
  });

  test('every request in hand is admitted, queued or refused before a search that holds the thread starts', async () => {
    const q = new SearchQueue({ concurrency: 1, maxQueued: 1, perCaller: 10 });
    const started: string[] = [];
    const work = (name: string) => async () => void started.push(name);
    const runs = [q.run('a', work('a')), q.run('b', work('b'))];
    const refused = q.run('c', work('c')).catch((err: unknown) => err);
    expect(started).toEqual([]); // nothing ran in the turn that read the requests
    expect(await refused).toBeInstanceOf(RetryLater);
    await Promise.all(runs);
    expect(started).toEqual(['a', 'b']);
  });

  test('one caller holds at most perCaller places (429); others still get theirs', async () => {
    const q = new SearchQueue({ concurrency: 1, maxQueued: 8, perCaller: 2 });
    const a = gate(1);
    const runs = [q.run('greedy', a.work), q.run('greedy', a.work)];
    const err = await refusal(q.run('greedy', a.work));
    expect((err as RetryLater).status).toBe(429);
    expect(q.rejected['per-caller']).toBe(1);
    const other = q.run('polite', a.work);
    a.open();
    expect(await Promise.all([...runs, other])).toEqual([1, 1, 1]);
  });

  test('a search that waits past maxWaitMs is refused with 503 and gives its place back', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const q = new SearchQueue({ concurrency: 1, maxQueued: 4, maxWaitMs: 1000, perCaller: 1 });
    const a = gate('a');
    const ra = q.run('x', a.work);
    const waiting = refusal(q.run('y', async () => 'never'));
    await vi.advanceTimersByTimeAsync(1001);
    const err = await waiting;
    expect((err as RetryLater).status).toBe(503);
    expect(q.rejected['wait-timeout']).toBe(1);
    expect(q.depth()).toBe(0);
    a.open();
    await ra;
    expect(await q.run('y', async () => 'again')).toBe('again'); // y's place was given back
  });

  test('a waiting search whose client goes away leaves the queue and gives its place back', async () => {
    const q = new SearchQueue({ concurrency: 1, maxQueued: 1, perCaller: 1 });
    const a = gate('a');
    const ra = q.run('x', a.work);
    const gone = new AbortController();
    let ran = false;
    const waiting = refusal(q.run('y', async () => void (ran = true), { signal: gone.signal }));
    expect(q.depth()).toBe(1);
    gone.abort(new Error('client went away'));
    expect(((await waiting) as Error).message).toBe('client went away');
    expect(q.depth()).toBe(0);
    a.open();
    await ra;
    expect(ran).toBe(false);
    expect(await q.run('y', async () => 'again')).toBe('again'); // y's place was given back
  });

  test('a client that goes away just as its turn comes gives the turn back', async () => {
    const q = new SearchQueue({ concurrency: 1, maxQueued: 2, perCaller: 10 });
    const a = gate('a');
    let aStarted = false;
    const ra = q.run('x', async () => ((aStarted = true), a.work()));
    const gone = new AbortController();
    let told: AbortSignal | undefined;
    const rb = refusal(q.run('y', async (signal) => ((told = signal), 'b'), { signal: gone.signal }));
    const rc = q.run('z', async () => 'c');
    await vi.waitFor(() => expect(aStarted).toBe(true));
    a.open();
    // Microtasks only: the turn is handed to y, whose search has not started yet, when its client leaves.
    for (let i = 0; i < 1000 && q.depth() === 2; i++) await Promise.resolve();
    expect(q.depth()).toBe(1);
    gone.abort(new Error('client went away'));
    expect(await ra).toBe('a');
    expect(((await rb) as Error).message).toBe('client went away');
    expect(told).toBeUndefined(); // its search never began
    expect(await rc).toBe('c'); // z still had its place in the queue, and got its turn
    await vi.waitFor(() => expect(q.active()).toBe(0));
  });

  test('a search past maxRunMs is told to stop and answered 503 at once; its turn is held until it ends', async () => {
    const q = new SearchQueue({ concurrency: 1, maxQueued: 1, perCaller: 10, maxRunMs: 50 });
    const a = gate('late');
    let told: AbortSignal | undefined;
    const err = await refusal(q.run('x', (signal) => ((told = signal), a.work())));
    expect((err as RetryLater).status).toBe(503);
    expect((err as RetryLater).message).toMatch(/ran for 50 ms and was stopped/);
    expect(told?.aborted).toBe(true);
    expect(q.rejected['run-timeout']).toBe(1);
    // A backend that ignores the signal is still busy: the next search waits for it.
    expect(q.active()).toBe(1);
    const next = q.run('y', async () => 'next');
    expect(q.depth()).toBe(1);
    a.open();
    expect(await next).toBe('next');
  });

  test('a running search whose client goes away is told to stop, with the client reason', async () => {
    const q = new SearchQueue({ concurrency: 1, maxQueued: 1 });
    const gone = new AbortController();
    let told: AbortSignal | undefined;
    const running = refusal(q.run('x', (signal) => ((told = signal), new Promise(() => {})), { signal: gone.signal }));
    await vi.waitFor(() => expect(told).toBeDefined());
    gone.abort(new Error('client went away'));
    expect(((await running) as Error).message).toBe('client went away');
    expect(told?.aborted).toBe(true);
  });

  test('a failing search frees its turn for the next', async () => {
    const q = new SearchQueue({ concurrency: 1, maxQueued: 1 });
    const failing = q.run('x', async () => {
      throw new Error('boom');
    });
    const next = q.run('y', async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe('ok');
  });

  test('cost: one per word, short prefixes count as the many tokens they stand for', () => {
    expect(searchCost(parseTextQuery('kraken'))).toBe(1);
    expect(searchCost(parseTextQuery('"connection refused" OR timeout'))).toBe(3);
    expect(searchCost(parseTextQuery('registr*'))).toBe(2);
    expect(searchCost(parseTextQuery('a*'))).toBe(33);
    const q = new SearchQueue({ maxCost: 40 });
    expect(() => q.checkCost(parseTextQuery('a* b*'), 'a* b*')).toThrow(/costs 66, over the limit of 40/);
    expect(q.rejected.cost).toBe(1);
  });
});

describe('searches over HTTP under load', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  test('past the queue: 503 with Retry-After at once; the queue depth and rejections are metrics', async () => {
    f = await startFixture({ search: { concurrency: 1, maxQueued: 1, perCaller: 10, maxWaitMs: 600_000 } });
    const slow = gate(undefined);
    const real = f.catalog.searchText.bind(f.catalog);
    f.catalog.searchText = async (...args) => (await slow.work(), real(...args));
    const search = () =>
      fetch(`${f!.base}/api/v1/search?q=segfault`, { headers: { authorization: 'Bearer alice-token' } });
    const first = search();
    const second = search();
    await vi.waitFor(async () => {
      const m = await (await fetch(`${f!.base}/metrics`)).text();
      expect(m).toContain('strata_server_search_queue_depth 1');
    });
    const third = await search();
    expect(third.status).toBe(503);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await third.json()) as { error: { message: string } }).error.message).toMatch(/busy with searches/);
    slow.open();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    const metrics = await (await fetch(`${f.base}/metrics`)).text();
    expect(metrics).toContain('strata_server_search_rejected_total{reason="queue-full"} 1');
    expect(metrics).toContain('strata_server_search_queue_depth 0');
  });

  test('a search refused or queued by admission reads nothing from the catalog', async () => {
    f = await startFixture({ search: { concurrency: 1, maxQueued: 1, perCaller: 10, maxWaitMs: 600_000 } });
    const slow = gate(undefined);
    const realSearch = f.catalog.searchText.bind(f.catalog);
    f.catalog.searchText = async (...args) => (await slow.work(), realSearch(...args));
    let reads = 0;
    const realNamespaces = f.catalog.namespaces.bind(f.catalog);
    f.catalog.namespaces = async () => (reads++, realNamespaces());
    const search = () =>
      fetch(`${f!.base}/api/v1/search?q=segfault`, { headers: { authorization: 'Bearer alice-token' } });
    const first = search();
    await vi.waitFor(() => expect(reads).toBe(1)); // admitted: it lists the caller's namespaces
    const second = search();
    await vi.waitFor(async () =>
      expect(await (await fetch(`${f!.base}/metrics`)).text()).toContain('strata_server_search_queue_depth 1'),
    );
    expect((await search()).status).toBe(503);
    expect(reads).toBe(1);
    slow.open();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(reads).toBe(2);
  });

  test('a search past its deadline is a 503 naming it, and the catalog is told to stop', async () => {
    f = await startFixture({ search: { maxRunMs: 100 } });
    const signals: AbortSignal[] = [];
    f.catalog.searchText = async (_text, _query, options) => {
      signals.push(options!.signal!);
      return new Promise<never>(() => {});
    };
    const res = await fetch(`${f.base}/api/v1/search?q=segfault`, { headers: { authorization: 'Bearer alice-token' } });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/ran for 100 ms/);
    expect(signals.map((s) => s.aborted)).toEqual([true]);
    const metrics = await (await fetch(`${f.base}/metrics`)).text();
    expect(metrics).toContain('strata_server_search_rejected_total{reason="run-timeout"} 1');
  });

  test('a client that goes away stops its search', async () => {
    f = await startFixture();
    const signals: AbortSignal[] = [];
    f.catalog.searchText = async (_text, _query, options) => {
      signals.push(options!.signal!);
      return new Promise<never>(() => {});
    };
    const client = new AbortController();
    const req = fetch(`${f.base}/api/v1/search?q=segfault`, {
      headers: { authorization: 'Bearer alice-token' },
      signal: client.signal,
    }).catch(() => 'aborted');
    await vi.waitFor(() => expect(signals).toHaveLength(1));
    client.abort();
    expect(await req).toBe('aborted');
    await vi.waitFor(() => expect(signals[0]!.aborted).toBe(true));
  });

  test('on search threads over a compact catalog: the same hits, and only where the caller may list', async () => {
    const search = async (fixture: Fixture, token: string) => {
      const res = await fetch(`${fixture.base}/api/v1/search?q=segfault`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const { hits } = (await res.json()) as {
        hits: Array<{ manifestId: string; uid: string; name: string; namespace: string }>;
      };
      // Each fixture archives at its own time: the same workflows under other manifest ids.
      return hits.map(({ manifestId: _m, uid: _u, ...hit }) => hit).sort((a, b) => a.name.localeCompare(b.name));
    };
    const plain = await startFixture();
    try {
      f = await startFixture({}, undefined, { searchThreads: 1 });
      for (const token of ['alice-token', 'bob-token', 'carol-token'])
        expect(await search(f, token), token).toEqual(await search(plain, token));
      expect((await search(f, 'alice-token')).map((h) => h.namespace)).toEqual(['agents', 'agents']);
      expect((await search(f, 'bob-token')).map((h) => h.namespace)).toEqual(['finance']);
      expect(await search(f, 'carol-token')).toEqual([]);
    } finally {
      await plain.close();
    }
  });

  test('a query over the cost limit is a 400 naming the cost', async () => {
    f = await startFixture({ search: { maxCost: 10 } });
    const res = await fetch(`${f.base}/api/v1/search?q=${encodeURIComponent('a*')}`, {
      headers: { authorization: 'Bearer alice-token' },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string; field: string } }).error).toMatchObject({
      field: 'q',
      message: expect.stringMatching(/costs 33, over the limit of 10/),
    });
  });
});
