// The catalog's indices in Elasticsearch: one per time period for workflows and for log segments, created on demand
// from index templates that also put each into its read alias. Retention drops a period's indices once empty.
import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import { workflowTime, type CatalogWorkflow } from './catalog.ts';

export interface IndexLayout {
  /** Read alias over every period of workflow documents. */
  workflows: string;
  /** Read alias over every period of log segment documents. */
  logs: string;
  /** The concrete index of a period for each kind. */
  workflowsIndex(period: string): string;
  logsIndex(period: string): string;
}

export function layout(prefix: string): IndexLayout {
  return {
    workflows: `${prefix}-workflows`,
    logs: `${prefix}-logs`,
    workflowsIndex: (p) => `${prefix}-workflows-${p}`,
    logsIndex: (p) => `${prefix}-logs-${p}`,
  };
}

/** The month a workflow counts in (its finish, else start, else archive time), or "undated". */
export function periodOf(w: Pick<CatalogWorkflow, 'finishedAt' | 'startedAt' | 'archivedAt'>): string {
  const at = workflowTime(w);
  const ms = at === undefined ? NaN : Date.parse(at);
  if (Number.isNaN(ms)) return 'undated';
  const d = new Date(ms);
  return `${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

const keyword = { type: 'keyword' } as const;
const long = { type: 'long' } as const;
const opaque = { type: 'object', enabled: false } as const;

// Fields every document carries, so filters run in the engine on both kinds.
const shared: Record<string, estypes.MappingProperty> = {
  manifestId: keyword,
  generation: keyword,
  mgen: keyword,
  uid: keyword,
  namespace: keyword,
  name: keyword,
  phaseKey: keyword,
  labelPairs: keyword,
  labelKeys: keyword,
  incomplete: { type: 'boolean' },
  atMs: long,
};

export interface TemplateOptions {
  shards: number;
  replicas: number;
}

/** Installs (or updates) both index templates; indices created afterwards follow them. */
export async function putTemplates(client: Client, prefix: string, o: TemplateOptions): Promise<void> {
  const l = layout(prefix);
  const settings = { number_of_shards: o.shards, number_of_replicas: o.replicas };
  await client.indices.putIndexTemplate({
    name: l.workflows,
    index_patterns: [`${l.workflows}-*`],
    template: {
      // Stored newest first, the listing's default order: a sorted page stops reading a segment once it has its rows
      // (early termination) instead of visiting every document its filters match.
      settings: { ...settings, sort: { field: ['atMs', 'manifestId'], order: ['desc', 'asc'] } },
      aliases: { [l.workflows]: {} },
      mappings: {
        dynamic: false,
        properties: {
          ...shared,
          nameKey: keyword,
          phase: keyword,
          startedMs: long,
          finishedMs: long,
          archivedMs: long,
          group: keyword,
          entries: long,
          bytes: long,
          segments: long,
          labels: opaque,
          entryList: opaque,
        },
      },
    },
  });
  await client.indices.putIndexTemplate({
    name: l.logs,
    index_patterns: [`${l.logs}-*`],
    template: {
      // Log text is most of the volume: DEFLATE for the stored text, and no scoring norms.
      settings: { ...settings, codec: 'best_compression' },
      aliases: { [l.logs]: {} },
      mappings: {
        dynamic: false,
        // The tokens are derived from the text: index them, never store them twice.
        _source: { excludes: ['tokens'] },
        properties: {
          ...shared,
          path: keyword,
          nodeId: keyword,
          container: keyword,
          firstLine: long,
          text: { type: 'text', index: false },
          tokens: { type: 'text', analyzer: 'whitespace', index_options: 'positions', norms: false },
        },
      },
    },
  });
}

/** Deletes the period's indices when neither holds a document any more (the whole period has expired). */
export async function dropIfEmpty(client: Client, prefix: string, period: string): Promise<boolean> {
  const l = layout(prefix);
  const indices = [l.workflowsIndex(period), l.logsIndex(period)];
  const { count } = await client.count({ index: indices, ignore_unavailable: true, allow_no_indices: true });
  if (count > 0) return false;
  await client.indices.delete({ index: indices, ignore_unavailable: true });
  return true;
}

/**
 * A shard of an index created a moment ago (by this process or another: indices join the read alias as they are
 * created) may still be starting, and a request reaching only such shards fails: wait it out, for a few seconds.
 */
export async function whenStarted<T>(run: () => Promise<T>): Promise<T> {
  for (let wait = 50; ; wait *= 2) {
    try {
      return await run();
    } catch (err) {
      const starting =
        err instanceof errors.ResponseError &&
        (err.statusCode === 503 || /no_shard_available|unavailable_shards/.test(String(err.body?.error?.type)));
      if (!starting || wait > 10_000) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
