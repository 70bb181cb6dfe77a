// The sweep watermark kept in the archive repository (one object per sweep scope), beside the data it describes.
import { NotFoundError } from '../errors.ts';
import type { ObjectStore } from '../store/store.ts';
import { parseWatermark, type Watermark, type WatermarkStore } from './watermark.ts';
import { readObject } from '../store/read-whole.ts';

export const WATERMARK_PREFIX = 'pipeline/watermarks/';

/** `scope` names the sweep (its namespaces and selector), so differently scoped sweeps keep separate marks. */
export function storeWatermark(store: ObjectStore, scope: string): WatermarkStore {
  const key = `${WATERMARK_PREFIX}${encodeURIComponent(scope)}.json`;
  return {
    description: `${store.url}/${key}`,
    async read() {
      try {
        return parseWatermark((await readObject(store, key)).toString('utf8'));
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
    async write(w: Watermark) {
      await store.put(key, Buffer.from(JSON.stringify(w)), { contentType: 'application/json' });
    },
  };
}

export function sweepScope(namespaces: string[] | undefined, selector: string | undefined): string {
  return `${namespaces?.length ? [...namespaces].sort().join(',') : '*'}|${selector ?? ''}`;
}
