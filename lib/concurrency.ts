// Bounded concurrency for independent async work (object store requests, file system calls).

/** fn over every item with at most `limit` running at once; results in the items' order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}

/** Runs an async function under a shared concurrency bound. */
export type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

/** Runs at most `max` of the functions given to it at once, the others in the order they came. */
export function limiter(max: number): Limit {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (fn) => {
    if (running >= max) await new Promise<void>((go) => waiting.push(go));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** `fn` over `items` in order, up to `ahead` calls started before their results are taken. */
export async function* mapAhead<T, R>(
  items: readonly T[],
  ahead: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const started: Array<Promise<R>> = [];
  let next = 0;
  const start = () => {
    while (next < items.length && started.length < ahead) {
      const p = fn(items[next++]!);
      p.catch(() => undefined); // thrown when its turn comes
      started.push(p);
    }
  };
  start();
  while (started.length > 0) {
    const result = await started.shift()!;
    start();
    yield result;
  }
}
