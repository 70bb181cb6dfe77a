// The catalog on Elasticsearch's API (tested: Elasticsearch 7.17.29 with @elastic/elasticsearch 8.19; OpenSearch only
// through a client that speaks to it, docs/catalog-elasticsearch.md). Workflows and log segments live in one index per
// month behind read aliases; tokens are made by Strata (the same as every backend), the node only indexes them.
//
// There are no transactions: an upsert writes its segments under a new generation, then the workflow document naming
// that generation (the commit), then removes older generations. Readers only believe segments of the generation the
// workflow document names, so a crash mid-way leaves nothing visible, and the next upsert or removal sweeps it.
import { randomBytes } from 'node:crypto';
import { Client, errors, type estypes } from '@elastic/elasticsearch';
import { StrataError } from '../errors.ts';
import { BulkWriter, type BulkOptions } from './es-bulk.ts';
import { dropIfEmpty, layout, periodOf, putTemplates, whenStarted, type IndexLayout } from './es-indices.ts';
import { ensureSchema as ensureEsSchema, markRebuilt, type SchemaState } from './es-schema.ts';
import { labelPair, limitOf, pageQuery, queryFilters, textQuery } from './es-query.ts';
import {
  byDayThenPhase,
  dailyRange,
  DAY_MS,
  dayName,
  dayOf,
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
  type LogSegment,
  type ManifestUpsert,
  type TextHit,
  type UpsertOutcome,
  type WorkflowPage,
  type WorkflowPageQuery,
  type WorkflowQuery,
} from './catalog.ts';
import { searchableText, visibleText } from './log-text.ts';
import { matchSegment, textHit } from './text-hit.ts';
import { parseTextQuery, tokenize } from './text-query.ts';

export interface ElasticsearchCatalogOptions {
  /** e.g. http://127.0.0.1:9200 */
  node: string;
  /** Index and alias names start with it (default "strata"). */
  prefix?: string;
  shards?: number;
  /** Replicas per index (the engine's default, 1, unless set). */
  replicas?: number;
  /** Make each write visible to searches before it returns (default true; a bulk rebuild may turn it off). */
  refresh?: boolean;
  bulk?: BulkOptions;
}

type Query = estypes.QueryDslQueryContainer;

/** A workflow's document: the catalog row, its entries, and the generation that commits its segments. */
interface WorkflowDoc extends CatalogWorkflow {
  entryList: CatalogEntry[];
  generation: string;
  mgen: string;
  segments: number;
}

interface SegmentDoc {
  manifestId: string;
  mgen: string;
  uid: string;
  namespace: string;
  name: string;
  path: string;
  nodeId?: string;
  container?: string;
  firstLine: number;
  text: string;
}

/** One manifest of a batch on its way: its segments written under `generation`, then its workflow document. */
interface Written {
  manifestId: string;
  generation: string;
  mgen: string;
  /** The workflow index and document that commit it. */
  index: string;
  doc: Record<string, unknown>;
  /** Its segments failed, or the node refused its document: left out. */
  error?: unknown;
  /** How the commit went: false when a newer generation was already committed. */
  committed?: 'created' | 'replaced' | false;
}

const PAGE = 1000;
const ALL = { ignore_unavailable: true, allow_no_indices: true } as const;
/**
 * Reads of workflow rows: no total (counting every match would visit every document the filters match, and stops
 * the early termination of a sorted page), and no entry list (only `entries` needs it).
 */
const ROWS = { track_total_hits: false, _source: { excludes: ['entryList'] } } as const;

interface PeriodIndex {
  index: string;
  /** The atMs values its workflow documents can have: [from, to). */
  from: number;
  to: number;
}

/** Undated documents carry atMs -1 (see workflowDocument). */
const UNDATED = { from: -1, to: 0 } as const;

/** The atMs range of a period name (YYYY.MM, or undated); undefined for a name that is neither. */
function periodRange(period: string): { from: number; to: number } | undefined {
  if (period === 'undated') return UNDATED;
  const m = /^(\d{4})\.(\d{2})$/.exec(period);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  return { from: Date.UTC(year, month, 1), to: Date.UTC(year, month + 1, 1) };
}

function ms(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** Opens the catalog: installs the index templates; indices appear as documents of each month arrive. */
export async function openElasticsearchCatalog(opts: ElasticsearchCatalogOptions): Promise<ElasticsearchCatalog> {
  const prefix = opts.prefix ?? 'strata';
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(prefix))
    throw new StrataError(
      `Elasticsearch index prefix ${JSON.stringify(prefix)} must be lower case letters, digits, . _ -`,
    );
  const client = new Client({ node: opts.node });
  try {
    await putTemplates(client, prefix, { shards: opts.shards ?? 1, replicas: opts.replicas ?? 1 });
  } catch (err) {
    await client.close();
    throw new StrataError(
      `cannot set up the catalog on Elasticsearch at ${opts.node}: ${(err as Error).message}`,
      undefined,
      {
        cause: err,
      },
    );
  }
  return new ElasticsearchCatalog(client, prefix, opts);
}

export class ElasticsearchCatalog implements Catalog {
  private readonly names: IndexLayout;
  /** Periods whose indices this catalog has seen ready (see readyPeriod). */
  private readonly readyPeriods = new Map<string, Promise<void>>();

  constructor(
    readonly client: Client,
    readonly prefix: string,
    private readonly opts: ElasticsearchCatalogOptions,
  ) {
    this.names = layout(prefix);
  }

  /** No index holds a workflow yet (a new catalog: everything must be indexed). */
  async isEmpty(): Promise<boolean> {
    const { count } = await this.client.count({ index: this.names.workflows, ...ALL });
    return count === 0;
  }

  /** Deletes every index of this catalog (`strata index --rebuild`); the templates stay. */
  async reset(): Promise<void> {
    // By name: clusters refuse wildcard deletes (action.destructive_requires_name, the default from 8.0).
    const names = await this.indexNames();
    if (names.length) await this.client.indices.delete({ index: names });
    this.readyPeriods.clear();
  }

  private async indexNames(): Promise<string[]> {
    const found = await this.client.indices.get({
      index: [`${this.names.workflows}-*`, `${this.names.logs}-*`],
      allow_no_indices: true,
      ignore_unavailable: true,
    });
    return Object.keys(found);
  }

  /**
   * Brings the catalog to this code's schema (es-schema.ts): an older one, or one asked to `reset`, is emptied and
   * left marked as rebuilding until `markRebuilt`.
   */
  ensureSchema(reset: boolean): Promise<SchemaState> {
    return ensureEsSchema(this.client, this.prefix, {
      reset,
      replicas: this.opts.replicas ?? 1,
      deleteIndices: () => this.reset(),
      hasIndices: async () => (await this.indexNames()).length > 0,
    });
  }

  /** A full pass over the store has completed since the catalog was emptied. */
  markRebuilt(): Promise<void> {
    return markRebuilt(this.client, this.prefix);
  }

  async manifestIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for await (const hit of this.scan(this.names.workflows, { match_all: {} }, ['manifestId'])) {
      ids.add((hit._source as { manifestId: string }).manifestId);
    }
    return ids;
  }

  upsertManifest(workflow: CatalogWorkflow, entries: CatalogEntry[], segments: AsyncIterable<LogSegment>) {
    return upsertOne(this, { workflow, entries, segments });
  }

  /**
   * Segments of every manifest through one bulk stream, each under a new generation; then the workflow documents
   * naming them in one commit request (optimistic concurrency per document); then one sweep of the older generations
   * (and of what failed or lost to a newer upsert) and one refresh.
   */
  async upsertManifests(batch: AsyncIterable<ManifestUpsert>): Promise<UpsertOutcome[]> {
    const writer = new BulkWriter(this.client, this.opts.bulk);
    const written: Written[] = [];
    for await (const { workflow: w, entries, segments } of batch) {
      // Sortable by start time: a sweep removes only generations older than the one it committed, never a newer one
      // that a concurrent upsert of the same manifest is still writing.
      const generation = `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
      const period = periodOf(w);
      const common = sharedFields(w, generation);
      const item: Written = { manifestId: w.manifestId, generation, mgen: common.mgen, index: '', doc: {} };
      // The node refusing a write fails the batch; only the manifest's own segments failing leave it out alone.
      let refused = false;
      try {
        await this.readyPeriod(period);
        let n = 0;
        for await (const s of segments) {
          const text = visibleText(s.text);
          await writer
            .add({
              index: this.names.logsIndex(period),
              id: `${common.mgen}/${n}`,
              what: `manifest ${w.manifestId}, ${s.path} from line ${s.firstLine}`,
              doc: {
                ...common,
                path: s.path,
                ...(s.nodeId !== undefined && { nodeId: s.nodeId }),
                ...(s.container !== undefined && { container: s.container }),
                firstLine: s.firstLine,
                text,
                tokens: tokenize(searchableText(text))
                  .map((t) => t.token)
                  .join(' '),
              },
            })
            .catch((err: unknown) => {
              refused = true;
              throw err;
            });
          n++;
        }
        item.index = this.names.workflowsIndex(period);
        item.doc = workflowDocument(w, generation, entries, n);
      } catch (error) {
        if (refused) throw error;
        item.error = error;
      }
      written.push(item);
    }
    await writer.flush();
    await this.commitAll(written.filter((i) => i.error === undefined));
    // Replaced: the older generation was visible until now, refresh and delete it. Created: only leftovers of a run
    // that crashed before its commit (long refreshed) can exist; that check needs no refresh. Not committed (failed,
    // or a newer upsert of the same manifest committed first): only its own segments go.
    const should: Query[] = written.map((i) =>
      i.error !== undefined || i.committed === false
        ? { term: { mgen: i.mgen } }
        : {
            bool: { filter: [{ term: { manifestId: i.manifestId } }, { range: { generation: { lt: i.generation } } }] },
          },
    );
    const recent = written.some((i) => i.error !== undefined || i.committed !== 'created');
    if (should.length) await this.deleteWhere({ bool: { should, minimum_should_match: 1 } }, recent);
    if (this.opts.refresh !== false && written.length) {
      await this.client.indices.refresh({ index: [this.names.workflows, this.names.logs], ...ALL });
    }
    return written.map((i) => ({ manifestId: i.manifestId, ...(i.error !== undefined && { error: i.error }) }));
  }

  /**
   * Commits each item's generation (sets `committed`, or `error` when the node refuses its document): one read of the
   * current generations and one bulk request; a document another upsert wrote in between goes through commit().
   */
  private async commitAll(items: Written[]): Promise<void> {
    if (!items.length) return;
    const current = await this.client.mget<{ generation: string }>({
      docs: items.map((i) => ({ _index: i.index, _id: i.manifestId, _source: ['generation'] })),
    });
    const operations: Record<string, unknown>[] = [];
    const sent: { item: Written; replaces: boolean }[] = [];
    current.docs.forEach((d, k) => {
      const item = items[k]!;
      if ('error' in d && d.error) {
        item.error = new StrataError(
          `Elasticsearch could not read ${item.index}/${item.manifestId}: ${d.error.reason}`,
        );
        return;
      }
      const found = 'found' in d && d.found;
      if (found && d._source!.generation > item.generation) {
        item.committed = false;
        return;
      }
      operations.push(
        found
          ? {
              index: {
                _index: item.index,
                _id: item.manifestId,
                if_seq_no: d._seq_no,
                if_primary_term: d._primary_term,
              },
            }
          : { create: { _index: item.index, _id: item.manifestId } },
        item.doc,
      );
      sent.push({ item, replaces: found });
    });
    if (!operations.length) return;
    const res = await this.client.bulk({ operations });
    const again: Written[] = [];
    res.items.forEach((result, j) => {
      const { item, replaces } = sent[j]!;
      const r = Object.values(result)[0] as { status: number; error?: { type?: string; reason?: string } };
      if (r.status < 300) item.committed = replaces ? 'replaced' : 'created';
      // Another upsert of the same manifest wrote in between, or the node was busy: one at a time, looking again.
      else if (r.status === 409 || r.status === 429 || r.status === 503) again.push(item);
      else
        item.error = new StrataError(
          `Elasticsearch refused the workflow document of manifest ${item.manifestId}: ${r.error?.type ?? r.status}: ${r.error?.reason ?? ''}`,
        );
    });
    for (const item of again)
      item.committed = await this.commit(item.index, item.manifestId, item.generation, item.doc);
  }

  /**
   * Creates the period's two indices (from the templates) and waits for their primary shards before an upsert reads
   * or writes them. Left to auto-creation by the first write, a new month's index is still recovering when a
   * concurrent upsert's get reaches it, which fails with no_shard_available_action_exception (seen loading the scale
   * benchmark: 8 upserts at once into a new month).
   */
  private readyPeriod(period: string): Promise<void> {
    let ready = this.readyPeriods.get(period);
    if (!ready) {
      const indices = [this.names.workflowsIndex(period), this.names.logsIndex(period)];
      ready = (async () => {
        let raced = false;
        for (const index of indices) {
          try {
            await this.client.indices.create({ index, wait_for_active_shards: 1 });
          } catch (err) {
            if (errorType(err) !== 'resource_already_exists_exception') throw err;
            raced = true;
          }
        }
        // Created by someone else, perhaps a moment ago: wait for its primaries too. Without the cluster monitor
        // privilege (403) there is nothing to wait with; the client's own retries of a 503 are what is left.
        if (raced)
          await this.client.cluster.health(
            { index: indices, wait_for_status: 'yellow', timeout: '60s' },
            { ignore: [403] },
          );
      })();
      ready.catch(() => this.readyPeriods.delete(period));
      this.readyPeriods.set(period, ready);
    }
    return ready;
  }

  /**
   * The commit: the workflow document naming this generation, written only over an older generation (optimistic
   * concurrency on the document's sequence number), so the committed generation only ever moves forward. False when
   * a newer generation is already committed.
   */
  private async commit(
    index: string,
    id: string,
    generation: string,
    doc: Record<string, unknown>,
  ): Promise<'created' | 'replaced' | false> {
    for (;;) {
      const current = await this.client.get<{ generation: string }>(
        { index, id, _source: ['generation'] },
        { ignore: [404] },
      );
      if (current.found && current._source!.generation > generation) return false;
      try {
        await this.client.index({
          index,
          id,
          document: doc,
          ...(current.found
            ? { if_seq_no: current._seq_no!, if_primary_term: current._primary_term! }
            : { op_type: 'create' as const }),
        });
        return current.found ? 'replaced' : 'created';
      } catch (err) {
        // Another upsert of the same manifest wrote in between: look again.
        if ((err as { meta?: { statusCode?: number } }).meta?.statusCode !== 409) throw err;
      }
    }
  }

  /** Removes a manifest's documents of generations older than `before` (all of them without it). */
  private async sweep(manifestId: string, before?: string, recent = true): Promise<void> {
    const filter: Query[] = [{ term: { manifestId } }];
    if (before !== undefined) filter.push({ range: { generation: { lt: before } } });
    await this.deleteWhere({ bool: { filter } }, recent);
  }

  /**
   * Deletes what matches. `recent`: the documents may have been written within the last refresh interval, so refresh
   * first (delete_by_query sees only refreshed documents); without it, only leftovers of earlier runs are looked for.
   */
  private async deleteWhere(query: Query, recent = true): Promise<void> {
    const index = [this.names.workflows, this.names.logs];
    if (recent) await this.client.indices.refresh({ index, ...ALL });
    const res = await this.client.deleteByQuery({ index, query, conflicts: 'proceed', ...ALL });
    if ((res.deleted ?? 0) > 0 && this.opts.refresh !== false) await this.client.indices.refresh({ index, ...ALL });
  }

  async remove(manifestId: string): Promise<void> {
    const found = await this.client.search<WorkflowDoc>({
      index: this.names.workflows,
      query: { term: { manifestId } },
      _source: false,
      size: PAGE,
      ...ALL,
    });
    await this.sweep(manifestId);
    // Expiry and erasure are visible at once, whatever the write refresh setting.
    await this.client.indices.refresh({ index: [this.names.workflows, this.names.logs], ...ALL });
    // A period whose last workflow went (retention) is dropped whole: that is what frees its space at once.
    const periods = new Set(found.hits.hits.map((h) => h._index.slice(this.names.workflows.length + 1)));
    for (const p of periods) if (await dropIfEmpty(this.client, this.prefix, p)) this.readyPeriods.delete(p);
  }

  async search(query: WorkflowQuery): Promise<CatalogWorkflow[]> {
    const filter = queryFilters(query);
    if (query.text !== undefined) {
      const mgens = await this.matchingGenerations(query.text, filter);
      filter.push({ terms: { mgen: mgens } });
    }
    const res = await this.client.search<WorkflowDoc>({
      index: this.names.workflows,
      query: { bool: { filter } },
      sort: [{ atMs: 'desc' }, { manifestId: 'asc' }],
      size: limitOf(query),
      ...ROWS,
      ...ALL,
    });
    return res.hits.hits.map((h) => toWorkflow(h._source!));
  }

  /** The manifest generations with a segment matching the text (committed or not: the caller joins). */
  private async matchingGenerations(text: string, filter: Query[]): Promise<string[]> {
    const res = await this.client.search({
      index: this.names.logs,
      query: { bool: { must: [textQuery(parseTextQuery(text))], filter } },
      size: 0,
      aggs: { mgen: { terms: { field: 'mgen', size: 65_000 } } },
      ...ALL,
    });
    const buckets = (res.aggregations?.mgen as estypes.AggregationsStringTermsAggregate | undefined)?.buckets;
    return Array.isArray(buckets) ? buckets.map((b) => String(b.key)) : [];
  }

  async page(query: WorkflowPageQuery): Promise<WorkflowPage> {
    const limit = limitOf(query);
    const key = query.sort === 'name' ? 'nameKey' : 'atMs';
    const desc = query.sort === 'newest';
    const request = (index: string | string[], size: number) =>
      this.client.search<WorkflowDoc>({
        index,
        query: pageQuery(query),
        sort: [{ [key]: desc ? 'desc' : 'asc' }, { manifestId: 'asc' }],
        ...(query.after !== undefined && { search_after: [query.after.value, query.after.id] }),
        size,
        ...ROWS,
        ...ALL,
      });
    // One more than asked says whether another page exists, without counting.
    const wanted = limit + 1;
    const periods = key === 'atMs' ? await this.pagePeriods(query, desc) : undefined;
    let hits: estypes.SearchHit<WorkflowDoc>[] = [];
    if (!periods) hits = (await request(this.names.workflows, wanted)).hits.hits;
    else {
      // Months in page order, more of them each round, until the page is full: a page of recent rows reads the
      // newest month alone instead of every month's shard. Every row of a month sorts after every row of the month
      // before, so the rounds' hits follow each other and share the cursor.
      for (let at = 0, take = 1; at < periods.length && hits.length < wanted; at += take, take *= 2) {
        const group = periods.slice(at, at + take).map((p) => p.index);
        hits = hits.concat((await request(group, wanted - hits.length)).hits.hits);
      }
    }
    const shown = hits.slice(0, limit);
    const tail = shown.at(-1);
    return {
      items: shown.map((h) => toWorkflow(h._source!)),
      ...(hits.length > limit &&
        tail && { last: { value: tail.sort![0] as number | string, id: tail._source!.manifestId } }),
    };
  }

  /**
   * The month indices a page by workflow time can hold rows from, in page order (after its cursor, inside its
   * finished range: a finished time is the workflow time). Undefined when months do not order the rows (a workflow
   * time before 1970 shares atMs values with undated rows): the page then reads the alias.
   */
  private async pagePeriods(query: WorkflowPageQuery, desc: boolean): Promise<PeriodIndex[] | undefined> {
    let names: string[];
    try {
      names = Object.keys(await this.client.indices.getAlias({ name: this.names.workflows }));
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
      throw err;
    }
    const periods: PeriodIndex[] = [];
    for (const index of names) {
      const period = periodRange(index.slice(this.names.workflowsIndex('').length));
      if (!period || (period.from < 0 && period !== UNDATED)) return undefined;
      periods.push({ index, ...period });
    }
    const after = query.after?.value;
    const { from, to } = query.finished ?? {};
    return periods
      .filter((p) => typeof after !== 'number' || (desc ? p.from <= after : p.to > after))
      .filter((p) => (from === undefined || p.to > from.getTime()) && (to === undefined || p.from < to.getTime()))
      .sort((a, b) => (desc ? b.from - a.from : a.from - b.from));
  }

  async namespaces(): Promise<string[]> {
    const res = await this.client.search({
      index: this.names.workflows,
      size: 0,
      aggs: { ns: { terms: { field: 'namespace', size: 65_000, order: { _key: 'asc' } } } },
      ...ALL,
    });
    const buckets = (res.aggregations?.ns as estypes.AggregationsStringTermsAggregate | undefined)?.buckets;
    return Array.isArray(buckets) ? buckets.map((b) => String(b.key)) : [];
  }

  async searchText(text: string, query: Omit<WorkflowQuery, 'text'> = {}): Promise<TextHit[]> {
    const parsed = parseTextQuery(text);
    const limit = limitOf(query);
    const hits: TextHit[] = [];
    const committed = new Map<string, string | undefined>();
    let after: estypes.SortResults | undefined;
    while (hits.length < limit) {
      const res = await this.client.search<SegmentDoc>({
        index: this.names.logs,
        query: { bool: { must: [textQuery(parsed)], filter: queryFilters(query) } },
        // Ties in a stable order whatever the generations (a rebuild answers the same), unique for search_after.
        sort: [
          { _score: { order: 'desc' } },
          { atMs: 'desc' },
          { manifestId: 'asc' },
          { path: 'asc' },
          { firstLine: 'asc' },
          { mgen: 'asc' },
        ],
        ...(after && { search_after: after }),
        size: Math.min(PAGE, limit + 10),
        track_total_hits: false,
        ...ALL,
      });
      const page = res.hits.hits;
      if (page.length === 0) break;
      after = page.at(-1)!.sort;
      const unknown = [...new Set(page.map((h) => h._source!.manifestId))].filter((id) => !committed.has(id));
      for (const [id, mgen] of await this.committedGenerations(unknown)) committed.set(id, mgen);
      for (const h of page) {
        const s = h._source!;
        if (committed.get(s.manifestId) !== s.mgen) continue;
        const m = matchSegment(parsed, s.text);
        if (!m) continue;
        hits.push(textHit(s, m));
        if (hits.length === limit) break;
      }
      if (page.length < Math.min(PAGE, limit + 10)) break;
    }
    return hits;
  }

  private async committedGenerations(ids: string[]): Promise<Map<string, string | undefined>> {
    const out = new Map<string, string | undefined>(ids.map((id) => [id, undefined]));
    if (ids.length === 0) return out;
    const res = await this.client.search<{ manifestId: string; mgen: string }>({
      index: this.names.workflows,
      query: { terms: { manifestId: ids } },
      _source: ['manifestId', 'mgen'],
      size: ids.length * 2,
      ...ALL,
    });
    for (const h of res.hits.hits) out.set(h._source!.manifestId, h._source!.mgen);
    return out;
  }

  async get(ref: string): Promise<CatalogWorkflow[]> {
    const should: Query[] = [{ term: { manifestId: ref } }, { term: { uid: ref } }, { term: { name: ref } }];
    const slash = ref.indexOf('/');
    if (slash > 0) {
      should.push({
        bool: { filter: [{ term: { namespace: ref.slice(0, slash) } }, { term: { name: ref.slice(slash + 1) } }] },
      });
    }
    // Short manifest ids, as printed by `strata query`, are accepted as hex prefixes.
    if (/^[0-9a-f]{8,63}$/.test(ref)) should.push({ prefix: { manifestId: ref } });
    const res = await this.client.search<WorkflowDoc>({
      index: this.names.workflows,
      query: { bool: { should, minimum_should_match: 1 } },
      sort: [{ atMs: 'desc' }, { manifestId: 'asc' }],
      size: PAGE,
      ...ROWS,
      ...ALL,
    });
    return res.hits.hits.map((h) => toWorkflow(h._source!));
  }

  async entries(manifestId: string): Promise<CatalogEntry[]> {
    const res = await this.client.search<WorkflowDoc>({
      index: this.names.workflows,
      query: { term: { manifestId } },
      _source: ['entryList'],
      size: 1,
      ...ALL,
    });
    const list = res.hits.hits[0]?._source?.entryList ?? [];
    return [...list].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async usage(namespaces: readonly string[]): Promise<UsageRow[]> {
    if (namespaces.length === 0) return [];
    const out: UsageRow[] = [];
    let after: Record<string, string | number | null> | undefined;
    // A composite aggregation pages through every (namespace, group) pair, however many there are.
    for (;;) {
      const res = await this.client.search({
        index: this.names.workflows,
        size: 0,
        query: { terms: { namespace: [...namespaces] } },
        aggs: {
          usage: {
            composite: {
              size: 1000,
              sources: [
                { namespace: { terms: { field: 'namespace' } } },
                { group: { terms: { field: 'group', missing_bucket: true } } },
              ],
              ...(after && { after }),
            },
            aggs: { bytes: { sum: { field: 'bytes' } } },
          },
        },
        ...ALL,
      });
      const agg = res.aggregations?.usage as
        | {
            after_key?: Record<string, string | number | null>;
            buckets: Array<{
              key: { namespace: string; group: string | null };
              doc_count: number;
              bytes: { value: number };
            }>;
          }
        | undefined;
      for (const b of agg?.buckets ?? [])
        out.push({
          namespace: b.key.namespace,
          ...(b.key.group !== null && { group: b.key.group }),
          manifests: b.doc_count,
          bytes: b.bytes.value,
        });
      if (!agg?.after_key || agg.buckets.length === 0) break;
      after = agg.after_key;
    }
    return out;
  }

  async stats(): Promise<CatalogStats> {
    const res = await this.client.search({
      index: this.names.workflows,
      size: 0,
      track_total_hits: true,
      aggs: {
        workflows: { cardinality: { field: 'uid', precision_threshold: 40_000 } },
        entries: { sum: { field: 'entries' } },
        bytes: { sum: { field: 'bytes' } },
        segments: { sum: { field: 'segments' } },
        incomplete: { filter: { term: { incomplete: true } } },
        labels: { cardinality: { field: 'labelKeys', precision_threshold: 40_000 } },
        phases: { terms: { field: 'phase', missing: '(none)', size: 1000, order: { _key: 'asc' } } },
      },
      ...ALL,
    });
    const a = (res.aggregations ?? {}) as Record<string, { value?: number; doc_count?: number; buckets?: unknown }>;
    const total = res.hits.total;
    const byPhase: Record<string, number> = {};
    for (const b of (a.phases?.buckets ?? []) as Array<{ key: string; doc_count: number }>)
      byPhase[b.key] = b.doc_count;
    return {
      manifests: typeof total === 'number' ? total : (total?.value ?? 0),
      workflows: a.workflows?.value ?? 0,
      entries: a.entries?.value ?? 0,
      bytes: a.bytes?.value ?? 0,
      logSegments: a.segments?.value ?? 0,
      labels: a.labels?.value ?? 0,
      incomplete: a.incomplete?.doc_count ?? 0,
      byPhase,
    };
  }

  async countByDay(query: DailyCountQuery): Promise<DailyCount[]> {
    const { from, to } = dailyRange(query);
    // Documents without a workflow time carry atMs -1 (see sharedFields): they are in no day.
    const filter: Query[] = [{ bool: { must_not: { term: { atMs: -1 } } } }];
    if (from !== undefined || to !== undefined)
      filter.push({
        range: {
          atMs: { ...(from !== undefined && { gte: from * DAY_MS }), ...(to !== undefined && { lt: to * DAY_MS }) },
        },
      });
    if (query.namespaces !== undefined) filter.push({ terms: { namespace: [...query.namespaces] } });
    const out: DailyCount[] = [];
    let after: Record<string, string | number | null> | undefined;
    // Day-by-phase buckets, a page of them at a time (a long range has more than one response should hold).
    for (;;) {
      const res = await this.client.search({
        index: this.names.workflows,
        size: 0,
        query: { bool: { filter } },
        aggs: {
          daily: {
            composite: {
              size: PAGE,
              sources: [
                { day: { histogram: { field: 'atMs', interval: DAY_MS } } },
                { phase: { terms: { field: 'phase', missing_bucket: true } } },
              ],
              ...(after && { after }),
            },
          },
        },
        ...ALL,
      });
      const daily = res.aggregations?.daily as
        | { buckets: { key: { day: number; phase: string | null }; doc_count: number }[]; after_key?: typeof after }
        | undefined;
      for (const b of daily?.buckets ?? [])
        out.push({ day: dayName(dayOf(b.key.day)), phase: b.key.phase ?? NO_PHASE, count: b.doc_count });
      if (!daily?.after_key || (daily.buckets.length ?? 0) < PAGE) break;
      after = daily.after_key;
    }
    return out.sort(byDayThenPhase);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** Every hit of a query, in manifest id order, a page at a time. */
  private async *scan(index: string, query: Query, source: string[]): AsyncGenerator<estypes.SearchHit> {
    let after: estypes.SortResults | undefined;
    for (;;) {
      const res = await whenStarted(() =>
        this.client.search({
          index,
          query,
          _source: source,
          sort: [{ manifestId: 'asc' }],
          ...(after && { search_after: after }),
          size: PAGE,
          ...ALL,
        }),
      );
      yield* res.hits.hits;
      if (res.hits.hits.length < PAGE) return;
      after = res.hits.hits.at(-1)!.sort;
    }
  }
}

function toWorkflow(d: WorkflowDoc): CatalogWorkflow {
  const labels: Record<string, string> = {};
  for (const k of Object.keys(d.labels).sort()) labels[k] = d.labels[k]!;
  return {
    manifestId: d.manifestId,
    uid: d.uid,
    namespace: d.namespace,
    name: d.name,
    ...(d.phase !== undefined && { phase: d.phase }),
    ...(d.startedAt !== undefined && { startedAt: d.startedAt }),
    ...(d.finishedAt !== undefined && { finishedAt: d.finishedAt }),
    ...(d.archivedAt !== undefined && { archivedAt: d.archivedAt }),
    labels,
    ...(d.group !== undefined && { group: d.group }),
    incomplete: d.incomplete,
    entries: d.entries,
    bytes: d.bytes,
  };
}

/** The fields every document of one generation of a workflow carries (its log segments and its workflow document). */
function sharedFields(w: CatalogWorkflow, generation: string) {
  return {
    manifestId: w.manifestId,
    generation,
    mgen: `${w.manifestId}/${generation}`,
    uid: w.uid,
    namespace: w.namespace,
    name: w.name,
    ...(w.phase !== undefined && { phaseKey: w.phase.toLowerCase() }),
    labelPairs: Object.entries(w.labels).map(([k, v]) => labelPair(k, v)),
    labelKeys: Object.keys(w.labels),
    incomplete: w.incomplete,
    atMs: ms(workflowTime(w)) ?? -1,
  };
}

/** The workflow document that commits one generation (`segments`: how many log segments it wrote). */
export function workflowDocument(w: CatalogWorkflow, generation: string, entries: CatalogEntry[], segments: number) {
  return {
    ...sharedFields(w, generation),
    nameKey: `${w.namespace}\u0000${w.name}`,
    ...(w.phase !== undefined && { phase: w.phase }),
    ...(w.startedAt !== undefined && { startedAt: w.startedAt, startedMs: ms(w.startedAt) }),
    ...(w.finishedAt !== undefined && { finishedAt: w.finishedAt, finishedMs: ms(w.finishedAt) }),
    ...(w.archivedAt !== undefined && { archivedAt: w.archivedAt, archivedMs: ms(w.archivedAt) }),
    labels: w.labels,
    ...(w.group !== undefined && { group: w.group }),
    entries: w.entries,
    bytes: w.bytes,
    entryList: entries,
    segments,
  };
}

function errorType(err: unknown): string | undefined {
  return (err as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error?.type;
}
