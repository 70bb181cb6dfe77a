// The REST routes as data: the server dispatches on them and the OpenAPI document describes them, one list.
import { z } from 'zod';
import {
  artifactList,
  auditEventList,
  auditEventsQuery,
  entryPathSchema,
  approvalList,
  approvalsQuery,
  extensionRequest,
  extensionRequestState,
  extensionWrite,
  health,
  holdList,
  holdRequest,
  holdWrite,
  listWorkflowsQuery,
  logQuery,
  manifestIdSchema,
  nodeIdSchema,
  policyExplanation,
  problem,
  recordIdSchema,
  rejectRequest,
  releaseRequest,
  restoreIdSchema,
  restoreJob,
  restoreList,
  restoreRequest,
  searchQuery,
  searchResult,
  workflowDetail,
  workflowPage,
  workflowTimeline,
} from './schemas.ts';
import { dailyStats, dailyStatsQuery, storageQuery, storageReport, verifyStatus } from './status-schemas.ts';

export type RouteName =
  | 'health'
  | 'ready'
  | 'openapi'
  | 'listWorkflows'
  | 'getWorkflow'
  | 'nodeLog'
  | 'listArtifacts'
  | 'getArtifact'
  | 'search'
  | 'createRestore'
  | 'listRestores'
  | 'getRestore'
  | 'cancelRestore'
  | 'getRestoreFile'
  | 'listHolds'
  | 'setHold'
  | 'releaseHold'
  | 'addExtension'
  | 'approveExtension'
  | 'rejectExtension'
  | 'listApprovals'
  | 'storage'
  | 'dailyStats'
  | 'verifyStatus'
  | 'explainPolicy'
  | 'getTimeline'
  | 'listAuditEvents';

export interface RouteSpec {
  name: RouteName;
  /** Default GET. */
  method?: 'GET' | 'POST';
  /** OpenAPI path template; `{x}` segments are path parameters. */
  path: string;
  summary: string;
  /** False for probes and the API document. */
  authenticated: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** A JSON request body (POST). */
  body?: z.ZodType;
  /** Success status when not 200 (a new job: 202, a new hold: 201; the same request again answers 200). */
  created?: 201 | 202;
  /** The 200 body: a JSON schema, a text stream or a byte stream. */
  response: z.ZodType | 'text' | 'binary';
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
    name: 'listArtifacts',
    path: '/api/v1/workflows/{manifestId}/artifacts',
    summary: "A workflow's archived artifacts (catalog metadata, not audited)",
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema }).strict(),
    response: artifactList,
  },
  {
    name: 'getArtifact',
    path: '/api/v1/workflows/{manifestId}/artifacts/{path}',
    summary: 'One artifact file, streamed from the archive and verified; Range requests',
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema, path: entryPathSchema }).strict(),
    response: 'binary',
    ranges: true,
  },
  {
    name: 'explainPolicy',
    path: '/api/v1/workflows/{manifestId}/policy',
    summary: "The retention policy's explanation: every rule's verdict, the winner and why, the schedule, holds",
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema }).strict(),
    response: policyExplanation,
  },
  {
    name: 'getTimeline',
    path: '/api/v1/workflows/{manifestId}/timeline',
    summary: "The workflow's tier timeline: archived, tier moves, holds, extensions, and what the policy plans next",
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema }).strict(),
    response: workflowTimeline,
  },
  {
    name: 'listAuditEvents',
    path: '/api/v1/workflows/{manifestId}/audit',
    summary: 'The newest audit records about the workflow (reads, restores, holds, tier moves), newest first',
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema }).strict(),
    query: auditEventsQuery,
    response: auditEventList,
  },
  {
    name: 'listHolds',
    path: '/api/v1/workflows/{manifestId}/holds',
    summary: "A workflow's legal holds (released ones too) and retention extensions",
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema }).strict(),
    response: holdList,
  },
  {
    name: 'setHold',
    method: 'POST',
    path: '/api/v1/workflows/{manifestId}/holds',
    summary:
      'Place a legal hold on the workflow (every archive of its uid): audited, locked in the store; idempotent by id',
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema }).strict(),
    body: holdRequest,
    created: 201,
    response: holdWrite,
  },
  {
    name: 'releaseHold',
    method: 'POST',
    path: '/api/v1/workflows/{manifestId}/holds/{holdId}/release',
    summary: 'Release a hold: a release record beside it (the hold stays as history); audited; idempotent',
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema, holdId: recordIdSchema }).strict(),
    body: releaseRequest,
    response: holdWrite,
  },
  {
    name: 'addExtension',
    method: 'POST',
    path: '/api/v1/workflows/{manifestId}/extensions',
    summary: "Keep the workflow at least until a date (past the configured limit only with another person's approval)",
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema }).strict(),
    body: extensionRequest,
    created: 201,
    response: extensionWrite,
  },
  {
    name: 'approveExtension',
    method: 'POST',
    path: '/api/v1/workflows/{manifestId}/extensions/{extensionId}/approve',
    summary:
      "Approve another person's pending extension as the second person (needs approve in the namespace); idempotent",
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema, extensionId: recordIdSchema }).strict(),
    created: 201,
    response: extensionWrite,
  },
  {
    name: 'rejectExtension',
    method: 'POST',
    path: '/api/v1/workflows/{manifestId}/extensions/{extensionId}/reject',
    summary: 'Turn a pending extension request down for good (needs approve in the namespace); idempotent',
    authenticated: true,
    params: z.object({ manifestId: manifestIdSchema, extensionId: recordIdSchema }).strict(),
    body: rejectRequest,
    response: extensionRequestState,
  },
  {
    name: 'listApprovals',
    path: '/api/v1/approvals',
    summary: 'Pending extension requests waiting for a second person, in the namespaces the caller may approve in',
    authenticated: true,
    query: approvalsQuery,
    response: approvalList,
  },
  {
    name: 'createRestore',
    method: 'POST',
    path: '/api/v1/restores',
    summary: 'Start a restore job (whole workflow, one log, one artifact); idempotent by requestId',
    authenticated: true,
    body: restoreRequest,
    created: 202,
    response: restoreJob,
  },
  {
    name: 'listRestores',
    path: '/api/v1/restores',
    summary: "The caller's restore jobs, newest first",
    authenticated: true,
    response: restoreList,
  },
  {
    name: 'getRestore',
    path: '/api/v1/restores/{restoreId}',
    summary: 'A restore job: phase, progress, and once Succeeded the verified files',
    authenticated: true,
    params: z.object({ restoreId: restoreIdSchema }).strict(),
    response: restoreJob,
  },
  {
    name: 'cancelRestore',
    method: 'POST',
    path: '/api/v1/restores/{restoreId}/cancel',
    summary: 'Cancel a pending or running restore job (its partial files are removed)',
    authenticated: true,
    params: z.object({ restoreId: restoreIdSchema }).strict(),
    response: restoreJob,
  },
  {
    name: 'getRestoreFile',
    path: '/api/v1/restores/{restoreId}/files/{path}',
    summary: "One file of a finished restore job's result",
    authenticated: true,
    params: z.object({ restoreId: restoreIdSchema, path: entryPathSchema }).strict(),
    response: 'binary',
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
  {
    name: 'storage',
    path: '/api/v1/storage',
    summary:
      'Stored bytes and monthly cost per tier and per policy (retention class) for the namespaces the caller may list',
    authenticated: true,
    query: storageQuery,
    response: storageReport,
  },
  {
    name: 'dailyStats',
    path: '/api/v1/stats/daily',
    summary: 'Archived workflows per UTC day and phase in the namespaces the caller may list (at most 366 days)',
    authenticated: true,
    query: dailyStatsQuery,
    response: dailyStats,
  },
  {
    name: 'verifyStatus',
    path: '/api/v1/verify-status',
    summary: 'The last verify, scrub and drill runs, their results, and the packs whose last read failed',
    authenticated: true,
    response: verifyStatus,
  },
];

export const problemSchema = problem;

/**
 * Matches a request to a route and its raw path parameters (decoded). A path that exists for other methods only
 * answers `{ allow }` (for a 405).
 */
export function matchRoute(
  pathname: string,
  method = 'GET',
): { route: RouteSpec; params: Record<string, string> } | { allow: string[] } | undefined {
  const allow = new Set<string>();
  for (const route of ROUTES) {
    const params = matchPath(route, pathname);
    if (!params) continue;
    if ((route.method ?? 'GET') === method) return { route, params };
    allow.add(route.method ?? 'GET');
  }
  return allow.size ? { allow: [...allow] } : undefined;
}

function matchPath(route: RouteSpec, pathname: string): Record<string, string> | undefined {
  const parts = pathname.split('/');
  {
    const pattern = route.path.split('/');
    if (pattern.length !== parts.length) return undefined;
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
    if (ok) return params;
  }
  return undefined;
}
