// Rebuild on a schema change, the same on every backend: a catalog of an older schema is rebuilt from the store by
// whichever command opens it, a rebuild killed midway is finished by the next one, and no reader sees it half-full.
// A backend test file calls describeRebuildOnOpen(name, backend).
import { describe, expect, test } from 'vitest';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { openCatalog, type CatalogOpenOptions } from '../../lib/catalog/open.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { contractCorpus } from './contract.ts';

export interface RebuildBackend {
  /** Skip the suite with this reason (the backend's server is not available here). */
  skip?: string;
  /** The location (`catalog` setting) of a new, empty catalog. */
  location(): string;
  /** Makes the catalog at `location` look as an older schema of this backend left it. */
  makeOlder(location: string): Promise<void>;
  /**
   * Two writers may run in this one process at once. Not SQLite: a second connection waits for the file's write lock
   * by blocking the thread (busy timeout), so in one process it would stall the first writer it waits for (two
   * processes take turns, as `strata` commands do).
   */
  concurrentWriters: boolean;
}

const ALL = 3; // manifests in contractCorpus()

/** A row the store does not have: gone once the catalog is rebuilt from the store. */
async function addStray(catalog: Catalog): Promise<void> {
  await catalog.upsertManifest(
    {
      manifestId: 'f'.repeat(64),
      uid: 'uid-stray',
      namespace: 'agents',
      name: 'stray',
      finishedAt: '2026-11-03T10:00:00Z',
      labels: {},
      incomplete: false,
      entries: 0,
      bytes: 0,
    },
    [],
    (async function* () {})(),
  );
}

export function describeRebuildOnOpen(name: string, backend: RebuildBackend): void {
  describe.skipIf(backend.skip !== undefined)(`${name}: rebuild on a schema change`, () => {
    const source = contractCorpus();
    const reading = (log: string[] = []): CatalogOpenOptions => ({
      rebuildFrom: async () => source,
      log: (m) => log.push(m),
    });
    /** A catalog indexed from the store, plus a row the store does not have, then made older. */
    const olderCatalog = async () => {
      const location = backend.location();
      const { catalog } = await openCatalog(location);
      await indexCatalog(catalog, source);
      await addStray(catalog);
      expect((await catalog.stats()).manifests).toBe(ALL + 1);
      await catalog.close();
      await backend.makeOlder(location);
      return location;
    };

    test('a command that only reads an older catalog rebuilds it from the store first, and says so', async () => {
      const location = await olderCatalog();
      const log: string[] = [];
      const opened = await openCatalog(location, reading(log));
      try {
        expect(log.join('\n')).toMatch(/older schema.*rebuilding it from the archive/);
        expect((await opened.catalog.stats()).manifests).toBe(ALL);
        expect(await opened.catalog.get('f'.repeat(64))).toEqual([]);
        expect((await opened.catalog.searchText('kraken')).map((h) => h.line)).toEqual([3001]);
      } finally {
        await opened.catalog.close();
      }
      const again = await openCatalog(location, reading());
      expect(again.rebuild).toBeUndefined();
      await again.catalog.close();
    });

    test('a rebuild killed midway is finished by the next command that opens the catalog', async () => {
      const location = await olderCatalog();
      // As `strata index` opens it (no rebuildFrom): the rows are dropped, the rebuild is the caller's.
      const first = await openCatalog(location);
      expect(first.rebuild).toBeDefined();
      await indexCatalog(first.catalog, source, { only: [[...source.manifests.keys()][0]!] });
      await first.catalog.close(); // killed before the pass finished: done() never ran

      const next = await openCatalog(location);
      expect(next.rebuild).toBeDefined();
      await next.catalog.close();
      const reader = await openCatalog(location, reading());
      expect((await reader.catalog.stats()).manifests).toBe(ALL);
      await reader.catalog.close();
      const after = await openCatalog(location);
      expect(after.rebuild).toBeUndefined();
      await after.catalog.close();
    });

    test.skipIf(!backend.concurrentWriters)(
      'readers that open the catalog while it is rebuilt wait for it and see it whole',
      async () => {
        const location = await olderCatalog();
        const opened = await Promise.all([openCatalog(location, reading()), openCatalog(location, reading())]);
        try {
          for (const o of opened) {
            expect((await o.catalog.stats()).manifests).toBe(ALL);
            expect((await o.catalog.search({})).map((w) => w.name).sort()).toEqual(['docs-1', 'play-1', 'play-2']);
          }
        } finally {
          for (const o of opened) await o.catalog.close();
        }
      },
    );

    test('strata index --rebuild (reset) marks the catalog until its pass completes', async () => {
      const location = backend.location();
      const reset = await openCatalog(location, { reset: true });
      expect(reset.rebuild).toBeDefined();
      await reset.catalog.close();
      const reader = await openCatalog(location, reading());
      expect((await reader.catalog.stats()).manifests).toBe(ALL);
      await reader.catalog.close();
    });
  });
}
