// The GraphQL schema (graphql-js, code first) over the ArchiveService: the same checks, audit and cursors as REST.
import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLFloat,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  type GraphQLFieldConfig,
  type GraphQLOutputType,
} from 'graphql';
import type { CatalogEntry, CatalogWorkflow, TextHit } from '../../lib/catalog/catalog.ts';
import { BadRequest } from '../api/errors.ts';
import { validate, workflowFilters } from '../api/list-params.ts';
import {
  DEFAULT_PAGE_SIZE,
  DEFAULT_SEARCH_HITS,
  listWorkflowsQuery,
  logQuery,
  manifestIdSchema,
  MAX_PAGE_SIZE,
  MAX_SEARCH_HITS,
  nodeIdSchema,
  searchQuery,
} from '../api/schemas.ts';
import type { NodeView } from '../../lib/bundle/node-tree.ts';
import type { Caller } from '../auth/access.ts';
import type { RestoreJobService } from '../restores/job.ts';
import type { ArchiveService, WorkflowDetail } from '../service/archive-service.ts';
import { restoreFields } from './restores.ts';
import {
  Extension,
  Hold,
  retentionMutations,
  retentionQueries,
  workflowRetentionFields,
  type RetentionContext,
} from './retention.ts';

/** At most this much log text in one `Log.text` (larger logs: page with offset, or the REST endpoint's stream). */
export const MAX_LOG_TEXT = 1024 * 1024;

export interface GraphQLContext extends RetentionContext {
  caller: Caller;
  service: ArchiveService;
  /** Absent when the server runs without restore jobs (their fields answer 503). */
  restores: RestoreJobService | undefined;
  /** One detail read (and one audit record) per workflow per request, however many fields ask. */
  details: Map<string, Promise<WorkflowDetail>>;
}

const detailOf = (ctx: GraphQLContext, manifestId: string) => {
  let d = ctx.details.get(manifestId);
  if (!d) {
    d = ctx.service.workflow(ctx.caller, manifestId);
    ctx.details.set(manifestId, d);
  }
  return d;
};

const nn = <T extends GraphQLOutputType>(t: T) => new GraphQLNonNull(t);
const list = <T extends GraphQLOutputType>(t: T) => nn(new GraphQLList(nn(t)));

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value (the archived Workflow object)',
  serialize: (v) => v,
});

const Label = new GraphQLObjectType({
  name: 'Label',
  fields: { key: { type: nn(GraphQLString) }, value: { type: nn(GraphQLString) } },
});

interface LogSource {
  manifestId: string;
  nodeId: string;
  container: string;
  path: string;
  size?: number;
}

const Log = new GraphQLObjectType<LogSource, GraphQLContext>({
  name: 'Log',
  description: "One container's log of one node",
  fields: {
    nodeId: { type: nn(GraphQLString) },
    container: { type: nn(GraphQLString) },
    path: { type: nn(GraphQLString) },
    size: { type: GraphQLFloat },
    text: {
      type: nn(GraphQLString),
      description: `The log (audited read): bytes [offset, offset+length) (at most ${MAX_LOG_TEXT}), or with grep only the matching lines as "<line>:<text>"`,
      args: {
        offset: { type: GraphQLInt, defaultValue: 0 },
        length: { type: GraphQLInt, defaultValue: MAX_LOG_TEXT },
        grep: { type: GraphQLString },
      },
      resolve: async (log, args: { offset: number; length: number; grep?: string | null }, ctx) => {
        if (args.offset < 0) throw new BadRequest('offset must be 0 or more', 'offset');
        if (args.length < 1 || args.length > MAX_LOG_TEXT)
          throw new BadRequest(`length must be between 1 and ${MAX_LOG_TEXT}`, 'length');
        const grep = args.grep ?? undefined;
        if (grep !== undefined) validate(logQuery, { grep }, 'argument');
        const handle = await ctx.service.entry(ctx.caller, log.manifestId, {
          kind: 'log',
          nodeId: log.nodeId,
          container: log.container,
        });
        const size = handle.entry.size;
        if (grep === undefined && size === 0) return '';
        if (grep === undefined && args.offset >= size)
          throw new BadRequest(`offset ${args.offset} is past the log's ${size} bytes`, 'offset');
        const whole = args.offset === 0 && args.length >= size;
        const span = { start: args.offset, end: Math.min(args.offset + args.length, size) - 1 };
        const reader = await handle.read(grep !== undefined ? { grep } : whole ? {} : { span });
        const parts: string[] = [];
        let total = 0;
        const decoder = new TextDecoder();
        try {
          for await (const piece of reader.body) {
            const text = typeof piece === 'string' ? piece : decoder.decode(piece, { stream: true });
            total += text.length;
            if (total > MAX_LOG_TEXT)
              throw new BadRequest(`more than ${MAX_LOG_TEXT} characters match: narrow grep`, 'grep');
            parts.push(text);
          }
        } finally {
          reader.close();
        }
        return parts.join('') + decoder.decode();
      },
    },
  },
});

const nodeLogs = (manifestId: string, n: NodeView): LogSource[] =>
  n.logs.map((l) => ({ manifestId, nodeId: n.id, ...l }));

type NodeSource = NodeView & { manifestId: string };

const Node: GraphQLObjectType<NodeSource, GraphQLContext> = new GraphQLObjectType<NodeSource, GraphQLContext>({
  name: 'Node',
  fields: () => ({
    id: { type: nn(GraphQLString) },
    name: { type: GraphQLString },
    displayName: { type: GraphQLString },
    type: { type: GraphQLString },
    phase: { type: GraphQLString },
    templateName: { type: GraphQLString },
    startedAt: { type: GraphQLString },
    finishedAt: { type: GraphQLString },
    message: { type: GraphQLString },
    children: { type: list(GraphQLString), description: "the children's node ids" },
    childNodes: {
      type: list(Node),
      description: 'the children themselves (a tree walk: the depth limit bounds how far one query goes)',
      resolve: async (n, _a, ctx) => {
        const nodes = (await detailOf(ctx, n.manifestId)).nodes;
        return n.children.flatMap((id) => {
          const child = nodes.find((c) => c.id === id);
          return child ? [{ ...child, manifestId: n.manifestId }] : [];
        });
      },
    },
    logs: { type: list(Log), resolve: (n) => nodeLogs(n.manifestId, n) },
  }),
});

const Artifact = new GraphQLObjectType<CatalogEntry & { manifestId: string }>({
  name: 'Artifact',
  fields: {
    path: { type: nn(GraphQLString) },
    name: { type: GraphQLString, resolve: (a) => a.artifactName },
    nodeId: { type: GraphQLString },
    size: { type: GraphQLFloat },
    sha256: { type: GraphQLString },
    downloadUrl: {
      type: nn(GraphQLString),
      description: 'REST path that streams it (verified, ranges)',
      resolve: (a) =>
        `/api/v1/workflows/${a.manifestId}/artifacts/${a.path.split('/').map(encodeURIComponent).join('/')}`,
    },
  },
});

const Workflow = new GraphQLObjectType<CatalogWorkflow, GraphQLContext>({
  name: 'Workflow',
  description:
    'One archived workflow (one manifest). Fields below `archivedAt` read the archive: they need `get` and are audited',
  fields: () => ({
    manifestId: { type: nn(GraphQLID) },
    uid: { type: nn(GraphQLString) },
    namespace: { type: nn(GraphQLString) },
    name: { type: nn(GraphQLString) },
    phase: { type: GraphQLString },
    startedAt: { type: GraphQLString },
    finishedAt: { type: GraphQLString },
    archivedAt: { type: GraphQLString },
    labels: {
      type: list(Label),
      resolve: (w) => Object.entries(w.labels).map(([key, value]) => ({ key, value })),
    },
    group: { type: GraphQLString },
    incomplete: { type: nn(GraphQLBoolean) },
    entryCount: { type: nn(GraphQLInt), resolve: (w) => w.entries },
    bytes: { type: nn(GraphQLFloat), description: 'original size (Float: byte counts pass the 32 bits of Int)' },
    object: {
      type: JSONScalar,
      resolve: async (w, _a, ctx) => (await detailOf(ctx, w.manifestId)).object ?? null,
    },
    nodes: {
      type: list(Node),
      resolve: async (w, _a, ctx) =>
        (await detailOf(ctx, w.manifestId)).nodes.map((n) => ({ ...n, manifestId: w.manifestId })),
    },
    log: {
      type: Log,
      args: { nodeId: { type: nn(GraphQLString) }, container: { type: GraphQLString, defaultValue: 'main' } },
      resolve: async (w, args: { nodeId: string; container: string }, ctx) => {
        validate(nodeIdSchema, args.nodeId, 'argument nodeId');
        validate(logQuery, { container: args.container }, 'argument');
        const node = (await detailOf(ctx, w.manifestId)).nodes.find((n) => n.id === args.nodeId);
        return node && nodeLogs(w.manifestId, node).find((l) => l.container === args.container);
      },
    },
    artifacts: {
      type: list(Artifact),
      resolve: async (w, _a, ctx) =>
        (await ctx.service.artifacts(ctx.caller, w.manifestId)).map((a) => ({ ...a, manifestId: w.manifestId })),
    },
    holds: { type: list(Hold), resolve: async (w, _a, ctx) => (await detailOf(ctx, w.manifestId)).holds },
    extensions: {
      type: list(Extension),
      resolve: async (w, _a, ctx) => (await detailOf(ctx, w.manifestId)).extensions,
    },
    ...workflowRetentionFields,
  }),
});

const PageInfo = new GraphQLObjectType({
  name: 'PageInfo',
  fields: { hasNextPage: { type: nn(GraphQLBoolean) }, endCursor: { type: GraphQLString } },
});

const WorkflowEdge = new GraphQLObjectType({ name: 'WorkflowEdge', fields: { node: { type: nn(Workflow) } } });

const WorkflowConnection = new GraphQLObjectType({
  name: 'WorkflowConnection',
  description: 'A keyset page (no totals: counting 100k+ rows is what makes archive listings slow)',
  fields: {
    edges: { type: list(WorkflowEdge) },
    nodes: { type: list(Workflow) },
    pageInfo: { type: nn(PageInfo) },
  },
});

const SearchHit = new GraphQLObjectType<TextHit, GraphQLContext>({
  name: 'SearchHit',
  fields: {
    workflow: {
      type: nn(Workflow),
      resolve: (h, _a, ctx) => ctx.service.listedWorkflow(ctx.caller, h.manifestId),
    },
    nodeId: { type: GraphQLString },
    container: { type: GraphQLString },
    path: { type: nn(GraphQLString) },
    line: { type: nn(GraphQLInt) },
    snippet: { type: nn(GraphQLString), description: 'matches between « and »' },
    snippetText: { type: nn(GraphQLString) },
    highlights: {
      type: list(new GraphQLList(nn(GraphQLInt))),
      description: '[start, end) offsets in snippetText',
    },
  },
});

const WorkflowFilter = new GraphQLInputObjectType({
  name: 'WorkflowFilter',
  description: 'Same meaning and syntax as the REST list parameters (docs/api.md)',
  fields: {
    namespaces: { type: new GraphQLList(nn(GraphQLString)) },
    namePrefix: { type: GraphQLString },
    phases: { type: new GraphQLList(nn(GraphQLString)) },
    labelSelector: { type: GraphQLString },
    incomplete: { type: GraphQLBoolean },
    startedAfter: { type: GraphQLString },
    startedBefore: { type: GraphQLString },
    finishedAfter: { type: GraphQLString },
    finishedBefore: { type: GraphQLString },
    archivedAfter: { type: GraphQLString },
    archivedBefore: { type: GraphQLString },
    cel: {
      type: GraphQLString,
      description: 'CEL expression over each row, as REST `filter=` (docs/api.md): e.g. `phase == "Failed"`',
    },
  },
});

const WorkflowSortEnum = new GraphQLEnumType({
  name: 'WorkflowSort',
  values: { NEWEST: { value: 'newest' }, OLDEST: { value: 'oldest' }, NAME: { value: 'name' } },
});

type FilterInput = Record<string, string | string[] | boolean | null | undefined>;

/** GraphQL arguments → the REST query's string form → the same zod schema and conversion. */
function listArgs(filter: FilterInput | null | undefined, sort: string, first: number, after?: string | null) {
  const raw: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(filter ?? {})) {
    if (v === null || v === undefined) continue;
    const key = k === 'namespaces' ? 'namespace' : k === 'phases' ? 'phase' : k === 'cel' ? 'filter' : k;
    raw[key] = typeof v === 'boolean' ? String(v) : v;
  }
  raw.sort = sort;
  raw.limit = String(first);
  if (after !== null && after !== undefined) raw.cursor = after;
  const q = validate(listWorkflowsQuery, raw, 'argument');
  return { filters: workflowFilters(q), limit: q.limit ?? DEFAULT_PAGE_SIZE, cursor: q.cursor };
}

const workflowsField: GraphQLFieldConfig<unknown, GraphQLContext> = {
  type: nn(WorkflowConnection),
  args: {
    filter: { type: WorkflowFilter },
    sort: { type: WorkflowSortEnum, defaultValue: 'newest' },
    first: { type: GraphQLInt, defaultValue: DEFAULT_PAGE_SIZE, description: `1..${MAX_PAGE_SIZE}` },
    after: { type: GraphQLString, description: 'endCursor of the previous page (same filter and sort)' },
  },
  resolve: async (_root, args: { filter?: FilterInput; sort: string; first: number; after?: string }, ctx) => {
    const { filters, limit, cursor } = listArgs(args.filter, args.sort, args.first, args.after);
    const page = await ctx.service.listWorkflows(ctx.caller, filters, {
      limit,
      ...(cursor !== undefined && { cursor }),
    });
    return {
      nodes: page.items,
      edges: page.items.map((node) => ({ node })),
      pageInfo: { hasNextPage: page.nextCursor !== undefined, endCursor: page.nextCursor ?? null },
    };
  },
};

const restores = restoreFields(Workflow);

const Mutation = new GraphQLObjectType<unknown, GraphQLContext>({
  name: 'Mutation',
  fields: { ...restores.mutation, ...retentionMutations },
});

const Query = new GraphQLObjectType<unknown, GraphQLContext>({
  name: 'Query',
  fields: {
    ...restores.query,
    ...retentionQueries,
    workflows: workflowsField,
    workflow: {
      type: Workflow,
      args: { manifestId: { type: nn(GraphQLID) } },
      resolve: async (_root, args: { manifestId: string }, ctx) => {
        validate(manifestIdSchema, args.manifestId, 'argument manifestId');
        return ctx.service.readableWorkflow(ctx.caller, args.manifestId);
      },
    },
    search: {
      type: list(SearchHit),
      args: {
        q: { type: nn(GraphQLString) },
        namespaces: { type: new GraphQLList(nn(GraphQLString)) },
        first: { type: GraphQLInt, defaultValue: DEFAULT_SEARCH_HITS, description: `1..${MAX_SEARCH_HITS}` },
      },
      resolve: async (_root, args: { q: string; namespaces?: string[] | null; first: number }, ctx) => {
        const q = validate(
          searchQuery,
          { q: args.q, ...(args.namespaces && { namespace: args.namespaces }), limit: String(args.first) },
          'argument',
        );
        return ctx.service.search(ctx.caller, q.q, {
          ...(args.namespaces && { namespaces: args.namespaces }),
          limit: q.limit ?? DEFAULT_SEARCH_HITS,
        });
      },
    },
  },
});

export const schema = new GraphQLSchema({ query: Query, mutation: Mutation });
