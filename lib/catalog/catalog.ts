// The catalog port: a searchable, derived view of the archive's manifests (rebuildable from the store at any time).
import { ConfigError } from '../errors.ts';

/** One archived workflow as the catalog knows it: one row per manifest. */
export interface CatalogWorkflow {
  manifestId: string;
  uid: string;
  namespace: string;
  name: string;
  /** Argo phase (Succeeded, Failed, Error, …) from the workflow's status, when it had one. */
  phase?: string;
  /** ISO-8601 times from the workflow's status. */
  startedAt?: string;
  finishedAt?: string;
  /** When the manifest was written. */
  archivedAt?: string;
  labels: Record<string, string>;
  /** Timeline group the archive engine packed it under (retention class + period). */
  group?: string;
  /** Some log or artifact could not be read when archiving. */
  incomplete: boolean;
  /** Number of entries and their total original size. */
  entries: number;
  bytes: number;
}

/** One file of an archived workflow, so "the log of node X" is one lookup. */
export interface CatalogEntry {
  path: string;
  kind: string;
  nodeId?: string;
  container?: string;
  artifactName?: string;
  size?: number;
  sha256?: string;
}

/** A bounded piece of one log (about 64 KiB of whole lines), fed to the full-text index. */
export interface LogSegment {
  path: string;
  nodeId?: string;
  container?: string;
  /** 1-based number of the segment's first line within the log. */
  firstLine: number;
  text: string;
}

export interface WorkflowQuery {
  /** Exact label matches; all must hold. */
  labels?: Record<string, string>;
  namespace?: string;
  /** Only these namespaces (what a caller may see); an empty list matches nothing. */
  namespaces?: readonly string[];
  phase?: string;
  /** Exact workflow name. */
  name?: string;
  /** Workflows that finished (or, without finishedAt, started or were archived) at or after / before this time. */
  since?: Date;
  until?: Date;
  /** Only workflows archived with (true) or without (false) missing logs/artifacts. */
  incomplete?: boolean;
  /** Full-text query over log text (the catalog's text query language, text-query.ts); keeps only workflows with a hit. */
  text?: string;
  limit?: number;
}

/** One requirement of a label selector, as in Kubernetes: `k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`. */
export type LabelRequirement =
  { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | 'absent' };

export type WorkflowSort = 'newest' | 'oldest' | 'name';

/** A time window on one of the workflow's times; either end may be open. `from` inclusive, `to` exclusive. */
export interface TimeRange {
  from?: Date;
  to?: Date;
}

/** A page of the listing: filters, an order, and where the previous page ended (keyset, never an offset). */
export interface WorkflowPageQuery {
  namespaces?: readonly string[];
  namePrefix?: string;
  phases?: readonly string[];
  labels?: readonly LabelRequirement[];
  incomplete?: boolean;
  started?: TimeRange;
  finished?: TimeRange;
  archived?: TimeRange;
  sort: WorkflowSort;
  /** The sort key of the last row of the previous page, as returned in `WorkflowPage.last`. */
  after?: PageKey;
  limit: number;
}

/** Where a page ended: the row's sort value and its manifest id (unique, so ties never repeat or skip rows). */
export interface PageKey {
  value: number | string;
  id: string;
}

export interface WorkflowPage {
  items: CatalogWorkflow[];
  /** Set when more rows may follow: pass it back as `after`. */
  last?: PageKey;
}

/** A full-text hit: which workflow, which node's log, roughly which line, and a snippet around the match. */
export interface TextHit {
  manifestId: string;
  uid: string;
  namespace: string;
  name: string;
  nodeId?: string;
  container?: string;
  path: string;
  /** 1-based line of the first match inside the log. */
  line: number;
  /** The line around the match, matches between « and ». */
  snippet: string;
  /** The same without markers, for a UI that highlights by position (log text may itself contain « or »). */
  snippetText: string;
  /** Where the matches are in `snippetText`: [start, end) offsets in UTF-16 code units. */
  highlights: Array<[number, number]>;
}

export interface TextSearchOptions {
  /** Stops the search (its caller went away, or its deadline passed); it then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * A count of workflows per UTC day and phase, on the workflow time (finish, else start, else archive): the daily
 * dashboard. `from` and `to` are UTC midnights (`to` exclusive); workflows without any time are in no day.
 */
export interface DailyCountQuery {
  from?: Date;
  to?: Date;
  /** Only these namespaces (what a caller may see); an empty list counts nothing. */
  namespaces?: readonly string[];
}

export interface DailyCount {
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  /** The workflow's phase as archived, or "(none)" (as in CatalogStats.byPhase). */
  phase: string;
  count: number;
}

export interface CatalogStats {
  manifests: number;
  workflows: number;
  entries: number;
  bytes: number;
  logSegments: number;
  labels: number;
  incomplete: number;
  byPhase: Record<string, number>;
}

/** Archived workflows of one namespace in one timeline group: how many manifests, and their original bytes. */
export interface UsageRow {
  namespace: string;
  /** Absent for manifests written without a group. */
  group?: string;
  manifests: number;
  bytes: number;
}

/** One manifest to index: its row, its entries, and its log segments as they stream in. */
export interface ManifestUpsert {
  workflow: CatalogWorkflow;
  entries: CatalogEntry[];
  segments: AsyncIterable<LogSegment>;
}

/** What became of one manifest of a batch: indexed, or the error that left it out (its earlier rows untouched). */
export interface UpsertOutcome {
  manifestId: string;
  error?: unknown;
}

/**
 * A catalog whose rows were dropped (an older schema, another text layout, `strata index --rebuild`) and that no full
 * pass over the store has completed since: the mark is kept in the catalog itself, so a rebuild that was killed is
 * finished by whichever command opens the catalog next (see openCatalog).
 */
export interface PendingRebuild {
  /** Records that a full pass over the store has completed. */
  done(): Promise<void>;
}

/**
 * The catalog port. Every backend (embedded SQLite, PostgreSQL, a search engine) implements the same query model
 * and passes the same behaviour suite (test/catalog/contract.ts); callers never know which one they talk to.
 */
export interface Catalog {
  /** Manifest ids already indexed (complete: their transaction committed). */
  manifestIds(): Promise<Set<string>>;
  /**
   * Indexes one manifest atomically: its row, labels, entries and the log segments as they stream in.
   * Replaces an earlier row for the same manifest id (idempotent); a crash before the end leaves no trace of it.
   * Resolves once the rows are visible to every reader of the catalog.
   */
  upsertManifest(
    workflow: CatalogWorkflow,
    entries: CatalogEntry[],
    segments: AsyncIterable<LogSegment>,
  ): Promise<void>;
  /**
   * Indexes many manifests under one commit (SQLite, PostgreSQL: one transaction; a search engine: one bulk stream,
   * one commit request and one sweep of older generations), each exactly as upsertManifest would. `batch` is read
   * lazily, one manifest's segments before the next manifest is asked for. A manifest whose segments fail is left out
   * alone (its outcome carries the error; its earlier rows stay whole); the others are committed. If the batch
   * itself fails (its iterator throws, the backend refuses, the process dies) before its commit, none of its
   * manifests is visible (a search engine commits each workflow document on its own within the one commit request:
   * a crash during that request may leave some committed, each whole); a re-run converges. Resolves, one outcome per
   * manifest in order, once the rows are visible.
   */
  upsertManifests(batch: AsyncIterable<ManifestUpsert>): Promise<UpsertOutcome[]>;
  /** Removes every row of a manifest (expiry, erasure); removing an absent one is not an error. */
  remove(manifestId: string): Promise<void>;
  search(query: WorkflowQuery): Promise<CatalogWorkflow[]>;
  /** One page of the listing, ordered by `query.sort` then manifest id. */
  page(query: WorkflowPageQuery): Promise<WorkflowPage>;
  /** Every namespace that has an archived workflow. */
  namespaces(): Promise<string[]>;
  /**
   * Full-text hits (one per matching log segment) with node ids and snippets, filtered by the other fields of the
   * query, in the backend's order: best first (PostgreSQL, Elasticsearch: relevance) or newest first (SQLite: the
   * segments indexed last). `text` is parsed by parseTextQuery (text-query.ts); line, snippet and highlights come from
   * matchSegment (text-hit.ts) over the segment's text, so every backend reports the same for the same hit.
   * When `options.signal` aborts, the search stops as soon as it can and rejects with the signal's reason.
   */
  searchText(text: string, query?: Omit<WorkflowQuery, 'text'>, options?: TextSearchOptions): Promise<TextHit[]>;
  /** Manifests matching a manifest id, a workflow uid, or a workflow name (optionally namespace/name), newest first. */
  get(ref: string): Promise<CatalogWorkflow[]>;
  entries(manifestId: string): Promise<CatalogEntry[]>;
  stats(): Promise<CatalogStats>;
  /** Manifests and original bytes per namespace and group, only of `namespaces`; ordered by namespace then group. */
  usage(namespaces: readonly string[]): Promise<UsageRow[]>;
  /**
   * Workflows per day and phase, ordered by day then phase; days and phases with no workflow are left out. Its cost
   * does not grow with the number of workflows (a counter per day kept with the rows, or the engine's aggregation).
   */
  countByDay(query: DailyCountQuery): Promise<DailyCount[]>;
  close(): Promise<void>;
}

export const DAY_MS = 86_400_000;
/** What DailyCount.phase says for a workflow archived without a phase. */
export const NO_PHASE = '(none)';

/** The UTC day (days since 1970-01-01) of an epoch-ms time, and back to YYYY-MM-DD. */
export const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
export const dayName = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** The query's day range as day numbers ([from, to), either open), refusing times that are not UTC midnights. */
export function dailyRange(q: DailyCountQuery): { from?: number; to?: number } {
  const day = (key: 'from' | 'to') => {
    const t = q[key];
    if (t === undefined) return undefined;
    const ms = t.getTime();
    if (!Number.isFinite(ms) || ms % DAY_MS !== 0)
      throw new ConfigError(`daily counts: ${key} must be a UTC midnight (a whole day), got ${String(t)}`, { key });
    return ms / DAY_MS;
  };
  const from = day('from');
  const to = day('to');
  return { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
}

/** Orders daily counts by day, then phase (code-unit order, the same on every backend). */
export function byDayThenPhase(a: DailyCount, b: DailyCount): number {
  return a.day < b.day ? -1 : a.day > b.day ? 1 : a.phase < b.phase ? -1 : a.phase > b.phase ? 1 : 0;
}

/** The time a workflow counts as "at" for --since/--until. */
export function workflowTime(w: Pick<CatalogWorkflow, 'finishedAt' | 'startedAt' | 'archivedAt'>): string | undefined {
  return w.finishedAt ?? w.startedAt ?? w.archivedAt;
}

/** upsertManifest through upsertManifests: one manifest, its error thrown. */
export async function upsertOne(catalog: Pick<Catalog, 'upsertManifests'>, item: ManifestUpsert): Promise<void> {
  const [outcome] = await catalog.upsertManifests(
    (async function* () {
      yield item;
    })(),
  );
  if (outcome?.error !== undefined) throw outcome.error;
}
