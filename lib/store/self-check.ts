// A round trip through a store: put, head, get, list, delete of one probe object under .strata-selfcheck/.
// A store that cannot even take the probe (unreachable, denied, no bucket) throws that one error instead.
import { createHash, randomBytes } from 'node:crypto';
import { describeError } from '../errors.ts';
import type { ObjectStore } from './store.ts';
import { readObject } from './read-whole.ts';

export interface StoreCheckReport {
  store: string;
  ok: boolean;
  steps: { step: string; ok: boolean; ms: number; error?: string }[];
}

export async function checkStore(store: ObjectStore): Promise<StoreCheckReport> {
  const key = `.strata-selfcheck/${Date.now()}-${randomBytes(4).toString('hex')}`;
  const body = randomBytes(64 * 1024);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const steps: StoreCheckReport['steps'] = [];
  const run = async (step: string, fn: () => Promise<void>) => {
    const t0 = performance.now();
    try {
      await fn();
      steps.push({ step, ok: true, ms: Math.round(performance.now() - t0) });
      return true;
    } catch (err) {
      steps.push({ step, ok: false, ms: Math.round(performance.now() - t0), error: describeError(err) });
      return false;
    }
  };
  const t0 = performance.now();
  await store.put(key, body, { sha256 });
  steps.push({ step: 'put', ok: true, ms: Math.round(performance.now() - t0) });
  await run('head', async () => {
    const info = await store.head(key);
    if (info?.size !== body.length) throw new Error(`head reported size ${info?.size}, expected ${body.length}`);
  });
  await run('get', async () => {
    const back = await readObject(store, key);
    if (!back.equals(body)) throw new Error('read back different bytes');
  });
  await run('list', async () => {
    for await (const o of store.list('.strata-selfcheck/')) if (o.key === key) return;
    throw new Error('probe object not listed');
  });
  await run('delete', async () => {
    await store.delete([key]);
    if (await store.head(key)) throw new Error('object still present after delete');
  });
  return { store: store.url, ok: steps.every((s) => s.ok), steps };
}
