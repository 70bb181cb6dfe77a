// Label selectors on the PostgreSQL catalog in listing order. The jsonb GIN index finds every row with a label but
// not the newest ones: a page of `team in (x), env in (prod)` fetched and sorted all 110k matching rows of a 1M-row
// catalog (0.6 s), and walking the newest-first index with per-row label checks reads half the table when the
// labels sit on old rows (`strata.dev/tier in (archive)`). Instead each label requirement is a stream of listing
// positions read from a (key, value, at_ms) index, and the streams are intersected by leapfrogging: every step seeks
// each stream to the position where the furthest one stands, so long runs of rows without a match are skipped by
// one index seek each. A position where all streams meet holds candidate rows, checked against every filter.
//
// Leapfrogging is slow only when the streams keep passing each other without meeting (labels that are each common
// but rarely together): after a budget of steps the walk stops where it stands and the caller finishes the page
// with the GIN plan, which is cheap exactly then (a small intersection).

/** The labels table: one row per label of each manifest, at the manifest's listing position; kept by triggers. */
export function labelTableSql(s: string): string {
  return `
CREATE TABLE ${s}.labels (
  key text NOT NULL,
  value text NOT NULL,
  at_ms bigint NOT NULL, -- coalesce(manifests.at_ms, -1): the listing's sort key
  rid bigint NOT NULL
);
CREATE INDEX labels_walk ON ${s}.labels (key, value, at_ms, rid);
-- Every writer of manifests (upserts, bulk loads) keeps the labels table without knowing of it. Manifest rows are
-- replaced by delete and insert; an update is handled too. Deletes find their rows by the same index.
CREATE FUNCTION ${s}.labels_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  INSERT INTO ${s}.labels (key, value, at_ms, rid)
    SELECT e.key, e.value, coalesce(n.at_ms, -1), n.rid FROM added n, jsonb_each_text(n.labels) e;
  RETURN NULL;
END $$;
CREATE FUNCTION ${s}.labels_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  DELETE FROM ${s}.labels l USING removed o, jsonb_each_text(o.labels) e
    WHERE l.key = e.key AND l.value = e.value AND l.at_ms = coalesce(o.at_ms, -1) AND l.rid = o.rid;
  RETURN NULL;
END $$;
CREATE TRIGGER labels_insert AFTER INSERT ON ${s}.manifests REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.labels_added();
CREATE TRIGGER labels_delete AFTER DELETE ON ${s}.manifests REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.labels_removed();
CREATE TRIGGER labels_update_old AFTER UPDATE ON ${s}.manifests REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.labels_removed();
CREATE TRIGGER labels_update_new AFTER UPDATE ON ${s}.manifests REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.labels_added();
`;
}

/** One label requirement that names its values (`in`): a stream of the positions of rows carrying one of them. */
export interface LabelStream {
  key: string;
  values: readonly string[];
}

export interface LabelWalk {
  /** The tables' schema. */
  schema: string;
  streams: readonly LabelStream[];
  descending: boolean;
  /** SQL of the first position to look at (inclusive), in the caller's parameters. */
  start: string;
  /** The rows wanted: the walk stops once this many rows passed `where`. */
  wanted: string;
  /** The most leapfrog steps before the walk gives up and says where it stands. */
  budget: string;
  /** Every filter of the page (label requirements included), over `m`; the positions only narrow. */
  where: string;
  /** ORDER BY and LIMIT of the rows returned. */
  orderBy: string;
  limit: string;
  /** Adds a parameter, returns its placeholder. */
  param(v: unknown): string;
}

/**
 * The walk as one statement. Each result row carries the walk's end: `walk_at` and `walk_hit` (the last position
 * looked at, and whether it was a meeting point: rows there are already among the results), `walk_done` (no more
 * meeting points, or enough rows). When not done, rows beyond `walk_at` remain to be found another way. A walk that
 * finds nothing still returns one row, with `id` null.
 */
export function labelWalkSql(w: LabelWalk): string {
  const m = `${w.schema}.manifests`;
  const [dir, cmp, lead, trail, next] = w.descending
    ? ['DESC', '<=', 'LEAST', 'GREATEST', '- 1']
    : ['ASC', '>=', 'GREATEST', 'LEAST', '+ 1'];
  const key = 'coalesce(m.at_ms, -1)';
  // Seeks of every stream from position `p`: the nearest position at or past p where each has a row (of a stream of
  // several values: the nearest of theirs). An ordered LIMIT 1 rather than max(): planned as an aggregate, max()
  // read the whole range of a small table.
  const streams = w.streams.map((s) => ({ key: w.param(s.key), values: s.values.map((v) => w.param(v)) }));
  const seeks = (p: string) =>
    streams.map(({ key: k, values }) => {
      const one = values.map(
        (v) =>
          `(SELECT at_ms FROM ${w.schema}.labels WHERE key = ${k} AND value = ${v} AND at_ms ${cmp} ${p} ORDER BY at_ms ${dir} LIMIT 1)`,
      );
      return one.length === 1 ? one[0]! : `${trail}(${one.join(', ')})`;
    });
  // From the seeks: the position furthest along (where every stream must go next), and whether all met there.
  // OFFSET 0 keeps the seeks in their subquery: flattened, each use of a seek's result would run it again.
  const step = (p: string) => {
    const cols = seeks(p).map((sql, i) => `${sql} AS s${i}`);
    const names = w.streams.map((_, i) => `s${i}`);
    return `SELECT CASE WHEN ${names.map((n) => `${n} IS NULL`).join(' OR ')} THEN NULL ELSE ${lead}(${names.join(', ')}) END AS at,
        ${lead}(${names.join(', ')}) = ${trail}(${names.join(', ')}) AS hit FROM (SELECT ${cols.join(', ')} OFFSET 0) s`;
  };
  const found = `(SELECT count(*) FROM ${m} m WHERE ${key} = z.at AND ${w.where})`;
  return `
WITH RECURSIVE z(at, hit, n, steps) AS (
  SELECT f.at, f.hit, 0::bigint, 1 FROM (${step(`${w.start}::bigint`)}) f
  UNION ALL
  SELECT f.at, f.hit, z.n + CASE WHEN z.hit THEN ${found} ELSE 0 END, z.steps + 1
  FROM z, LATERAL (SELECT CASE WHEN z.hit THEN z.at ${next} ELSE z.at END AS p) q, LATERAL (${step('q.p')}) f
  WHERE z.at IS NOT NULL AND z.n < ${w.wanted} AND z.steps < ${w.budget}
),
stop AS (SELECT * FROM z ORDER BY steps DESC LIMIT 1)
SELECT stop.at AS walk_at, stop.hit AS walk_hit, (stop.at IS NULL OR stop.n >= ${w.wanted}) AS walk_done, r.*
FROM stop LEFT JOIN LATERAL (
  -- The rows at each meeting point, looked up by position (OFFSET 0: never a scan of every row the labels match).
  SELECT m.* FROM (SELECT DISTINCT at FROM z WHERE hit) h,
    LATERAL (SELECT * FROM ${m} m WHERE ${key} = h.at AND ${w.where} OFFSET 0) m
  ${w.orderBy} LIMIT ${w.limit}
) r ON true`;
}
