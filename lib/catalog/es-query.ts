// The catalog's query model in Elasticsearch's query DSL (kept inside what a 7.17 node without X-Pack understands).
import type { estypes } from '@elastic/elasticsearch';
import { ConfigError } from '../errors.ts';
import type { LabelRequirement, TimeRange, WorkflowPageQuery, WorkflowQuery } from './catalog.ts';
import type { TextQuery } from './text-query.ts';

type Query = estypes.QueryDslQueryContainer;

/** The field holding a segment's tokens, normalized by Strata and split on spaces by the node. */
export const TOKENS = 'tokens';

/** A parsed full-text query over the pre-tokenized field: phrases are exact token runs, as in every backend. */
export function textQuery(q: TextQuery): Query {
  switch (q.kind) {
    case 'phrase': {
      const { tokens, prefix } = q;
      if (tokens.length === 1)
        return prefix ? { prefix: { [TOKENS]: tokens[0]! } } : { term: { [TOKENS]: tokens[0]! } };
      if (!prefix) return { match_phrase: { [TOKENS]: { query: tokens.join(' '), slop: 0 } } };
      const clauses: estypes.QueryDslSpanQuery[] = tokens.map((t, i) =>
        i === tokens.length - 1
          ? { span_multi: { match: { prefix: { [TOKENS]: { value: t } } } } }
          : { span_term: { [TOKENS]: t } },
      );
      return { span_near: { clauses, slop: 0, in_order: true } };
    }
    case 'and':
      return { bool: { must: q.of.map(textQuery) } };
    case 'or':
      return { bool: { should: q.of.map(textQuery), minimum_should_match: 1 } };
    case 'not':
      return { bool: { must: [textQuery(q.include)], must_not: [textQuery(q.exclude)] } };
  }
}

const NOTHING: Query = { bool: { must_not: [{ match_all: {} }] } };

/** `key=value`: label keys cannot contain "=", so the pair is unambiguous. */
export function labelPair(key: string, value: string): string {
  return `${key}=${value}`;
}

/** Filters of the simple query (search, searchText), on fields both the workflow and the segment documents carry. */
export function queryFilters(q: Omit<WorkflowQuery, 'text'>): Query[] {
  const f: Query[] = [];
  for (const [k, v] of Object.entries(q.labels ?? {})) f.push({ term: { labelPairs: labelPair(k, v) } });
  if (q.namespace !== undefined) f.push({ term: { namespace: q.namespace } });
  if (q.namespaces !== undefined) f.push(q.namespaces.length ? { terms: { namespace: [...q.namespaces] } } : NOTHING);
  if (q.phase !== undefined) f.push({ term: { phaseKey: q.phase.toLowerCase() } });
  if (q.name !== undefined) f.push({ term: { name: q.name } });
  if (q.incomplete !== undefined) f.push({ term: { incomplete: q.incomplete } });
  if (q.since !== undefined || q.until !== undefined) {
    f.push({
      range: {
        atMs: {
          ...(q.since !== undefined && { gte: q.since.getTime() }),
          ...(q.until !== undefined && { lt: q.until.getTime() }),
        },
      },
    });
  }
  return f;
}

function timeRange(field: string, r: TimeRange | undefined): Query[] {
  if (r?.from === undefined && r?.to === undefined) return [];
  return [
    {
      range: {
        [field]: {
          ...(r.from !== undefined && { gte: r.from.getTime() }),
          ...(r.to !== undefined && { lt: r.to.getTime() }),
        },
      },
    },
  ];
}

function labelFilter(r: LabelRequirement): { must?: Query; mustNot?: Query } {
  if (r.op === 'exists') return { must: { term: { labelKeys: r.key } } };
  if (r.op === 'absent') return { mustNot: { term: { labelKeys: r.key } } };
  if (!('values' in r)) return {};
  const pairs = { terms: { labelPairs: r.values.map((v) => labelPair(r.key, v)) } };
  // As in Kubernetes, `notin` (and `!=`) also matches workflows without the label.
  return r.op === 'in' ? { must: r.values.length ? pairs : NOTHING } : { mustNot: pairs };
}

/** The listing's filters as one bool query. */
export function pageQuery(q: WorkflowPageQuery): Query {
  const filter: Query[] = [];
  const mustNot: Query[] = [];
  if (q.namespaces !== undefined)
    filter.push(q.namespaces.length ? { terms: { namespace: [...q.namespaces] } } : NOTHING);
  if (q.namePrefix) filter.push({ prefix: { name: q.namePrefix } });
  if (q.phases !== undefined) {
    filter.push(q.phases.length ? { terms: { phaseKey: q.phases.map((p) => p.toLowerCase()) } } : NOTHING);
  }
  for (const r of q.labels ?? []) {
    const { must, mustNot: not } = labelFilter(r);
    if (must) filter.push(must);
    if (not) mustNot.push(not);
  }
  if (q.incomplete !== undefined) filter.push({ term: { incomplete: q.incomplete } });
  filter.push(...timeRange('startedMs', q.started), ...timeRange('finishedMs', q.finished));
  filter.push(...timeRange('archivedMs', q.archived));
  return { bool: { filter, must_not: mustNot } };
}

export function limitOf(q: { limit?: number }, fallback = 100): number {
  const limit = q.limit ?? fallback;
  if (!Number.isInteger(limit) || limit < 1)
    throw new ConfigError(`limit must be a positive integer, got ${limit}`, { key: 'limit' });
  return limit;
}
