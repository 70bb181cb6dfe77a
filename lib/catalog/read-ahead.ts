// Pulls an async sequence ahead of its consumer, so that the source's waits (a file read, a pack fetched from the
// store) overlap the consumer's synchronous work (SQLite's inserts block the thread) instead of following it.

/**
 * Starts pulling `source` at once and keeps up to `ahead` items pulled or in flight, one more each time the consumer
 * takes one. Items, the end and an error come out in the source's order. A consumer that stops
 * early (break, throw) closes the source (and hands what was pulled for it to `unused`); an error the consumer never
 * reaches is dropped with the rest.
 */
export function readAhead<T>(
  source: AsyncIterable<T>,
  ahead: number,
  /** Told of each item pulled but never handed out (the consumer stopped early), to release what it holds. */
  unused?: (item: T) => Promise<unknown> | void,
): AsyncIterableIterator<T> {
  const it = source[Symbol.asyncIterator]();
  const waiting: Promise<IteratorResult<T>>[] = [];
  let ended = false;
  let closed = false;
  const pull = () => {
    const next = it.next();
    waiting.push(next);
    // The end or an error stops further pulls; the consumer meets either when it reaches that pull.
    next.then(
      (r) => {
        if (r.done) ended = true;
        else if (!ended && !closed && waiting.length < ahead) pull();
      },
      () => {
        ended = true;
      },
    );
  };
  pull();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next(): Promise<IteratorResult<T>> {
      const first = waiting.shift();
      if (!first || closed) return { done: true, value: undefined };
      // An item taken leaves room for one more: ask for it before waiting.
      if (!ended && waiting.length < ahead) pull();
      return first;
    },
    async return(): Promise<IteratorResult<T>> {
      closed = true;
      // Pulls in flight settle first: an async generator takes return() only between its steps.
      for (const r of await Promise.allSettled(waiting.splice(0)))
        if (r.status === 'fulfilled' && !r.value.done) await unused?.(r.value.value);
      await it.return?.();
      return { done: true, value: undefined };
    },
  };
}
