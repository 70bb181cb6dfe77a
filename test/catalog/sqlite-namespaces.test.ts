// The SQLite catalog's namespaces come from the daily counters (and the manifests without a time): always exactly the
// namespaces of its rows, through upserts, replacements and removals.
import { describe, expect, test } from 'vitest';
import type { Catalog, CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';

const row = (n: number, namespace: string, finishedAt?: string): CatalogWorkflow => ({
  manifestId: n.toString(16).padStart(64, '0'),
  uid: `uid-${n}`,
  namespace,
  name: `wf-${n}`,
  ...(finishedAt !== undefined && { finishedAt }),
  labels: {},
  incomplete: false,
  entries: 0,
  bytes: 0,
});
const upsert = (c: Catalog, w: CatalogWorkflow) => c.upsertManifest(w, [], (async function* () {})());

describe('SQLite namespaces', () => {
  test('the namespaces of the rows, with and without a workflow time, through replacement and removal', async () => {
    const { catalog: c } = openSqliteCatalog(':memory:');
    try {
      await upsert(c, row(1, 'timed', '2026-11-01T10:00:00Z'));
      await upsert(c, row(2, 'timeless'));
      await upsert(c, row(3, 'timed', '2026-11-02T10:00:00Z'));
      await upsert(c, row(4, 'moved', '2026-11-03T10:00:00Z'));
      expect(await c.namespaces()).toEqual(['moved', 'timed', 'timeless']);
      await upsert(c, row(4, 'elsewhere', '2026-11-03T10:00:00Z')); // replaced in another namespace
      await upsert(c, row(2, 'timeless', '2026-11-04T10:00:00Z')); // now with a time
      expect(await c.namespaces()).toEqual(['elsewhere', 'timed', 'timeless']);
      await c.remove(row(1, '').manifestId);
      expect(await c.namespaces()).toEqual(['elsewhere', 'timed', 'timeless']);
      await c.remove(row(3, '').manifestId);
      await c.remove(row(2, '').manifestId);
      expect(await c.namespaces()).toEqual(['elsewhere']);
    } finally {
      await c.close();
    }
  });
});
