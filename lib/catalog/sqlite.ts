// The SQLite catalog adapter (better-sqlite3, WAL, FTS5 over log segments); a schema change means a rebuild.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { compress, decompress } from 'zstd-napi';
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
  type TextSearchOptions,
  type TimeRange,
  type UpsertOutcome,
  type WorkflowPage,
  type WorkflowPageQuery,
  type WorkflowQuery,
} from './catalog.ts';
import { searchableText, visibleText } from './log-text.ts';
import { readAhead } from './read-ahead.ts';
import { matchSegment, placeOfRow, textHit } from './text-hit.ts';
import { isSingleTokens, parseTextQuery, toFts5, toFts5Candidates, type TextQuery } from './text-query.ts';

/** Bump on any schema change: an older file is then wiped and rebuilt from the store. */
export const CATALOG_SCHEMA_VERSION = 7;

const DEFAULT_LIMIT = 100;

// SQL function that decompresses a segment body (registered on every connection; FTS5 reads text through it).
const INFLATE = 'strata_inflate';
// The same, as the full-text index sees it (see searchableText).
const INDEXED_TEXT = 'strata_indexed_text';
const SEGMENT_ZSTD_LEVEL = 3;

/** The UTC day number of an epoch-ms column (floored, so that times before 1970 fall on their own day). */
const dayExpr = (ms: string) => `((${ms} - ((${ms} % ${DAY_MS}) + ${DAY_MS}) % ${DAY_MS}) / ${DAY_MS})`;

const SCHEMA = `
CREATE TABLE manifests (
  id TEXT PRIMARY KEY,
  uid TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  phase TEXT,
  started_at TEXT,
  finished_at TEXT,
  archived_at TEXT,
  at_ms INTEGER,
  -- The three times as epoch milliseconds, so that a time range is an index range (NULL when absent or unparsable).
  started_ms INTEGER,
  finished_ms INTEGER,
  archived_ms INTEGER,
  grp TEXT,
  incomplete INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE INDEX manifests_uid ON manifests(uid);
CREATE INDEX manifests_name ON manifests(name, namespace);
CREATE INDEX manifests_at ON manifests(at_ms);
-- The listing's default order (SORTS.newest), walked in order so that a page stops after its rows.
CREATE INDEX manifests_newest ON manifests(coalesce(at_ms, -1) DESC, id);
CREATE INDEX manifests_started ON manifests(started_ms);
CREATE INDEX manifests_finished ON manifests(finished_ms);
CREATE INDEX manifests_archived ON manifests(archived_ms);
CREATE TABLE labels (
  manifest_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  -- The manifest's listing time (coalesce(at_ms, -1)), so that one label value's rows are walked newest first.
  at INTEGER NOT NULL,
  PRIMARY KEY (manifest_id, key)
) WITHOUT ROWID;
CREATE INDEX labels_kv ON labels(key, value, at DESC, manifest_id);
-- Workflows per UTC day, phase and namespace (countByDay), kept by the triggers below in the transaction that writes
-- or removes the manifest row, whoever writes it: the counts cannot drift from the rows.
CREATE TABLE daily_counts (
  day INTEGER NOT NULL,
  phase TEXT NOT NULL,
  namespace TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (day, phase, namespace)
) WITHOUT ROWID;
CREATE TRIGGER daily_counts_add AFTER INSERT ON manifests WHEN new.at_ms IS NOT NULL BEGIN
  INSERT INTO daily_counts (day, phase, namespace, n)
    VALUES (${dayExpr('new.at_ms')}, coalesce(new.phase, '${NO_PHASE}'), new.namespace, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER daily_counts_drop AFTER DELETE ON manifests WHEN old.at_ms IS NOT NULL BEGIN
  UPDATE daily_counts SET n = n - 1
    WHERE day = ${dayExpr('old.at_ms')} AND phase = coalesce(old.phase, '${NO_PHASE}') AND namespace = old.namespace;
  DELETE FROM daily_counts
    WHERE day = ${dayExpr('old.at_ms')} AND phase = coalesce(old.phase, '${NO_PHASE}') AND namespace = old.namespace
      AND n <= 0;
END;
-- Rows are replaced rather than updated; an update moves the row's count (and its labels' time) all the same.
CREATE TRIGGER labels_at_move AFTER UPDATE OF at_ms ON manifests BEGIN
  UPDATE labels SET at = coalesce(new.at_ms, -1) WHERE manifest_id = new.id;
END;
CREATE TRIGGER daily_counts_move AFTER UPDATE OF at_ms, phase, namespace ON manifests BEGIN
  UPDATE daily_counts SET n = n - 1
    WHERE old.at_ms IS NOT NULL AND day = ${dayExpr('old.at_ms')} AND phase = coalesce(old.phase, '${NO_PHASE}')
      AND namespace = old.namespace;
  DELETE FROM daily_counts
    WHERE old.at_ms IS NOT NULL AND day = ${dayExpr('old.at_ms')} AND phase = coalesce(old.phase, '${NO_PHASE}')
      AND namespace = old.namespace AND n <= 0;
  INSERT INTO daily_counts (day, phase, namespace, n)
    SELECT ${dayExpr('new.at_ms')}, coalesce(new.phase, '${NO_PHASE}'), new.namespace, 1 WHERE new.at_ms IS NOT NULL
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TABLE entries (
  manifest_id TEXT NOT NULL,
  path TEXT NOT NULL,
  kind TEXT NOT NULL,
  node_id TEXT,
  container TEXT,
  artifact_name TEXT,
  size INTEGER,
  sha256 TEXT,
  PRIMARY KEY (manifest_id, path)
) WITHOUT ROWID;
CREATE INDEX entries_node ON entries(node_id);
CREATE TABLE segments (
  id INTEGER PRIMARY KEY,
  manifest_id TEXT NOT NULL,
  path TEXT NOT NULL,
  node_id TEXT,
  container TEXT,
  first_line INTEGER NOT NULL,
  -- zstd-compressed segment text: the full-text index keeps no second plain copy of every log. NULL in a compact
  -- catalog, which reads the text from the archive instead.
  body BLOB
);
CREATE INDEX segments_manifest ON segments(manifest_id);
CREATE VIEW segment_text AS SELECT id, ${INFLATE}(body) AS text FROM segments;
`;

/** The full-text table: over the stored segment text (positions: exact phrases), or compact (rowids only). */
const FTS = {
  stored: `CREATE VIRTUAL TABLE log_fts USING fts5(text, content = 'segment_text', content_rowid = 'id');`,
  // Which segments hold each token, nothing more: phrases and snippets come from the archive's text.
  archive: `CREATE VIRTUAL TABLE log_fts USING fts5(text, content = '', detail = none, contentless_delete = 1);`,
} as const;

/** Log segments read ahead of the inserts per manifest (~64 KiB each), and the manifest after the current one. */
const SEGMENTS_AHEAD = 16;

/**
 * The batch with the next manifest and the next segments already being read (from the archive, or files) while the
 * current ones are inserted: SQLite's inserts block the thread, and without this every read began only after them.
 */
function readAheadOfIndexing(batch: AsyncIterable<ManifestUpsert>): AsyncIterable<ManifestUpsert> {
  const eager = async function* () {
    for await (const m of batch) yield { ...m, segments: readAhead(m.segments, SEGMENTS_AHEAD) };
  };
  return readAhead(eager(), 1, (m) => (m.segments as AsyncIterableIterator<LogSegment>).return?.());
}

/** Text held back from the full-text index at most (a batch's, and a single manifest's), in UTF-16 code units. */
const PENDING_TEXT_CHARS = 16 * 1024 * 1024;

type PendingRow = [rowid: number | bigint, text: string];

/**
 * Segment text on its way into the full-text index, written after the manifest's savepoint, at most a few times a
 * batch. FTS5 writes its pending terms out as a new index segment at every savepoint it takes part in (each
 * manifest's, and each statement with a statement journal, such as an insert firing the counter triggers): written
 * inside them, a batch made about one small index segment per manifest, to be merged later.
 */
class PendingText {
  private rows: PendingRow[] = [];
  chars = 0;

  push(rowid: number | bigint, text: string): void {
    this.rows.push([rowid, text]);
    this.chars += text.length;
  }

  add(other: PendingText): void {
    for (const row of other.take()) this.push(...row);
  }

  take(): PendingRow[] {
    const rows = this.rows;
    this.rows = [];
    this.chars = 0;
    return rows;
  }
}

/** Reads one segment's text back from the archive (what a compact catalog keeps no copy of). */
export type SegmentReader = (segment: { manifestId: string; path: string; firstLine: number }) => Promise<string>;

interface SegmentRow {
  manifest_id: string;
  uid: string;
  namespace: string;
  name: string;
  path: string;
  node_id: string | null;
  container: string | null;
  first_line: number;
  body: Buffer | null;
}

type CandidateRow = SegmentRow & { id: number };

const inLogOrder = (a: SegmentRow, b: SegmentRow) =>
  a.manifest_id < b.manifest_id
    ? -1
    : a.manifest_id > b.manifest_id
      ? 1
      : a.path < b.path
        ? -1
        : a.path > b.path
          ? 1
          : a.first_line - b.first_line;

/** Candidate rows each walk of a labelled page reads in its first round (see walkPage). */
const FIRST_WALK_BUDGET = 256;

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
  incomplete: number;
  entries: number;
  bytes: number;
}

type PageRow = ManifestRow & { sort_key: number | string };

export interface OpenCatalogResult {
  catalog: Catalog;
  /** The file was new, or held an older schema or the other layout and was wiped: everything must be (re)indexed. */
  fresh: boolean;
  /**
   * Present while a rebuild from the store has not completed: the file held rows of an older schema or the other
   * text layout, which were dropped, or was reset, and no full pass over the store has finished since.
   */
  rebuild?: PendingRebuild;
}

export interface OpenCatalogOptions {
  /** Wipe the catalog first (`strata index --rebuild`). */
  reset?: boolean;
  /**
   * A compact catalog: no copy of the log text, an index of which segments hold each token (FTS5 detail=none), and
   * phrases, lines and snippets confirmed from the archive through this reader. A catalog built the other way is
   * wiped and marked for a rebuild from the store (OpenCatalogResult.rebuild).
   */
  textFrom?: SegmentReader;
}

/** Opens (creating or migrating-by-wiping) the catalog at `path`; `:memory:` works for tests. */
export function openSqliteCatalog(path: string, opts: OpenCatalogOptions = {}): OpenCatalogResult {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 30000');
    // Removed rows (expiry, emergency deletion) are overwritten with zeros, not left in free pages.
    db.pragma('secure_delete = ON');
    registerFunctions(db);
  } catch (err) {
    throw new StrataError(
      `cannot open catalog: ${(err as Error).message} (it is derived data: delete it and run \`strata index\`)`,
      { file: path },
      { cause: err },
    );
  }
  if (opts.reset) db.pragma('user_version = 0');
  const { fresh, rebuilding } = ensureSchema(db, opts.textFrom ? 'archive' : 'stored', Boolean(opts.reset));
  // FTS5 keeps deleted tokens in its index until merged unless told to remove them at once (SQLite 3.42+).
  db.prepare("INSERT INTO log_fts (log_fts, rank) VALUES ('secure-delete', 1)").run();
  const rebuild: PendingRebuild = {
    async done() {
      db.exec(`DROP TABLE IF EXISTS ${REBUILDING}`);
    },
  };
  return { catalog: new SqliteCatalog(db, opts.textFrom), fresh, ...(rebuilding && { rebuild }) };
}

/** A table that exists while a rebuild from the store has not completed (absent in files from before it existed). */
const REBUILDING = 'rebuilding';

/** The SQL functions the schema's view and the full-text index read segment text through. */
function registerFunctions(db: Database.Database): void {
  db.function(INFLATE, { deterministic: true }, (body: unknown) => decompress(body as Buffer).toString('utf8'));
  db.function(INDEXED_TEXT, { deterministic: true }, (body: unknown) =>
    searchableText(decompress(body as Buffer).toString('utf8')),
  );
}

/** A catalog file's full-text search over a read-only connection of its own (a search thread's). */
export interface SqliteTextSearcher {
  /** As Catalog.searchText; `check` runs between steps of the walk and throws to stop it. */
  searchText(text: string, query: Omit<WorkflowQuery, 'text'>, check: () => void): Promise<TextHit[]>;
  close(): void;
}

/**
 * Opens the catalog at `path` read-only for full-text searches beside the connection that writes it (WAL: readers
 * see each commit, and neither waits for the other). The file must already be in the layout `textFrom` says (the
 * read-write open migrates it); nothing is ever written through this connection.
 */
export function openSqliteTextSearcher(path: string, opts: { textFrom?: SegmentReader } = {}): SqliteTextSearcher {
  const mode = opts.textFrom ? 'archive' : 'stored';
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 30000');
    registerFunctions(db);
    const version = db.pragma('user_version', { simple: true }) as number;
    const kind = db.pragma('application_id', { simple: true }) as number;
    if (version !== CATALOG_SCHEMA_VERSION || kind !== TEXT_MODES[mode])
      throw new Error(
        `it is not a ${mode === 'archive' ? 'compact' : 'stored'} catalog of schema ${CATALOG_SCHEMA_VERSION}`,
      );
  } catch (err) {
    db?.close();
    throw new StrataError(
      `cannot open catalog for searching: ${(err as Error).message}`,
      { file: path },
      { cause: err },
    );
  }
  const catalog = new SqliteCatalog(db, opts.textFrom);
  return { searchText: (text, query, check) => catalog.searchSegments(text, query, check), close: () => db.close() };
}

// application_id says which kind of full-text table the file holds.
const TEXT_MODES = { stored: 0, archive: 1 } as const;

function ensureSchema(
  db: Database.Database,
  mode: keyof typeof FTS,
  reset: boolean,
): { fresh: boolean; rebuilding: boolean } {
  const version = db.pragma('user_version', { simple: true }) as number;
  const kind = db.pragma('application_id', { simple: true }) as number;
  if (version === CATALOG_SCHEMA_VERSION && kind === TEXT_MODES[mode]) {
    const rebuilding = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(REBUILDING);
    return { fresh: Boolean(rebuilding), rebuilding: Boolean(rebuilding) };
  }
  const objects = db
    .prepare(`SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'`)
    .all() as { type: 'table' | 'view'; name: string }[];
  // Rows were dropped (or a reset asked for): a rebuild is due until a full pass over the store completes.
  const rebuilding = reset || objects.some((o) => o.name === 'manifests');
  db.transaction(() => {
    // FTS5 shadow tables go with their virtual table: drop the virtual table first, then views, then tables.
    db.exec('DROP TABLE IF EXISTS log_fts');
    for (const o of objects.filter((o) => o.type === 'view'))
      db.exec(`DROP VIEW IF EXISTS "${o.name.replaceAll('"', '""')}"`);
    for (const o of objects.filter((o) => o.type === 'table'))
      db.exec(`DROP TABLE IF EXISTS "${o.name.replaceAll('"', '""')}"`);
    db.exec(SCHEMA);
    db.exec(FTS[mode]);
    if (rebuilding) db.exec(`CREATE TABLE ${REBUILDING} (since TEXT NOT NULL)`);
    if (rebuilding) db.prepare(`INSERT INTO ${REBUILDING} VALUES (?)`).run(new Date().toISOString());
    db.pragma(`user_version = ${CATALOG_SCHEMA_VERSION}`);
    db.pragma(`application_id = ${TEXT_MODES[mode]}`);
  })();
  return { fresh: true, rebuilding };
}

class SqliteCatalog implements Catalog {
  // better-sqlite3 is synchronous but segments stream in asynchronously: one manifest transaction at a time.
  private queue: Promise<void> = Promise.resolve();
  // Compiled once per SQL text: indexing a manifest runs a dozen statements, and compiling them each time was most
  // of the cost of a small manifest.
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    /** Set for a compact catalog (see OpenCatalogOptions.textFrom). */
    private readonly textFrom?: SegmentReader,
  ) {}

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      // Filters shape the text (one placeholder per listed value): keep the cache bounded all the same.
      if (this.statements.size >= 500) this.statements.clear();
      this.statements.set(text, (statement = this.db.prepare(text)));
    }
    return statement;
  }

  async manifestIds(): Promise<Set<string>> {
    const rows = this.sql('SELECT id FROM manifests').pluck().all() as string[];
    return new Set(rows);
  }

  upsertManifest(workflow: CatalogWorkflow, entries: CatalogEntry[], segments: AsyncIterable<LogSegment>) {
    return upsertOne(this, { workflow, entries, segments });
  }

  upsertManifests(batch: AsyncIterable<ManifestUpsert>): Promise<UpsertOutcome[]> {
    const run = this.queue.then(() => this.indexBatch(batch));
    this.queue = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /**
   * One transaction for the batch, a savepoint per manifest: a manifest that fails is rolled back alone. Its text goes
   * into the full-text index after its savepoint (see PendingText); the next manifest and its logs are read ahead.
   */
  private async indexBatch(batch: AsyncIterable<ManifestUpsert>): Promise<UpsertOutcome[]> {
    const db = this.db;
    const outcomes: UpsertOutcome[] = [];
    const pending = new PendingText();
    db.exec('BEGIN IMMEDIATE');
    try {
      for await (const { workflow, entries, segments } of readAheadOfIndexing(batch)) {
        // Re-indexing: its old rows leave the index inside the savepoint, so everything before must be in it.
        if (this.sql('SELECT 1 FROM segments WHERE manifest_id = ? LIMIT 1').get(workflow.manifestId))
          this.writeText(pending.take());
        db.exec('SAVEPOINT manifest');
        const own = new PendingText();
        try {
          await this.indexManifest(workflow, entries, segments, own);
          db.exec('RELEASE manifest');
          pending.add(own);
          outcomes.push({ manifestId: workflow.manifestId });
        } catch (error) {
          db.exec('ROLLBACK TO manifest');
          db.exec('RELEASE manifest');
          outcomes.push({ manifestId: workflow.manifestId, error });
        }
        if (pending.chars >= PENDING_TEXT_CHARS) this.writeText(pending.take());
      }
      this.writeText(pending.take());
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
    return outcomes;
  }

  /** Writes one manifest's rows inside the caller's transaction; its full text is left in `text` for the caller. */
  private async indexManifest(
    w: CatalogWorkflow,
    entries: CatalogEntry[],
    segments: AsyncIterable<LogSegment>,
    text: PendingText,
  ): Promise<void> {
    const insertSegment = this.sql(
      'INSERT INTO segments (manifest_id, path, node_id, container, first_line, body) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.deleteRows(w.manifestId);
    this.sql(MANIFEST_INSERT).run(...manifestRow(w));
    const insertLabel = this.sql(LABEL_INSERT);
    for (const row of labelRows(w)) insertLabel.run(...row);
    const insertEntry = this.sql(ENTRY_INSERT);
    for (const e of entries) insertEntry.run(...entryRow(w.manifestId, e));
    for await (const s of segments) {
      // A compact catalog keeps no text, and its index sees control characters and their pictures alike (separators).
      const shown = this.textFrom ? s.text : visibleText(s.text);
      const { lastInsertRowid } = insertSegment.run(
        w.manifestId,
        s.path,
        s.nodeId ?? null,
        s.container ?? null,
        s.firstLine,
        this.textFrom ? null : compress(Buffer.from(shown), { compressionLevel: SEGMENT_ZSTD_LEVEL }),
      );
      text.push(lastInsertRowid, searchableText(shown));
      // A manifest with more text than is worth holding: the rest goes in now, inside its savepoint.
      if (text.chars >= PENDING_TEXT_CHARS) this.writeText(text.take());
    }
  }

  /** Adds segments' text to the full-text index. */
  private writeText(rows: PendingRow[]): void {
    const insertText = this.sql('INSERT INTO log_fts (rowid, text) VALUES (?, ?)');
    for (const [rowid, text] of rows) insertText.run(rowid, text);
  }

  private deleteRows(manifestId: string): void {
    if (this.textFrom)
      this.sql('DELETE FROM log_fts WHERE rowid IN (SELECT id FROM segments WHERE manifest_id = ?)').run(manifestId);
    // An external-content FTS5 index forgets a row only when told its old text.
    else
      this.sql(
        `INSERT INTO log_fts (log_fts, rowid, text) SELECT 'delete', id, ${INDEXED_TEXT}(body) FROM segments WHERE manifest_id = ?`,
      ).run(manifestId);
    for (const table of ['segments', 'entries', 'labels'])
      this.sql(`DELETE FROM ${table} WHERE manifest_id = ?`).run(manifestId);
    this.sql('DELETE FROM manifests WHERE id = ?').run(manifestId);
  }

  async remove(manifestId: string): Promise<void> {
    this.db.transaction(() => this.deleteRows(manifestId))();
  }

  async search(query: WorkflowQuery): Promise<CatalogWorkflow[]> {
    const where = filters(query);
    const parsed = query.text !== undefined ? parseTextQuery(query.text) : undefined;
    if (parsed) {
      where.clauses.push(
        'm.id IN (SELECT s.manifest_id FROM log_fts JOIN segments s ON s.id = log_fts.rowid WHERE log_fts MATCH ?)',
      );
      where.params.push(this.matchString(parsed));
    }
    const limit = limitOf(query);
    const sql = `SELECT m.* FROM manifests m ${whereSql(where.clauses)} ORDER BY m.at_ms DESC, m.id LIMIT ? OFFSET ?`;
    const statement = this.sql(sql);
    if (!parsed || !this.textFrom || isSingleTokens(parsed))
      return (statement.all(...where.params, limit, 0) as ManifestRow[]).map((r) => this.toWorkflow(r));
    // A compact index only narrows phrases: a workflow stays when one of its candidate segments really matches.
    const found: CatalogWorkflow[] = [];
    const candidates = this.sql(
      'SELECT s.id, s.manifest_id, s.path, s.first_line FROM log_fts JOIN segments s ON s.id = log_fts.rowid WHERE log_fts MATCH ? AND s.manifest_id = ? ORDER BY s.id',
    );
    for (let offset = 0; found.length < limit; offset += limit) {
      const rows = statement.all(...where.params, limit, offset) as ManifestRow[];
      for (const r of rows) {
        if (found.length >= limit) break;
        for (const s of candidates.all(this.matchString(parsed), r.id) as SegmentRow[]) {
          if (matchSegment(parsed, await this.segmentText(s))) {
            found.push(this.toWorkflow(r));
            break;
          }
        }
      }
      if (rows.length < limit) break;
    }
    return found;
  }

  /** The query as this catalog's FTS5 table takes it: exact with positions, a superset without. */
  private matchString(q: TextQuery): string {
    return this.textFrom ? toFts5Candidates(q) : toFts5(q);
  }

  private async segmentText(s: { manifest_id: string; path: string; first_line: number; body?: Buffer | null }) {
    if (s.body) return decompress(s.body).toString('utf8');
    if (!this.textFrom) throw new StrataError('catalog segment has no stored text and no archive to read it from');
    return visibleText(await this.textFrom({ manifestId: s.manifest_id, path: s.path, firstLine: s.first_line }));
  }

  async page(query: WorkflowPageQuery): Promise<WorkflowPage> {
    const limit = limitOf(query);
    const walks = pageWalks(query);
    const rows = walks.length ? this.walkPage(query, walks, limit + 1) : this.plainPage(query, limit + 1);
    // One row more than asked says whether another page exists without counting (a count is what makes big lists slow).
    const more = rows.length > limit;
    const shown = rows.slice(0, limit);
    const tail = shown.at(-1);
    return {
      items: shown.map((r) => this.toWorkflow(r)),
      ...(more && tail && { last: { value: tail.sort_key, id: tail.id } satisfies PageKey }),
    };
  }

  private plainPage(query: WorkflowPageQuery, rows: number): PageRow[] {
    const where = pageFilters(query);
    const order = SORTS[query.sort];
    if (query.after !== undefined) {
      const { value, id } = query.after;
      where.clauses.push(
        order.descending
          ? `(${order.key} < ? OR (${order.key} = ? AND m.id > ?))`
          : `(${order.key} > ? OR (${order.key} = ? AND m.id > ?))`,
      );
      where.params.push(value, value, id);
    }
    const sql = `SELECT m.*, ${order.key} AS sort_key FROM manifests m ${whereSql(where.clauses)}
      ORDER BY ${order.key} ${order.descending ? 'DESC' : 'ASC'}, m.id LIMIT ?`;
    return this.sql(sql).all(...where.params, rows) as PageRow[];
  }

  /**
   * A newest-first page with label requirements. Walking the newest-first index and checking labels row by row reads
   * most of the table when the combination is rare or is only found in old rows (a tier label is a function of age),
   * so the page walks candidate rows instead: those of one label value. Which walk is short depends on how the labels
   * correlate with time, which no planner statistics tell, so each walk gets the same budget of rows, the most
   * promising first, the budget growing (fourfold, or to what the best walk's rate of matches says it needs) until a
   * walk fills the page or runs out of rows: the work is a small multiple of the best walk's.
   */
  private walkPage(query: WorkflowPageQuery, walks: Walk[], rows: number): PageRow[] {
    const found = new Map<Walk, number>();
    for (let budget = Math.max(FIRST_WALK_BUDGET, 4 * rows); ; budget = nextBudget(budget, rows, found)) {
      for (const walk of [...walks].sort((a, b) => (found.get(b) ?? 0) - (found.get(a) ?? 0))) {
        const where = rowFilters(query);
        for (const r of query.labels ?? [])
          if (r !== walk.requirement) walkedLabelClause(where.clauses, where.params, r);
        const page = this.sql(
          `SELECT m.*, d.at AS sort_key FROM (${walk.sql}) d JOIN manifests m ON m.id = d.manifest_id
           ${whereSql(where.clauses)} ORDER BY d.at DESC, d.manifest_id LIMIT ?`,
        ).all(...walk.params(budget), ...where.params, rows) as PageRow[];
        if (page.length >= rows) return page;
        const walked = this.sql(`SELECT count(*) FROM (${walk.sql})`)
          .pluck()
          .get(...walk.params(budget)) as number;
        // The walk saw every candidate: its matches are all there are.
        if (walked < budget) return page;
        found.set(walk, page.length);
      }
    }
  }

  async namespaces(): Promise<string[]> {
    // Every manifest with a workflow time has its day's counter row (kept by the triggers in the same transaction):
    // thousands of rows where the manifests are a million, and every list or search without a namespace asks this.
    return this.sql(
      'SELECT namespace FROM daily_counts UNION SELECT namespace FROM manifests WHERE at_ms IS NULL ORDER BY 1',
    )
      .pluck()
      .all() as string[];
  }

  searchText(text: string, query: Omit<WorkflowQuery, 'text'> = {}, options: TextSearchOptions = {}) {
    return this.searchSegments(text, query, () => options.signal?.throwIfAborted());
  }

  /**
   * Full-text hits, newest first. FTS5 walks a token's segments backwards by rowid without sorting them, and segments
   * are numbered as they are indexed, so the walk ends with the page: ranking (bm25) scored every segment of a common
   * word before the first hit, most of an unrestricted search's time. Candidates come a page at a time (keyset on the
   * rowid); only they are read and confirmed by the matcher, and `check` runs between pages and reads.
   */
  async searchSegments(text: string, query: Omit<WorkflowQuery, 'text'>, check: () => void): Promise<TextHit[]> {
    const parsed = parseTextQuery(text);
    const limit = limitOf(query);
    const where = filters(query);
    const statement = this.sql(`
      SELECT s.id, m.id AS manifest_id, m.uid, m.namespace, m.name, s.path, s.node_id, s.container, s.first_line, s.body
      FROM log_fts JOIN segments s ON s.id = log_fts.rowid JOIN manifests m ON m.id = s.manifest_id
      ${whereSql(['log_fts MATCH ?', 'log_fts.rowid < ?', ...where.clauses])} ORDER BY log_fts.rowid DESC LIMIT ?`);
    const match = this.matchString(parsed);
    const hits: TextHit[] = [];
    for (let before = Number.MAX_SAFE_INTEGER; ;) {
      check();
      const want = limit - hits.length;
      const rows = statement.all(match, before, ...where.params, want) as CandidateRow[];
      const texts = await this.candidateTexts(rows, check);
      for (const r of rows) {
        const found = matchSegment(parsed, texts.get(r.id)!);
        if (found) hits.push(textHit(placeOfRow(r), found));
      }
      if (hits.length >= limit || rows.length < want) return hits;
      before = rows.at(-1)!.id;
    }
  }

  /** Each candidate's text; from the archive in log order, so a page streams each log forward once. */
  private async candidateTexts(rows: CandidateRow[], check: () => void): Promise<Map<number, string>> {
    const texts = new Map<number, string>();
    const order = this.textFrom ? [...rows].sort(inLogOrder) : rows;
    for (const r of order) {
      check();
      texts.set(r.id, await this.segmentText(r));
    }
    return texts;
  }

  async get(ref: string): Promise<CatalogWorkflow[]> {
    const slash = ref.indexOf('/');
    const params: string[] = [ref, ref, ref];
    let sql = 'SELECT * FROM manifests WHERE id = ? OR uid = ? OR name = ?';
    if (slash > 0) {
      sql += ' OR (namespace = ? AND name = ?)';
      params.push(ref.slice(0, slash), ref.slice(slash + 1));
    }
    // Short manifest ids, as printed by `strata query`, are accepted when they are unambiguous hex prefixes.
    if (/^[0-9a-f]{8,63}$/.test(ref)) {
      sql += ' OR substr(id, 1, ?) = ?';
      params.push(String(ref.length), ref);
    }
    const rows = this.sql(`${sql} ORDER BY at_ms DESC, id`).all(...params) as ManifestRow[];
    return rows.map((r) => this.toWorkflow(r));
  }

  async entries(manifestId: string): Promise<CatalogEntry[]> {
    const rows = this.sql('SELECT * FROM entries WHERE manifest_id = ? ORDER BY path').all(manifestId) as {
      path: string;
      kind: string;
      node_id: string | null;
      container: string | null;
      artifact_name: string | null;
      size: number | null;
      sha256: string | null;
    }[];
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

  async stats(): Promise<CatalogStats> {
    const db = this.db;
    const totals = db
      .prepare(
        `SELECT count(*) AS manifests, count(DISTINCT uid) AS workflows, coalesce(sum(entries), 0) AS entries,
                coalesce(sum(bytes), 0) AS bytes, coalesce(sum(incomplete), 0) AS incomplete FROM manifests`,
      )
      .get() as { manifests: number; workflows: number; entries: number; bytes: number; incomplete: number };
    const logSegments = this.sql('SELECT count(*) FROM segments').pluck().get() as number;
    const labels = this.sql('SELECT count(DISTINCT key) FROM labels').pluck().get() as number;
    const byPhase: Record<string, number> = {};
    for (const r of db
      .prepare(`SELECT coalesce(phase, '(none)') AS phase, count(*) AS n FROM manifests GROUP BY 1 ORDER BY 1`)
      .all() as {
      phase: string;
      n: number;
    }[])
      byPhase[r.phase] = r.n;
    return { ...totals, logSegments, labels, byPhase };
  }

  async usage(namespaces: readonly string[]): Promise<UsageRow[]> {
    if (namespaces.length === 0) return [];
    const rows = this.db
      .prepare(
        `SELECT namespace, grp, count(*) AS manifests, coalesce(sum(bytes), 0) AS bytes FROM manifests
         WHERE namespace IN (SELECT value FROM json_each(?)) GROUP BY namespace, grp ORDER BY namespace, grp`,
      )
      .all(JSON.stringify(namespaces)) as Array<{
      namespace: string;
      grp: string | null;
      manifests: number;
      bytes: number;
    }>;
    return rows.map((r) => ({
      namespace: r.namespace,
      ...(r.grp !== null && { group: r.grp }),
      manifests: r.manifests,
      bytes: r.bytes,
    }));
  }

  async countByDay(query: DailyCountQuery): Promise<DailyCount[]> {
    const { from, to } = dailyRange(query);
    const where: Where = { clauses: [], params: [] };
    if (from !== undefined) {
      where.clauses.push('day >= ?');
      where.params.push(from);
    }
    if (to !== undefined) {
      where.clauses.push('day < ?');
      where.params.push(to);
    }
    if (query.namespaces !== undefined) inList(where.clauses, where.params, 'namespace', query.namespaces);
    const rows = this.sql(
      `SELECT day, phase, sum(n) AS n FROM daily_counts ${whereSql(where.clauses)} GROUP BY day, phase`,
    ).all(...where.params) as { day: number; phase: string; n: number }[];
    return rows.map((r) => ({ day: dayName(r.day), phase: r.phase, count: r.n })).sort(byDayThenPhase);
  }

  async close(): Promise<void> {
    await this.queue;
    this.db.close();
  }

  private toWorkflow(r: ManifestRow): CatalogWorkflow {
    const labels: Record<string, string> = {};
    for (const l of this.sql('SELECT key, value FROM labels WHERE manifest_id = ? ORDER BY key').all(r.id) as {
      key: string;
      value: string;
    }[])
      labels[l.key] = l.value;
    return {
      manifestId: r.id,
      uid: r.uid,
      namespace: r.namespace,
      name: r.name,
      ...(r.phase !== null && { phase: r.phase }),
      ...(r.started_at !== null && { startedAt: r.started_at }),
      ...(r.finished_at !== null && { finishedAt: r.finished_at }),
      ...(r.archived_at !== null && { archivedAt: r.archived_at }),
      labels,
      ...(r.grp !== null && { group: r.grp }),
      incomplete: r.incomplete === 1,
      entries: r.entries,
      bytes: r.bytes,
    };
  }
}

interface Where {
  clauses: string[];
  params: unknown[];
}

function filters(q: Omit<WorkflowQuery, 'text'>): Where {
  const clauses: string[] = [];
  const params: unknown[] = [];
  for (const [k, v] of Object.entries(q.labels ?? {})) {
    clauses.push('EXISTS (SELECT 1 FROM labels l WHERE l.manifest_id = m.id AND l.key = ? AND l.value = ?)');
    params.push(k, v);
  }
  if (q.namespace !== undefined) {
    clauses.push('m.namespace = ?');
    params.push(q.namespace);
  }
  if (q.namespaces !== undefined) inList(clauses, params, 'm.namespace', q.namespaces);
  if (q.phase !== undefined) {
    clauses.push('m.phase = ? COLLATE NOCASE');
    params.push(q.phase);
  }
  if (q.name !== undefined) {
    clauses.push('m.name = ?');
    params.push(q.name);
  }
  if (q.incomplete !== undefined) {
    clauses.push('m.incomplete = ?');
    params.push(q.incomplete ? 1 : 0);
  }
  if (q.since !== undefined) {
    clauses.push('m.at_ms >= ?');
    params.push(q.since.getTime());
  }
  if (q.until !== undefined) {
    clauses.push('m.at_ms < ?');
    params.push(q.until.getTime());
  }
  return { clauses, params };
}

/** The listing's sort orders: the key expression (never NULL, so keyset comparisons hold) and its direction. */
const SORTS = {
  newest: { key: 'coalesce(m.at_ms, -1)', descending: true },
  oldest: { key: 'coalesce(m.at_ms, -1)', descending: false },
  name: { key: '(m.namespace || char(0) || m.name)', descending: false },
} as const;

function inList(clauses: string[], params: unknown[], column: string, values: readonly unknown[]): void {
  if (values.length === 0) {
    clauses.push('0');
    return;
  }
  clauses.push(`${column} IN (${values.map(() => '?').join(', ')})`);
  params.push(...values);
}

function timeRange(clauses: string[], params: unknown[], ms: string, range: TimeRange | undefined): void {
  // The instant, parsed once when indexed (Argo writes second-precision RFC 3339, other spellings compare as instants).
  if (range?.from !== undefined) {
    clauses.push(`${ms} >= ?`);
    params.push(range.from.getTime());
  }
  if (range?.to !== undefined) {
    clauses.push(`${ms} < ?`);
    params.push(range.to.getTime());
  }
}

function labelClause(clauses: string[], params: unknown[], r: LabelRequirement, id = 'm.id'): void {
  const exists = `EXISTS (SELECT 1 FROM labels l WHERE l.manifest_id = ${id} AND l.key = ?`;
  if (!('values' in r)) {
    clauses.push(`${r.op === 'absent' ? 'NOT ' : ''}${exists})`);
    params.push(r.key);
    return;
  }
  // As in Kubernetes, `notin` (and `!=`) also matches workflows without the label.
  clauses.push(`${r.op === 'notin' ? 'NOT ' : ''}${exists} AND l.value IN (${r.values.map(() => '?').join(', ')}))`);
  params.push(r.key, ...r.values);
}

/** The listing's filters on the manifest row itself (everything but labels). */
function rowFilters(q: WorkflowPageQuery): Where {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (q.namespaces !== undefined) inList(clauses, params, 'm.namespace', q.namespaces);
  if (q.namePrefix !== undefined && q.namePrefix !== '') {
    clauses.push('substr(m.name, 1, ?) = ?');
    params.push([...q.namePrefix].length, q.namePrefix);
  }
  if (q.phases !== undefined) {
    if (q.phases.length === 0) clauses.push('0');
    else {
      clauses.push(`m.phase COLLATE NOCASE IN (${q.phases.map(() => '?').join(', ')})`);
      params.push(...q.phases);
    }
  }
  if (q.incomplete !== undefined) {
    clauses.push('m.incomplete = ?');
    params.push(q.incomplete ? 1 : 0);
  }
  timeRange(clauses, params, 'm.started_ms', q.started);
  timeRange(clauses, params, 'm.finished_ms', q.finished);
  timeRange(clauses, params, 'm.archived_ms', q.archived);
  return { clauses, params };
}

function pageFilters(q: WorkflowPageQuery): Where {
  const where = rowFilters(q);
  for (const r of q.labels ?? []) labelClause(where.clauses, where.params, r);
  return where;
}

/**
 * One way to walk a newest-first page's candidates: rows of one label requirement (labels_kv is ordered by time
 * within a value) or of the manifests table, newest first, at most `budget` of them. Every row the page may show is
 * among the walk's rows, in the same order.
 */
interface Walk {
  /** SELECT manifest_id, at … ORDER BY at DESC, manifest_id LIMIT budget. */
  sql: string;
  params(budget: number): unknown[];
  /** The label requirement the walk already satisfies. */
  requirement?: LabelRequirement;
}

/**
 * The next round's budget: four times this one, or more when the best walk's rate of matches so far says it needs
 * more rows to fill the page (with a margin, and at most sixteen times this one).
 */
function nextBudget(budget: number, rows: number, found: Map<Walk, number>): number {
  const best = Math.max(0, ...found.values());
  const needed = best > 0 ? Math.ceil((1.5 * rows * budget) / best) : 0;
  return Math.min(16 * budget, Math.max(4 * budget, needed));
}

/** An `in` requirement with more values than this is not walked (one index range per value). */
const MAX_WALK_VALUES = 16;

function labelWalk(r: LabelRequirement & { op: 'in' }, q: WorkflowPageQuery): Walk {
  const bounds: string[] = [];
  const boundParams: unknown[] = [];
  if (q.after !== undefined) {
    bounds.push('(at < ? OR (at = ? AND manifest_id > ?))');
    boundParams.push(q.after.value, q.after.value, q.after.id);
  }
  // A finished workflow's listing time is its finish time: a finished range bounds the walk.
  timeRange(bounds, boundParams, 'at', q.finished);
  const values = [...new Set(r.values)];
  const one = `SELECT manifest_id, at FROM labels WHERE key = ? AND value = ?${bounds.map((b) => ` AND ${b}`).join('')}
    ORDER BY at DESC, manifest_id LIMIT ?`;
  if (values.length === 1)
    return { sql: one, params: (budget) => [r.key, values[0], ...boundParams, budget], requirement: r };
  // Each value is its own index range: merge their newest rows.
  return {
    sql: `${values.map(() => `SELECT * FROM (${one})`).join(' UNION ALL ')} ORDER BY at DESC, manifest_id LIMIT ?`,
    params: (budget) => [...values.flatMap((v) => [r.key, v, ...boundParams, budget]), budget],
    requirement: r,
  };
}

/**
 * The walks worth trying for a newest-first page with label requirements: one per `in` requirement. None (the plain
 * query serves) for other orders, and for a started or archived range, which an index range of those times serves.
 */
function pageWalks(q: WorkflowPageQuery): Walk[] {
  if (q.sort !== 'newest' || q.started !== undefined || q.archived !== undefined) return [];
  return (q.labels ?? [])
    .filter((r): r is LabelRequirement & { op: 'in' } => r.op === 'in')
    .filter((r) => r.values.length > 0 && r.values.length <= MAX_WALK_VALUES)
    .map((r) => labelWalk(r, q));
}

/**
 * A label requirement on a walked row. Values are checked by a seek in labels_kv at the row's own time: those entries
 * sit next to each other as the walk goes back in time, where a lookup by manifest id lands on a random page.
 */
function walkedLabelClause(clauses: string[], params: unknown[], r: LabelRequirement): void {
  if (!('values' in r)) return labelClause(clauses, params, r, 'd.manifest_id');
  clauses.push(
    `${r.op === 'notin' ? 'NOT ' : ''}EXISTS (SELECT 1 FROM labels l INDEXED BY labels_kv WHERE l.key = ?
      AND l.value IN (${r.values.map(() => '?').join(', ')}) AND l.at = d.at AND l.manifest_id = d.manifest_id)`,
  );
  params.push(r.key, ...r.values);
}

function whereSql(clauses: string[]): string {
  return clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
}

function limitOf(q: { limit?: number }): number {
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new ConfigError(`limit must be a positive integer, got ${limit}`, { key: 'limit' });
  return limit;
}

function toMs(iso: string): number | null {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** The statements and row values a manifest's metadata is written with (the scale benchmark bulk-loads with them). */
export const MANIFEST_INSERT = `INSERT INTO manifests (id, uid, namespace, name, phase, started_at, finished_at,
  archived_at, at_ms, started_ms, finished_ms, archived_ms, grp, incomplete, entries, bytes)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
export const LABEL_INSERT = 'INSERT INTO labels (manifest_id, key, value, at) VALUES (?, ?, ?, ?)';
export const ENTRY_INSERT = `INSERT OR REPLACE INTO entries (manifest_id, path, kind, node_id, container, artifact_name,
  size, sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

export function manifestRow(w: CatalogWorkflow): (string | number | null)[] {
  const at = workflowTime(w);
  const msOf = (iso: string | undefined) => (iso === undefined ? null : toMs(iso));
  return [
    w.manifestId,
    w.uid,
    w.namespace,
    w.name,
    w.phase ?? null,
    w.startedAt ?? null,
    w.finishedAt ?? null,
    w.archivedAt ?? null,
    msOf(at),
    msOf(w.startedAt),
    msOf(w.finishedAt),
    msOf(w.archivedAt),
    w.group ?? null,
    w.incomplete ? 1 : 0,
    w.entries,
    w.bytes,
  ];
}

/** One row of LABEL_INSERT per label. */
export function labelRows(w: CatalogWorkflow): (string | number)[][] {
  const at = listingTime(w);
  return Object.entries(w.labels).map(([k, v]) => [w.manifestId, k, v, at]);
}

/** The newest/oldest listing's sort key (SORTS.newest): the workflow time in epoch ms, -1 without one. */
function listingTime(w: CatalogWorkflow): number {
  const at = workflowTime(w);
  return (at === undefined ? null : toMs(at)) ?? -1;
}

export function entryRow(manifestId: string, e: CatalogEntry): (string | number | null)[] {
  return [
    manifestId,
    e.path,
    e.kind,
    e.nodeId ?? null,
    e.container ?? null,
    e.artifactName ?? null,
    e.size ?? null,
    e.sha256 ?? null,
  ];
}
