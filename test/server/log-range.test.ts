// A byte range of a log is read from the chunk holding its first byte: the bytes are exact at every boundary, and
// the last page of a long log reads a small share of its packs (it used to read the log from the start and skip).
import { afterEach, describe, expect, test } from 'vitest';
import { archiveBundle, readManifest } from '../../lib/archive/index.ts';
import { entryRange } from '../../lib/archive/entry-range.ts';
import type { Repository } from '../../lib/archive/repository.ts';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { IntegrityError } from '../../lib/errors.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { ArchiveService } from '../../server/service/archive-service.ts';
import { bundleOf, logText, REPOSITORY_MODES, tempRepository } from '../archive/fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const LOG_BYTES = 400_000;

/** The store with a tally of the bytes read from packs. */
function countingRepo(repo: Repository): { repo: Repository; packBytes: () => number; reset(): void } {
  let n = 0;
  const store = new Proxy(repo.store, {
    get(target, prop, receiver) {
      if (prop === 'get')
        return async (key: string, range?: { start: number; end?: number }) => {
          const body = await target.get(key, range);
          if (!key.includes('packs/')) return body;
          body.on('data', (b: Buffer) => (n += b.length));
          return body;
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as ObjectStore;
  return { repo: { ...repo, store }, packBytes: () => n, reset: () => (n = 0) };
}

async function collect(body: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of body) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

describe.each(REPOSITORY_MODES)('%s repository', (mode) => {
  async function archived() {
    const r = await tempRepository(undefined, mode);
    cleanups.push(r.cleanup);
    const data = logText(7, LOG_BYTES);
    const result = await archiveBundle(
      r.repo,
      bundleOf('u1', [{ path: 'logs/n1/main.log', nodeId: 'n1', container: 'main', data }]),
    );
    const manifest = await readManifest(r.repo, result.manifestId);
    return { ...r, data, manifestId: result.manifestId, manifest };
  }

  test('entryRange returns exactly the bytes of any span, across chunk and frame boundaries', async () => {
    const { repo, data, manifest } = await archived();
    const entry = manifest.entries.find((e) => e.path === 'logs/n1/main.log')!;
    expect(entry.chunks.length).toBeGreaterThan(20);
    const spans: Array<[number, number]> = [
      [0, 0],
      [0, 65535],
      [LOG_BYTES - 65536, LOG_BYTES - 1],
      [LOG_BYTES - 1, LOG_BYTES - 1],
      [12_345, 98_765],
      [0, LOG_BYTES - 1],
      [LOG_BYTES - 10, LOG_BYTES + 1000], // an end past the size is clamped
    ];
    for (let i = 0; i < 20; i++) {
      const a = (i * 7919 * 13) % LOG_BYTES;
      spans.push([a, Math.min(LOG_BYTES - 1, a + ((i * 4099) % 50_000))]);
    }
    for (const [start, end] of spans) {
      const got = await collect(entryRange(repo, manifest, entry, { start, end }));
      expect(got.equals(data.subarray(start, end + 1)), `bytes ${start}-${end}`).toBe(true);
    }
  });

  test('a manifest whose chunks do not add up to the entry size is refused before any byte', async () => {
    const { repo, manifest } = await archived();
    const entry = manifest.entries.find((e) => e.path === 'logs/n1/main.log')!;
    const wrong = { ...entry, size: entry.size + 1 };
    await expect(collect(entryRange(repo, manifest, wrong, { start: 0, end: 10 }))).rejects.toThrow(IntegrityError);
  });

  test('the service reads the last page of a log from its chunk, not from the start of the log', async () => {
    const { repo, data, manifestId } = await archived();
    const counting = countingRepo(repo);
    const { catalog } = openSqliteCatalog(':memory:');
    await indexCatalog(catalog, await archiveManifestSource(repo.store));
    const service = new ArchiveService({
      catalog,
      repository: async () => counting.repo,
      holds: async () => ({ holds: [], extensions: [] }),
      authorizer: { allows: async () => true },
      audit: { record: async () => {} },
    });
    const caller = { username: 'alice', groups: [], via: 'token-file' as const };
    const handle = await service.entry(caller, manifestId, { kind: 'log', nodeId: 'n1', container: 'main' });

    counting.reset();
    const whole = await handle.read();
    expect((await collect(whole.body)).equals(data)).toBe(true);
    const wholeBytes = counting.packBytes();

    counting.reset();
    const span = { start: LOG_BYTES - 4096, end: LOG_BYTES - 1 };
    const last = await handle.read({ span });
    expect((await collect(last.body)).equals(data.subarray(span.start))).toBe(true);
    expect(counting.packBytes()).toBeGreaterThan(0);
    expect(counting.packBytes()).toBeLessThan(wholeBytes / 4);
    await catalog.close();
  });
});
