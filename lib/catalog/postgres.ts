// The PostgreSQL catalog adapter: a metadata catalog many query-service replicas and indexers share. Labels are
// jsonb under a GIN index, and also rows of a labels table in listing order (kept by triggers, read by label-walk.ts);
// times are indexed epoch milliseconds, log segments carry a tsvector (GIN) that narrows
// full-text candidates which the one matcher (text-hit.ts) confirms. Each manifest is written in one transaction
// under a per-manifest advisory lock, so concurrent indexers of the same manifest leave exactly one copy.
import pg from 'pg';
import { ConfigError, StrataError } from '../errors.ts';
import {
  byDayThenPhase,
  dailyRange,
  DAY_MS,
  dayName,
  NO_PHASE,
  upsertOne,
  workflowTime,
  type Catalog,
  type CatalogEntry,
  type CatalogStats,
  type UsageRow,
  type CatalogWorkflow,
  type DailyCount,
  type DailyCountQuery,
  type LabelRequirement,
  type LogSegment,
  type ManifestUpsert,
  type PageKey,
  type PendingRebuild,
  type TextHit,
  type TimeRange,
  type UpsertOutcome,
  type WorkflowPage,
  type WorkflowPageQuery,
  type WorkflowQuery,
} from './catalog.ts';
import { visibleText } from './log-text.ts';
import { labelTableSql, labelWalkSql, type LabelStream } from './pg-label-walk.ts';
import { matchSegment, placeOfRow, textHit } from './text-hit.ts';
import { logTokens, parseTextQuery, type TextQuery } from './text-query.ts';

/** Bump on any schema change: the catalog's tables are then dropped and rebuilt from the store. */
export const PG_CATALOG_SCHEMA_VERSION = 4;

const DEFAULT_LIMIT = 100;
const MAX_BIGINT = '9223372036854775807';
const MIN_BIGINT = '-9223372036854775808';
// The label walk's budget: leapfrog steps per wanted row, plus a fixed allowance (a step is ~50 µs here).
const WALK_STEPS_PER_ROW = 8;
const WALK_STEPS = 200;
// A tsvector lexeme holds at most 2047 bytes; longer tokens are indexed by their start and matched as a prefix.
const MAX_LEXEME_CHARS = 200;
// Any fixed number: the advisory lock that serializes schema creation across processes.
const SCHEMA_LOCK = 0x5354_5241;

export interface OpenPostgresOptions {
  /** Wipe the catalog first (`strata index --rebuild`). */
  reset?: boolean;
  /** PostgreSQL schema holding the catalog's tables (default strata_catalog); tests use one per catalog. */
  schema?: string;
  /** Connections in the pool (default 4). */
  poolSize?: number;
}

export interface OpenPostgresResult {
  catalog: Catalog;
  /** The schema was new, or held an older version and was wiped: everything must be (re)indexed. */
  fresh: boolean;
  /** Present while a rebuild from the store has not completed (see OpenedCatalog.rebuild in open.ts). */
  rebuild?: PendingRebuild;
}

const tables = (s: string) => `
-- rebuilding: the tables were emptied (an older schema, a reset) and no full pass over the store has finished since.
CREATE TABLE ${s}.meta (version integer NOT NULL, rebuilding boolean NOT NULL);
CREATE TABLE ${s}.manifests (
  id text PRIMARY KEY,
  uid text NOT NULL,
  namespace text NOT NULL,
  name text NOT NULL,
  phase text,
  started_at text,
  finished_at text,
  archived_at text,
  started_ms bigint,
  finished_ms bigint,
  archived_ms bigint,
  at_ms bigint,
  grp text,
  incomplete boolean NOT NULL,
  entries integer NOT NULL,
  bytes bigint NOT NULL,
  labels jsonb NOT NULL,
  -- A short row number for the labels table (the 64-hex id would double its size).
  rid bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX manifests_at ON ${s}.manifests (at_ms, id);
-- The listing's newest-first order, and the lookup of one listing position.
CREATE INDEX manifests_newest ON ${s}.manifests ((coalesce(at_ms, -1)) DESC, id);
CREATE INDEX manifests_ns_at ON ${s}.manifests (namespace, at_ms);
CREATE INDEX manifests_started ON ${s}.manifests (started_ms);
CREATE INDEX manifests_finished ON ${s}.manifests (finished_ms);
CREATE INDEX manifests_archived ON ${s}.manifests (archived_ms);
CREATE INDEX manifests_uid ON ${s}.manifests (uid);
CREATE INDEX manifests_name ON ${s}.manifests (name COLLATE "C", namespace);
CREATE INDEX manifests_ns_name ON ${s}.manifests (namespace COLLATE "C", name COLLATE "C", id);
CREATE INDEX manifests_grp ON ${s}.manifests (grp, at_ms);
CREATE INDEX manifests_labels ON ${s}.manifests USING gin (labels);
${labelTableSql(s)}
CREATE TABLE ${s}.entries (
  manifest_id text NOT NULL REFERENCES ${s}.manifests (id) ON DELETE CASCADE,
  path text NOT NULL,
  kind text NOT NULL,
  node_id text,
  container text,
  artifact_name text,
  size bigint,
  sha256 text,
  PRIMARY KEY (manifest_id, path)
);
CREATE TABLE ${s}.segments (
  id bigserial PRIMARY KEY,
  manifest_id text NOT NULL REFERENCES ${s}.manifests (id) ON DELETE CASCADE,
  path text NOT NULL,
  node_id text,
  container text,
  first_line integer NOT NULL,
  body text NOT NULL,
  -- The segment's distinct tokens, without positions: the index narrows, the matcher confirms phrases.
  tokens tsvector NOT NULL
);
CREATE INDEX segments_manifest ON ${s}.segments (manifest_id);
CREATE INDEX segments_tokens ON ${s}.segments USING gin (tokens);
-- Workflows per UTC day, phase and namespace (countByDay), kept by the triggers below in the statement that writes or
-- removes manifest rows, whoever writes them: the counts cannot drift from the rows.
CREATE TABLE ${s}.daily_counts (
  day integer NOT NULL,
  phase text NOT NULL,
  namespace text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (day, phase, namespace)
);
CREATE FUNCTION ${s}.daily_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- In key order, so that concurrent writers lock counter rows in the same order.
  INSERT INTO ${s}.daily_counts AS c (day, phase, namespace, n)
    SELECT ${DAY_SQL}, coalesce(phase, '${NO_PHASE}'), namespace, count(*) FROM added
    WHERE at_ms IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (day, phase, namespace) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;
CREATE FUNCTION ${s}.daily_counts_drop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ${s}.daily_counts c SET n = c.n - gone.n FROM (
    SELECT ${DAY_SQL} AS day, coalesce(phase, '${NO_PHASE}') AS phase, namespace, count(*) AS n FROM removed
    WHERE at_ms IS NOT NULL GROUP BY 1, 2, 3
  ) gone WHERE c.day = gone.day AND c.phase = gone.phase AND c.namespace = gone.namespace;
  DELETE FROM ${s}.daily_counts c WHERE c.n <= 0 AND (c.day, c.phase, c.namespace) IN (
    SELECT ${DAY_SQL}, coalesce(phase, '${NO_PHASE}'), namespace FROM removed WHERE at_ms IS NOT NULL
  );
  RETURN NULL;
END $$;
CREATE TRIGGER daily_counts_add AFTER INSERT ON ${s}.manifests
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ${s}.daily_counts_add();
CREATE TRIGGER daily_counts_drop AFTER DELETE ON ${s}.manifests
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ${s}.daily_counts_drop();
CREATE TRIGGER daily_counts_update_old AFTER UPDATE ON ${s}.manifests
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ${s}.daily_counts_drop();
CREATE TRIGGER daily_counts_update_new AFTER UPDATE ON ${s}.manifests
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ${s}.daily_counts_add();
`;

/** The UTC day number of a row's workflow time (floored: times before 1970 fall on their own day). */
const DAY_SQL = `floor(at_ms / ${DAY_MS}.0)::integer`;

interface ManifestRow {
  id: string;
  uid: string;
  namespace: string;
  name: string;
  phase: string | null;
  started_at: string | null;
  finished_at: string | null;
  archived_at: string | null;
  grp: string | null;
  incomplete: boolean;
  entries: number;
  bytes: number;
  labels: Record<string, string>;
}

/** Opens (creating or migrating-by-wiping) the catalog in the database at `url` (postgres://…). */
export async function openPostgresCatalog(url: string, opts: OpenPostgresOptions = {}): Promise<OpenPostgresResult> {
  const schema = opts.schema ?? 'strata_catalog';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new ConfigError(`catalog schema ${JSON.stringify(schema)} must be a lower-case SQL identifier`);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 4,
    // bigint columns (times, sizes) come back as numbers: they stay far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  pool.on('error', () => {}); // an idle client's lost connection: the next query reconnects or fails loudly
  let state: { fresh: boolean; rebuilding: boolean };
  try {
    state = await ensureSchema(pool, schema, Boolean(opts.reset));
  } catch (err) {
    await pool.end().catch(() => {});
    throw new StrataError(
      `cannot open PostgreSQL catalog: ${(err as Error).message}`,
      { key: redact(url) },
      { cause: err },
    );
  }
  const rebuild: PendingRebuild = {
    async done() {
      await pool.query(`UPDATE ${schema}.meta SET rebuilding = false`);
    },
  };
  return { catalog: new PostgresCatalog(pool, schema), fresh: state.fresh, ...(state.rebuilding && { rebuild }) };
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/**
 * Creates the schema, or drops and recreates one of another version (or on `reset`), under an advisory lock: of several
 * processes opening it at once, one does it. Tables emptied while they held a catalog are marked as rebuilding.
 */
async function ensureSchema(
  pool: pg.Pool,
  schema: string,
  reset: boolean,
): Promise<{ fresh: boolean; rebuilding: boolean }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    const exists = await client.query(
      `SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'meta'`,
      [schema],
    );
    let version: number | undefined;
    if (exists.rowCount) {
      const v = await client.query<{ version: number }>(`SELECT version FROM ${schema}.meta`);
      version = v.rows[0]?.version;
    }
    if (!reset && version === PG_CATALOG_SCHEMA_VERSION) {
      const r = await client.query<{ rebuilding: boolean }>(`SELECT rebuilding FROM ${schema}.meta`);
      await client.query('COMMIT');
      const rebuilding = Boolean(r.rows[0]?.rebuilding);
      return { fresh: rebuilding, rebuilding };
    }
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(tables(schema));
    const rebuilding = reset || version !== undefined;
    await client.query(`INSERT INTO ${schema}.meta (version, rebuilding) VALUES ($1, $2)`, [
      PG_CATALOG_SCHEMA_VERSION,
      rebuilding,
    ]);
    await client.query('COMMIT');
    return { fresh: true, rebuilding };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

class PostgresCatalog implements Catalog {
  private readonly t: { manifests: string; entries: string; segments: string; dailyCounts: string };

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {
    this.t = {
      manifests: `${schema}.manifests`,
      entries: `${schema}.entries`,
      segments: `${schema}.segments`,
      dailyCounts: `${schema}.daily_counts`,
    };
  }

  private async rows<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, params)).rows;
  }

  async manifestIds(): Promise<Set<string>> {
    return new Set((await this.rows<{ id: string }>(`SELECT id FROM ${this.t.manifests}`)).map((r) => r.id));
  }

  upsertManifest(workflow: CatalogWorkflow, entries: CatalogEntry[], segments: AsyncIterable<LogSegment>) {
    return upsertOne({ upsertManifests: (one) => this.write(one, false) }, { workflow, entries, segments });
  }

  upsertManifests(batch: AsyncIterable<ManifestUpsert>): Promise<UpsertOutcome[]> {
    return this.write(batch, true);
  }

  /**
   * One transaction, a savepoint per manifest: a manifest that fails is rolled back alone. Batches of one catalog
   * take turns (`exclusive`): the per-day counters (daily_counts) are rows many manifests share, and two batches
   * locking them in opposite orders deadlocked. A single manifest locks one counter row, after its manifest lock, so
   * it cannot close a cycle and needs no turn.
   */
  private async write(batch: AsyncIterable<ManifestUpsert>, exclusive: boolean): Promise<UpsertOutcome[]> {
    const outcomes: UpsertOutcome[] = [];
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (exclusive)
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 1))', [`${this.t.manifests} batches`]);
      for await (const { workflow, entries, segments } of batch) {
        await client.query('SAVEPOINT manifest');
        try {
          await this.indexManifest(client, workflow, entries, segments);
          await client.query('RELEASE SAVEPOINT manifest');
          outcomes.push({ manifestId: workflow.manifestId });
        } catch (error) {
          await client.query('ROLLBACK TO SAVEPOINT manifest');
          await client.query('RELEASE SAVEPOINT manifest');
          outcomes.push({ manifestId: workflow.manifestId, error });
        }
      }
      await client.query('COMMIT');
      return outcomes;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** Writes one manifest's rows inside the caller's transaction. */
  private async indexManifest(
    client: pg.PoolClient,
    w: CatalogWorkflow,
    entries: CatalogEntry[],
    segments: AsyncIterable<LogSegment>,
  ): Promise<void> {
    // Concurrent indexers of one manifest take turns; each replaces the rows whole.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [w.manifestId]);
    await client.query(`DELETE FROM ${this.t.manifests} WHERE id = $1`, [w.manifestId]);
    const at = workflowTime(w);
    await client.query(
      `INSERT INTO ${this.t.manifests} (id, uid, namespace, name, phase, started_at, finished_at, archived_at,
         started_ms, finished_ms, archived_ms, at_ms, grp, incomplete, entries, bytes, labels)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [
        w.manifestId,
        w.uid,
        w.namespace,
        w.name,
        w.phase ?? null,
        w.startedAt ?? null,
        w.finishedAt ?? null,
        w.archivedAt ?? null,
        toMs(w.startedAt),
        toMs(w.finishedAt),
        toMs(w.archivedAt),
        toMs(at),
        w.group ?? null,
        w.incomplete,
        w.entries,
        w.bytes,
        JSON.stringify(w.labels),
      ],
    );
    if (entries.length) {
      const e = entries;
      await client.query(
        `INSERT INTO ${this.t.entries} (manifest_id, path, kind, node_id, container, artifact_name, size, sha256)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])
         ON CONFLICT (manifest_id, path) DO UPDATE SET kind = excluded.kind, node_id = excluded.node_id,
           container = excluded.container, artifact_name = excluded.artifact_name, size = excluded.size,
           sha256 = excluded.sha256`,
        [
          w.manifestId,
          e.map((x) => x.path),
          e.map((x) => x.kind),
          e.map((x) => x.nodeId ?? null),
          e.map((x) => x.container ?? null),
          e.map((x) => x.artifactName ?? null),
          e.map((x) => x.size ?? null),
          e.map((x) => x.sha256 ?? null),
        ],
      );
    }
    for await (const s of segments) {
      const text = visibleText(s.text);
      await client.query(
        `INSERT INTO ${this.t.segments} (manifest_id, path, node_id, container, first_line, body, tokens)
         VALUES ($1, $2, $3, $4, $5, $6, array_to_tsvector($7::text[]))`,
        [w.manifestId, s.path, s.nodeId ?? null, s.container ?? null, s.firstLine, text, lexemes(text)],
      );
    }
  }

  async remove(manifestId: string): Promise<void> {
    // Entries and segments go with the row (ON DELETE CASCADE), in the same statement's transaction.
    await this.pool.query(`DELETE FROM ${this.t.manifests} WHERE id = $1`, [manifestId]);
  }

  async search(query: WorkflowQuery): Promise<CatalogWorkflow[]> {
    const limit = limitOf(query);
    const where = new Where();
    filters(where, query);
    const parsed = query.text !== undefined ? parseTextQuery(query.text) : undefined;
    if (parsed) {
      where.add(
        `EXISTS (SELECT 1 FROM ${this.t.segments} s WHERE s.manifest_id = m.id AND s.tokens @@ ${where.param(toTsQuery(parsed))}::tsquery)`,
      );
    }
    // The listing's newest-first order (undated rows last), so the same walk serves label equality here.
    const sql = `SELECT m.* FROM ${this.t.manifests} m ${where.sql()} ORDER BY ${SORTS.newest.orderBy}`;
    const streams = Object.entries(query.labels ?? {}).map(([key, value]) => ({ key, values: [value] }));
    if (!parsed && streams.length)
      return (await this.walkLabels(where, streams, 'newest', undefined, limit)).map(toWorkflow);
    if (!parsed || isExactInIndex(parsed)) {
      const rows = await this.rows<ManifestRow>(`${sql} LIMIT ${where.param(limit)}`, where.params);
      return rows.map(toWorkflow);
    }
    // Phrases: the index names candidates, a segment confirmed by the matcher keeps the workflow.
    const found: CatalogWorkflow[] = [];
    for (let offset = 0; found.length < limit; offset += limit) {
      const rows = await this.rows<ManifestRow>(`${sql} LIMIT ${limit} OFFSET ${offset}`, where.params);
      for (const r of rows) if (found.length < limit && (await this.confirms(r.id, parsed))) found.push(toWorkflow(r));
      if (rows.length < limit) break;
    }
    return found;
  }

  private async confirms(manifestId: string, q: TextQuery): Promise<boolean> {
    const rows = await this.rows<{ body: string }>(
      `SELECT body FROM ${this.t.segments} WHERE manifest_id = $1 AND tokens @@ $2::tsquery ORDER BY id`,
      [manifestId, toTsQuery(q)],
    );
    return rows.some((r) => matchSegment(q, r.body) !== undefined);
  }

  async page(query: WorkflowPageQuery): Promise<WorkflowPage> {
    const where = new Where();
    pageFilters(where, query);
    const order = SORTS[query.sort];
    if (query.after !== undefined) {
      const { value, id } = query.after;
      if (query.sort === 'name') {
        const [ns, name] = splitNameKey(String(value));
        where.add(
          `(m.namespace COLLATE "C", m.name COLLATE "C", m.id) > (${where.param(ns)}, ${where.param(name)}, ${where.param(id)})`,
        );
      } else {
        const v = where.param(Number(value));
        const i = where.param(id);
        const key = 'coalesce(m.at_ms, -1)';
        where.add(
          order.descending ? `(${key} < ${v} OR (${key} = ${v} AND m.id > ${i}))` : `(${key}, m.id) > (${v}, ${i})`,
        );
      }
    }
    const limit = limitOf(query);
    const streams = labelStreams(query.labels);
    const rows =
      streams.length && query.sort !== 'name'
        ? await this.walkLabels(where, streams, query.sort, query.after, limit + 1)
        : await this.rows<ManifestRow>(
            `SELECT m.* FROM ${this.t.manifests} m ${where.sql()} ORDER BY ${order.orderBy} LIMIT ${where.param(limit + 1)}`,
            where.params,
          );
    const more = rows.length > limit;
    const shown = rows.slice(0, limit);
    const tail = shown.at(-1);
    return {
      items: shown.map(toWorkflow),
      ...(more && tail && { last: { value: order.key(tail), id: tail.id } satisfies PageKey }),
    };
  }

  /**
   * The first `wanted` rows with label requirements, in time order from `after` (inclusive), by walking the labels
   * table (pg-label-walk.ts); where the walk gives up, the rest comes from the GIN plan beyond the point it reached.
   */
  private async walkLabels(
    where: Where,
    streams: LabelStream[],
    sort: 'newest' | 'oldest',
    after: PageKey | undefined,
    wanted: number,
  ): Promise<ManifestRow[]> {
    const order = SORTS[sort];
    const descending = order.descending;
    const start = after !== undefined ? Number(after.value) : descending ? MAX_BIGINT : MIN_BIGINT;
    const walked = new Where(where);
    const sql = labelWalkSql({
      schema: this.schema,
      streams,
      descending,
      start: walked.param(start),
      wanted: walked.param(wanted),
      budget: walked.param(WALK_STEPS_PER_ROW * wanted + WALK_STEPS),
      where: where.clauses.join(' AND ') || 'true',
      orderBy: `ORDER BY ${order.orderBy}`,
      limit: walked.param(wanted),
      param: (v) => walked.param(v),
    });
    const result = await this.rows<ManifestRow & { walk_at: number | null; walk_hit: boolean; walk_done: boolean }>(
      sql,
      walked.params,
    );
    const found = result.filter((r) => r.id !== null);
    const end = result[0]!;
    if (end.walk_done || found.length >= wanted) return found;
    // Positions past walk_at (and walk_at itself unless it was a meeting point, whose rows are in `found`).
    const rest = new Where(where);
    const key = 'coalesce(m.at_ms, -1)';
    rest.add(`${key} ${descending ? '<' : '>'}${end.walk_hit ? '' : '='} ${rest.param(end.walk_at)}`);
    const more = await this.rows<ManifestRow>(
      `SELECT m.* FROM ${this.t.manifests} m ${rest.sql()} ORDER BY ${order.orderBy} LIMIT ${rest.param(wanted - found.length)}`,
      rest.params,
    );
    return [...found, ...more];
  }

  async namespaces(): Promise<string[]> {
    return (
      await this.rows<{ namespace: string }>(
        `SELECT namespace FROM ${this.t.manifests} GROUP BY namespace ORDER BY namespace COLLATE "C"`,
      )
    ).map((r) => r.namespace);
  }

  async searchText(text: string, query: Omit<WorkflowQuery, 'text'> = {}): Promise<TextHit[]> {
    const parsed = parseTextQuery(text);
    const limit = limitOf(query);
    const where = new Where();
    filters(where, query);
    const q = where.param(toTsQuery(parsed));
    where.add(`s.tokens @@ ${q}::tsquery`);
    const sql = `
      SELECT m.id AS manifest_id, m.uid, m.namespace, m.name, s.path, s.node_id, s.container, s.first_line, s.body
      FROM ${this.t.segments} s JOIN ${this.t.manifests} m ON m.id = s.manifest_id
      ${where.sql()} ORDER BY ts_rank(s.tokens, ${q}::tsquery) DESC, s.id`;
    const hits: TextHit[] = [];
    for (let offset = 0; hits.length < limit; offset += limit) {
      const rows = await this.rows<{
        manifest_id: string;
        uid: string;
        namespace: string;
        name: string;
        path: string;
        node_id: string | null;
        container: string | null;
        first_line: number;
        body: string;
      }>(`${sql} LIMIT ${limit} OFFSET ${offset}`, where.params);
      for (const r of rows) {
        const match = matchSegment(parsed, r.body);
        if (!match || hits.length >= limit) continue;
        hits.push(textHit(placeOfRow(r), match));
      }
      if (rows.length < limit) break;
    }
    return hits;
  }

  async get(ref: string): Promise<CatalogWorkflow[]> {
    const where = new Where();
    const r = where.param(ref);
    const alternatives = [`id = ${r}`, `uid = ${r}`, `name = ${r}`];
    const slash = ref.indexOf('/');
    if (slash > 0)
      alternatives.push(
        `(namespace = ${where.param(ref.slice(0, slash))} AND name = ${where.param(ref.slice(slash + 1))})`,
      );
    // Short manifest ids, as printed by `strata query`, are accepted when they are hex prefixes.
    if (/^[0-9a-f]{8,63}$/.test(ref)) alternatives.push(`left(id, ${ref.length}) = ${r}`);
    const rows = await this.rows<ManifestRow>(
      `SELECT * FROM ${this.t.manifests} WHERE ${alternatives.join(' OR ')} ORDER BY at_ms DESC NULLS LAST, id`,
      where.params,
    );
    return rows.map(toWorkflow);
  }

  async entries(manifestId: string): Promise<CatalogEntry[]> {
    const rows = await this.rows<{
      path: string;
      kind: string;
      node_id: string | null;
      container: string | null;
      artifact_name: string | null;
      size: number | null;
      sha256: string | null;
    }>(`SELECT * FROM ${this.t.entries} WHERE manifest_id = $1 ORDER BY path COLLATE "C"`, [manifestId]);
    return rows.map((r) => ({
      path: r.path,
      kind: r.kind,
      ...(r.node_id !== null && { nodeId: r.node_id }),
      ...(r.container !== null && { container: r.container }),
      ...(r.artifact_name !== null && { artifactName: r.artifact_name }),
      ...(r.size !== null && { size: r.size }),
      ...(r.sha256 !== null && { sha256: r.sha256 }),
    }));
  }

  async usage(namespaces: readonly string[]): Promise<UsageRow[]> {
    if (namespaces.length === 0) return [];
    const rows = await this.rows<{ namespace: string; grp: string | null; manifests: string; bytes: string }>(
      `SELECT namespace, grp, count(*) AS manifests, coalesce(sum(bytes), 0) AS bytes FROM ${this.t.manifests}
       WHERE namespace = ANY($1::text[]) GROUP BY namespace, grp
       ORDER BY namespace COLLATE "C", grp COLLATE "C" NULLS FIRST`,
      [namespaces],
    );
    return rows.map((r) => ({
      namespace: r.namespace,
      ...(r.grp !== null && { group: r.grp }),
      manifests: Number(r.manifests),
      bytes: Number(r.bytes),
    }));
  }

  async countByDay(query: DailyCountQuery): Promise<DailyCount[]> {
    const { from, to } = dailyRange(query);
    const where = new Where();
    if (from !== undefined) where.add(`day >= ${where.param(from)}`);
    if (to !== undefined) where.add(`day < ${where.param(to)}`);
    if (query.namespaces !== undefined) where.add(`namespace = ANY(${where.param(query.namespaces)}::text[])`);
    const rows = await this.rows<{ day: number; phase: string; n: number }>(
      `SELECT day, phase, sum(n)::bigint AS n FROM ${this.t.dailyCounts} ${where.sql()} GROUP BY day, phase`,
      where.params,
    );
    return rows.map((r) => ({ day: dayName(r.day), phase: r.phase, count: r.n })).sort(byDayThenPhase);
  }

  async stats(): Promise<CatalogStats> {
    const [totals] = await this.rows<{
      manifests: number;
      workflows: number;
      entries: number;
      bytes: number;
      incomplete: number;
    }>(
      `SELECT count(*)::int AS manifests, count(DISTINCT uid)::int AS workflows,
              coalesce(sum(entries), 0)::bigint AS entries, coalesce(sum(bytes), 0)::bigint AS bytes,
              count(*) FILTER (WHERE incomplete)::int AS incomplete
       FROM ${this.t.manifests}`,
    );
    const [segs] = await this.rows<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.t.segments}`);
    const [labels] = await this.rows<{ n: number }>(
      `SELECT count(DISTINCT k)::int AS n FROM ${this.t.manifests}, jsonb_object_keys(labels) AS k`,
    );
    const byPhase: Record<string, number> = {};
    for (const r of await this.rows<{ phase: string; n: number }>(
      `SELECT coalesce(phase, '(none)') AS phase, count(*)::int AS n FROM ${this.t.manifests} GROUP BY 1 ORDER BY 1`,
    ))
      byPhase[r.phase] = r.n;
    return { ...totals!, logSegments: segs!.n, labels: labels!.n, byPhase };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Positional parameters collected while building a WHERE clause. */
class Where {
  readonly clauses: string[];
  readonly params: unknown[];
  /** A copy of `from`: more clauses and parameters can be added without changing it. */
  constructor(from?: Where) {
    this.clauses = [...(from?.clauses ?? [])];
    this.params = [...(from?.params ?? [])];
  }
  param(v: unknown): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }
  add(clause: string): void {
    this.clauses.push(clause);
  }
  sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

function filters(w: Where, q: Omit<WorkflowQuery, 'text'>): void {
  if (q.labels && Object.keys(q.labels).length) w.add(`m.labels @> ${w.param(JSON.stringify(q.labels))}::jsonb`);
  if (q.namespace !== undefined) w.add(`m.namespace = ${w.param(q.namespace)}`);
  if (q.namespaces !== undefined) w.add(`m.namespace = ANY(${w.param(q.namespaces)}::text[])`);
  if (q.phase !== undefined) w.add(`lower(m.phase) = lower(${w.param(q.phase)})`);
  if (q.name !== undefined) w.add(`m.name = ${w.param(q.name)}`);
  if (q.incomplete !== undefined) w.add(`m.incomplete = ${w.param(q.incomplete)}`);
  if (q.since !== undefined) w.add(`m.at_ms >= ${w.param(q.since.getTime())}`);
  if (q.until !== undefined) w.add(`m.at_ms < ${w.param(q.until.getTime())}`);
}

function pageFilters(w: Where, q: WorkflowPageQuery): void {
  if (q.namespaces !== undefined) w.add(`m.namespace = ANY(${w.param(q.namespaces)}::text[])`);
  if (q.namePrefix !== undefined && q.namePrefix !== '')
    w.add(`left(m.name, ${w.param(q.namePrefix.length)}) = ${w.param(q.namePrefix)}`);
  if (q.phases !== undefined) w.add(`lower(m.phase) = ANY(${w.param(q.phases.map((p) => p.toLowerCase()))}::text[])`);
  for (const r of q.labels ?? []) labelClause(w, r);
  if (q.incomplete !== undefined) w.add(`m.incomplete = ${w.param(q.incomplete)}`);
  timeRange(w, 'm.started_ms', q.started);
  timeRange(w, 'm.finished_ms', q.finished);
  timeRange(w, 'm.archived_ms', q.archived);
}

function labelClause(w: Where, r: LabelRequirement): void {
  if (!('values' in r)) {
    w.add(`${r.op === 'absent' ? 'NOT ' : ''}(m.labels ? ${w.param(r.key)})`);
    return;
  }
  // Containment of any one of the values: each `@>` can use the GIN index. `notin` also matches rows without the key.
  const any = r.values.length
    ? r.values.map((v) => `m.labels @> ${w.param(JSON.stringify({ [r.key]: v }))}::jsonb`).join(' OR ')
    : 'false';
  w.add(r.op === 'notin' ? `NOT (${any})` : `(${any})`);
}

/** The requirements that name their values (`in`): each can be walked in time order (pg-label-walk.ts). */
function labelStreams(labels: readonly LabelRequirement[] | undefined): LabelStream[] {
  return (labels ?? []).flatMap((r) => (r.op === 'in' && r.values.length ? [{ key: r.key, values: r.values }] : []));
}

function timeRange(w: Where, column: string, range: TimeRange | undefined): void {
  if (range?.from !== undefined) w.add(`${column} >= ${w.param(range.from.getTime())}`);
  if (range?.to !== undefined) w.add(`${column} < ${w.param(range.to.getTime())}`);
}

const SORTS = {
  newest: {
    orderBy: 'coalesce(m.at_ms, -1) DESC, m.id',
    descending: true,
    key: (r: ManifestRow & { at_ms?: number | null }) => r.at_ms ?? -1,
  },
  oldest: {
    orderBy: 'coalesce(m.at_ms, -1), m.id',
    descending: false,
    key: (r: ManifestRow & { at_ms?: number | null }) => r.at_ms ?? -1,
  },
  name: {
    orderBy: 'm.namespace COLLATE "C", m.name COLLATE "C", m.id',
    descending: false,
    // The same key the SQLite backend hands out: a cursor means the same on every backend.
    key: (r: ManifestRow) => `${r.namespace}\u0000${r.name}`,
  },
} as const;

function splitNameKey(key: string): [string, string] {
  const at = key.indexOf('\u0000');
  return at < 0 ? [key, ''] : [key.slice(0, at), key.slice(at + 1)];
}

function toWorkflow(r: ManifestRow): CatalogWorkflow {
  return {
    manifestId: r.id,
    uid: r.uid,
    namespace: r.namespace,
    name: r.name,
    ...(r.phase !== null && { phase: r.phase }),
    ...(r.started_at !== null && { startedAt: r.started_at }),
    ...(r.finished_at !== null && { finishedAt: r.finished_at }),
    ...(r.archived_at !== null && { archivedAt: r.archived_at }),
    labels: sortedLabels(r.labels),
    ...(r.grp !== null && { group: r.grp }),
    incomplete: r.incomplete,
    entries: r.entries,
    bytes: r.bytes,
  };
}

/** Labels in key order, as every backend returns them (jsonb keeps its own order). */
function sortedLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function limitOf(q: { limit?: number }): number {
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new ConfigError(`limit must be a positive integer, got ${limit}`, { key: 'limit' });
  return limit;
}

function toMs(iso: string | undefined): number | null {
  if (iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** A segment's distinct tokens as lexemes (long ones cut, and matched as prefixes). */
function lexemes(text: string): string[] {
  const set = new Set<string>();
  for (const t of logTokens(text))
    set.add(t.token.length > MAX_LEXEME_CHARS ? t.token.slice(0, MAX_LEXEME_CHARS) : t.token);
  return [...set];
}

/** True when the tsquery is exactly the query (no phrase of several tokens, no cut token): no confirmation needed. */
function isExactInIndex(q: TextQuery): boolean {
  switch (q.kind) {
    case 'phrase':
      return q.tokens.length === 1 && q.tokens[0]!.length <= MAX_LEXEME_CHARS;
    case 'and':
    case 'or':
      return q.of.every(isExactInIndex);
    case 'not':
      return isExactInIndex(q.include) && isExactInIndex(q.exclude);
  }
}

/**
 * The query as a tsquery over the segments' token sets. It never misses a segment the query matches: a phrase
 * becomes all of its tokens, and an excluded phrase of several tokens excludes nothing (the matcher decides).
 */
function toTsQuery(q: TextQuery): string {
  const lexeme = (token: string, prefix: boolean) =>
    token.length > MAX_LEXEME_CHARS ? `'${token.slice(0, MAX_LEXEME_CHARS)}':*` : `'${token}'${prefix ? ':*' : ''}`;
  switch (q.kind) {
    case 'phrase':
      return `(${q.tokens.map((t, i) => lexeme(t, q.prefix && i === q.tokens.length - 1)).join(' & ')})`;
    case 'and':
    case 'or':
      return `(${q.of.map(toTsQuery).join(q.kind === 'and' ? ' & ' : ' | ')})`;
    case 'not':
      return isExactInIndex(q.exclude) ? `(${toTsQuery(q.include)} & !${toTsQuery(q.exclude)})` : toTsQuery(q.include);
  }
}
