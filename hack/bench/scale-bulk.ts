// Bulk loading of the scale benchmark's metadata-only rows. The adapters' own upsert (one transaction, or several
// requests, per manifest) loads ~100-1000 rows/s on this machine: a million would take hours. These write the same
// rows and documents the adapters write (lib/catalog/sqlite.ts, postgres.ts, elasticsearch.ts), many per
// request; the rows with logs still go through the adapter's upsert, and scale-bench.ts checks that rows loaded here
// read back through the adapter exactly as upserted ones do.
import type { Client } from '@elastic/elasticsearch';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { workflowTime, type CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import { workflowDocument } from '../../lib/catalog/elasticsearch.ts';
import {
  ENTRY_INSERT,
  entryRow,
  LABEL_INSERT,
  labelRows,
  MANIFEST_INSERT,
  manifestRow,
} from '../../lib/catalog/sqlite.ts';
import { layout, periodOf } from '../../lib/catalog/es-indices.ts';
import { catalogWorkflow, type IndexableManifest } from '../../lib/catalog/rebuild.ts';

const ms = (iso: string | undefined) => {
  if (iso === undefined) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};

function rowOf(m: IndexableManifest): CatalogWorkflow {
  return catalogWorkflow(m, m.summary!);
}

export async function bulkPostgres(client: pg.Client, schema: string, manifests: IndexableManifest[]): Promise<void> {
  const ws = manifests.map(rowOf);
  const col = <T>(f: (w: CatalogWorkflow) => T) => ws.map(f);
  await client.query('BEGIN');
  try {
    await client.query(
      `INSERT INTO ${schema}.manifests (id, uid, namespace, name, phase, started_at, finished_at, archived_at,
         started_ms, finished_ms, archived_ms, at_ms, grp, incomplete, entries, bytes, labels)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::text[], $14::boolean[],
         $15::integer[], $16::bigint[], $17::jsonb[])`,
      [
        col((w) => w.manifestId),
        col((w) => w.uid),
        col((w) => w.namespace),
        col((w) => w.name),
        col((w) => w.phase ?? null),
        col((w) => w.startedAt ?? null),
        col((w) => w.finishedAt ?? null),
        col((w) => w.archivedAt ?? null),
        col((w) => ms(w.startedAt)),
        col((w) => ms(w.finishedAt)),
        col((w) => ms(w.archivedAt)),
        col((w) => ms(workflowTime(w))),
        col((w) => w.group ?? null),
        col((w) => w.incomplete),
        col((w) => w.entries),
        col((w) => w.bytes),
        col((w) => JSON.stringify(w.labels)),
      ],
    );
    const entries = manifests.flatMap((m) => m.entries.map((e) => ({ id: m.id, ...e })));
    await client.query(
      `INSERT INTO ${schema}.entries (manifest_id, path, kind, node_id, container, artifact_name, size, sha256)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])`,
      [
        entries.map((e) => e.id),
        entries.map((e) => e.path),
        entries.map((e) => e.kind),
        entries.map((e) => e.nodeId ?? null),
        entries.map((e) => e.container ?? null),
        entries.map((e) => e.artifactName ?? null),
        entries.map((e) => e.size ?? null),
        entries.map((e) => e.sha256 ?? null),
      ],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The month indices of [fromMs, toMs], created up front so that concurrent upserts never meet a recovering shard. */
export async function createPeriodIndices(client: Client, prefix: string, fromMs: number, toMs: number): Promise<void> {
  const l = layout(prefix);
  const periods = new Set<string>();
  for (let t = fromMs; t <= toMs + 31 * 86_400_000; t += 86_400_000)
    periods.add(periodOf({ finishedAt: new Date(Math.min(t, toMs)).toISOString() }));
  for (const p of periods)
    for (const index of [l.workflowsIndex(p), l.logsIndex(p)])
      await client.indices.create({ index, wait_for_active_shards: 1 }, { ignore: [400] });
  await client.cluster.health({ wait_for_status: 'yellow', timeout: '60s' });
}

export async function bulkElasticsearch(client: Client, prefix: string, manifests: IndexableManifest[]): Promise<void> {
  const l = layout(prefix);
  const generation = `${Date.now().toString(36).padStart(9, '0')}-00000000`;
  const operations: unknown[] = [];
  for (const m of manifests) {
    const w = rowOf(m);
    operations.push({ index: { _index: l.workflowsIndex(periodOf(w)), _id: w.manifestId } });
    operations.push(workflowDocument(w, generation, m.entries, 0));
  }
  const r = await client.bulk({ operations, refresh: false });
  if (r.errors) {
    const failed = r.items.find((i) => i.index?.error)?.index?.error;
    throw new Error(`bulk load into Elasticsearch failed: ${JSON.stringify(failed)}`);
  }
}

/** The SQLite catalog's rows (lib/catalog/sqlite.ts), many manifests per transaction, on a second connection. */
export function bulkSqlite(db: Database.Database, manifests: IndexableManifest[]): void {
  const manifest = db.prepare(MANIFEST_INSERT);
  const label = db.prepare(LABEL_INSERT);
  const entry = db.prepare(ENTRY_INSERT);
  db.transaction(() => {
    for (const m of manifests) {
      const w = rowOf(m);
      manifest.run(...manifestRow(w));
      for (const row of labelRows(w)) label.run(...row);
      for (const e of m.entries) entry.run(...entryRow(w.manifestId, e));
    }
  })();
}
