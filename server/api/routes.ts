// The REST routes as data: the server dispatches on them and the OpenAPI document describes them, one list.
import { z } from 'zod';
import {
  health,
  listWorkflowsQuery,
  logQuery,
  manifestIdSchema,
  nodeIdSchema,
  problem,
  searchQuery,
  searchResult,
  workflowDetail,
  workflowPage,
} from './schemas.ts';

export type RouteName = 'health' | 'ready' | 'openapi' | 'listWorkflows' | 'getWorkflow' | 'nodeLog' | 'search';

export interface RouteSpec {
  name: RouteName;
  /** OpenAPI path template; `{x}` segments are path parameters. */
  path: string;
  summary: string;
  /** False for probes and the API document. */
  authenticated: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** The 200 body: a JSON schema, or a text stream. */
  response: z.ZodType | 'text';
  /** Answers byte ranges (206 / 416). */
  ranges?: boolean;
}

export const ROUTES: readonly RouteSpec[] = [
  {
    name: 'health',
    path: '/healthz',
    summary: 'Liveness: the process answers',
    authenticated: false,
    response: health,
  },
  {
    name: 'ready',
    path: '/readyz',
    summary: 'Readiness: the catalog answers a query',
    authenticated: false,
    response: health,
  },
  {
    name: 'openapi',
    path: '/openapi.json',
    summary: 'This document',
    authenticated: false,
    response: z.record(z.string(), z.unknown()),
  },
  {
    name: 'listWorkflows',
    path: '/api/v1/workflows',
    summary: 'List archived workflows the caller may see, one page at a time (keyset cursor)',
    authenticated: true,
    query: listWorkflowsQuery,
    response: workflowPage,
  },
  {
    name: 'getWorkflow',
    path: '/api/v1/workflows/{manifestId}',
    summary: 'One archived workflow: its object, node tree, entries, holds and extensions',
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema }).strict(),
    response: workflowDetail,
  },
  {
    name: 'nodeLog',
    path: '/api/v1/workflows/{manifestId}/nodes/{nodeId}/log',
    summary: "A node's container log, streamed; Range requests, or ?grep= for matching lines",
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema, nodeId: nodeIdSchema }).strict(),
    query: logQuery,
    response: 'text',
    ranges: true,
  },
  {
    name: 'search',
    path: '/api/v1/search',
    summary: 'Full-text search over archived logs the caller may see: hits with node, line and highlighted snippet',
    authenticated: true,
    query: searchQuery,
    response: searchResult,
  },
];

export const problemSchema = problem;

/** Matches a request path to a route and its raw path parameters (decoded). */
export function matchRoute(pathname: string): { route: RouteSpec; params: Record<string, string> } | undefined {
  const parts = pathname.split('/');
  for (const route of ROUTES) {
    const pattern = route.path.split('/');
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const p = pattern[i]!;
      if (p.startsWith('{')) {
        let value: string;
        try {
          value = decodeURIComponent(parts[i]!);
        } catch {
          value = parts[i]!; // malformed escapes fail the parameter's schema, with its message
        }
        params[p.slice(1, -1)] = value;
      } else ok = p === parts[i];
    }
    if (ok) return { route, params };
  }
  return undefined;
}
