// The REST server: routes from server/api, bearer-token callers, namespace checks, audited reads, 4xx for bad input.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { z } from 'zod';
import { parseWorkflowDocument } from '../../lib/bundle/workflow-text.ts';
import type { AuditLog } from '../../lib/audit/audit.ts';
import type { Catalog, CatalogWorkflow, WorkflowPageQuery } from '../../lib/catalog/catalog.ts';
import { readManifest } from '../../lib/archive/manifest-lookup.ts';
import { streamEntry } from '../../lib/archive/restorer.ts';
import type { Repository } from '../../lib/archive/repository.ts';
import { ConfigError, describeError, InputError, NotFoundError } from '../../lib/errors.ts';
import type { HoldsAndExtensions } from '../../lib/policy/holds.ts';
import { decodeCursor, encodeCursor, queryFingerprint } from '../api/cursor.ts';
import { BadRequest, HttpError } from '../api/errors.ts';
import { parseLabelSelector } from '../api/label-selector.ts';
import { openApiDocument } from '../api/openapi.ts';
import { matchRoute, type RouteName, type RouteSpec } from '../api/routes.ts';
import {
  DEFAULT_PAGE_SIZE,
  listWorkflowsQuery,
  logQuery,
  MAX_PAGE_SIZE,
  MAX_SEARCH_HITS,
  searchQuery,
} from '../api/schemas.ts';
import { nodeTree } from '../api/workflow-detail.ts';
import { visibleNamespaces, type Authenticator, type Authorizer, type Caller } from '../auth/access.ts';
import { grepLines, parseRange, sliceBytes } from './log-stream.ts';

/** A Workflow object larger than this is not inlined in the detail (its entry can be restored instead). */
const MAX_OBJECT_BYTES = 32 * 1024 * 1024;
const MAX_URL_LENGTH = 8192;

export interface ServerDeps {
  catalog: Catalog;
  repository(): Promise<Repository>;
  holds(workflowUid: string): Promise<HoldsAndExtensions>;
  authenticator: Authenticator;
  authorizer: Authorizer;
  audit: AuditLog;
  version: string;
  /** Errors that became a 500 (logged by the command; the client gets no detail). */
  onInternalError?(err: unknown): void;
}

interface Request {
  route: RouteSpec;
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  caller: Caller;
  headers: IncomingMessage['headers'];
}

type Handler = (deps: ServerDeps, req: Request, res: ServerResponse) => Promise<void>;

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, field?: string): void {
  const extra: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer realm="strata"' } : {};
  sendJson(res, status, { error: { status, message, ...(field !== undefined && { field }) } }, extra);
}

/** Parses with a route's schema; the first issue becomes a 400 naming the parameter. */
function validate<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.');
  const what =
    issue.code === 'unrecognized_keys' ? `unknown ${where} parameter(s) ${field}` : `${where} parameter ${field}`;
  throw new BadRequest(issue.code === 'unrecognized_keys' ? what : `${what}: ${issue.message}`, field || undefined);
}

function queryObject(url: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

const asList = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

function pageSize(raw: string | undefined, dflt: number, max: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (n < 1 || n > max) throw new BadRequest(`limit must be between 1 and ${max}, got ${raw}`, 'limit');
  return n;
}

const date = (s: string | undefined) => (s === undefined ? undefined : new Date(s));
function range(from: string | undefined, to: string | undefined, name: string) {
  if (from === undefined && to === undefined) return undefined;
  const r = { ...(from !== undefined && { from: date(from)! }), ...(to !== undefined && { to: date(to)! }) };
  if (r.from && r.to && r.from >= r.to)
    throw new BadRequest(`${name}After must be before ${name}Before`, `${name}After`);
  return r;
}

/** The namespaces a list or search may read: those asked for (each must be allowed), else every allowed one. */
async function readableNamespaces(deps: ServerDeps, caller: Caller, asked: string[] | undefined): Promise<string[]> {
  if (asked !== undefined) {
    const allowed = await visibleNamespaces(deps.authorizer, caller, 'list', asked);
    const denied = asked.filter((ns) => !allowed.includes(ns));
    if (denied.length) throw new HttpError(403, `${caller.username} may not list archives in namespace ${denied[0]}`);
    return allowed;
  }
  return visibleNamespaces(deps.authorizer, caller, 'list', deps.catalog.namespaces());
}

const summary = (w: CatalogWorkflow) => w;

const listWorkflows: Handler = async (deps, req, res) => {
  const q = validate(listWorkflowsQuery, req.query, 'query');
  const filters = {
    namespaces: asList(q.namespace),
    namePrefix: q.namePrefix,
    phases: asList(q.phase),
    labels: q.labelSelector !== undefined ? parseLabelSelector(q.labelSelector) : undefined,
    incomplete: q.incomplete === undefined ? undefined : q.incomplete === 'true',
    started: range(q.startedAfter, q.startedBefore, 'started'),
    finished: range(q.finishedAfter, q.finishedBefore, 'finished'),
    archived: range(q.archivedAfter, q.archivedBefore, 'archived'),
    sort: q.sort ?? 'newest',
  };
  const fingerprint = queryFingerprint(filters);
  const after = q.cursor !== undefined ? decodeCursor(q.cursor, fingerprint) : undefined;
  const namespaces = await readableNamespaces(deps, req.caller, filters.namespaces);
  const query: WorkflowPageQuery = {
    ...filters,
    namespaces,
    ...(after && { after }),
    limit: pageSize(q.limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
  };
  const page = deps.catalog.page(query);
  sendJson(res, 200, {
    items: page.items.map(summary),
    ...(page.last && { nextCursor: encodeCursor(fingerprint, page.last) }),
  });
};

/** The catalog row of a manifest the caller may read; the same 404 whether it is absent or in a namespace they cannot see. */
async function readableWorkflow(deps: ServerDeps, caller: Caller, manifestId: string): Promise<CatalogWorkflow> {
  const row = deps.catalog.get(manifestId).find((w) => w.manifestId === manifestId);
  const notFound = new HttpError(404, `no archived workflow with manifest id ${manifestId}`);
  if (!row) throw notFound;
  if (await deps.authorizer.allows(caller, 'get', row.namespace)) return row;
  // Someone who may list the namespace already knows the workflow exists: tell them why they cannot open it.
  if (await deps.authorizer.allows(caller, 'list', row.namespace))
    throw new HttpError(403, `${caller.username} may not read archives in namespace ${row.namespace}`);
  throw notFound;
}

async function readAll(stream: AsyncIterable<Uint8Array>, max: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const p of stream) {
    size += p.length;
    if (size > max) return undefined;
    parts.push(Buffer.from(p));
  }
  return Buffer.concat(parts);
}

async function audited(deps: ServerDeps, caller: Caller, subject: string, details: Record<string, unknown>) {
  try {
    await deps.audit.record({
      action: 'read',
      actor: caller.username,
      subject,
      outcome: 'ok',
      details: { ...details, authenticatedBy: caller.via, groups: caller.groups },
    });
  } catch (err) {
    // A read whose record cannot be written does not happen.
    throw new HttpError(503, `cannot record the audit entry of this read: ${describeError(err)}`);
  }
}

const getWorkflow: Handler = async (deps, req, res) => {
  const manifestId = req.params.manifestId!;
  const row = await readableWorkflow(deps, req.caller, manifestId);
  const repo = await deps.repository();
  const manifest = await readManifest(repo, manifestId);
  const wfEntry = manifest.entries.find((e) => e.path === manifest.workflowPath);
  await audited(deps, req.caller, manifestId, { what: 'workflow', namespace: row.namespace, name: row.name });
  let object: Record<string, unknown> | undefined;
  if (wfEntry && wfEntry.size <= MAX_OBJECT_BYTES) {
    const bytes = await readAll(streamEntry(repo, manifest, wfEntry), MAX_OBJECT_BYTES);
    const doc = bytes && (parseWorkflowDocument(bytes.toString('utf8'), wfEntry.path) as Record<string, unknown>);
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
      const items = doc.items;
      object = Array.isArray(items)
        ? ((items as Record<string, unknown>[]).find(
            (i) => (i.metadata as { uid?: string } | undefined)?.uid === row.uid,
          ) ?? (items[0] as Record<string, unknown> | undefined))
        : doc;
    }
  }
  const entries = deps.catalog.entries(manifestId);
  const { holds, extensions } = await deps.holds(row.uid);
  sendJson(res, 200, {
    workflow: summary(row),
    ...(object && { object }),
    nodes: nodeTree(object, entries),
    entries,
    holds: holds.map(({ workflowUid: _u, ...h }) => (void _u, h)),
    extensions: extensions.map(({ workflowUid: _u, ...e }) => (void _u, e)),
  });
};

const nodeLog: Handler = async (deps, req, res) => {
  const { manifestId, nodeId } = req.params as { manifestId: string; nodeId: string };
  const q = validate(logQuery, req.query, 'query');
  const container = q.container ?? 'main';
  const row = await readableWorkflow(deps, req.caller, manifestId);
  const repo = await deps.repository();
  const manifest = await readManifest(repo, manifestId);
  const entry = manifest.entries.find(
    (e) => e.kind === 'log' && e.nodeId === nodeId && (e.container ?? 'main') === container,
  );
  if (!entry)
    throw new HttpError(404, `workflow ${row.namespace}/${row.name} has no ${container} log of node ${nodeId}`);
  const span = q.grep === undefined ? parseRange(req.headers.range, entry.size) : undefined;
  if (q.grep !== undefined && req.headers.range)
    throw new BadRequest('Range and grep cannot be combined: the filtered text has no fixed length', 'grep');
  if (span === 'unsatisfiable') {
    res.setHeader('content-range', `bytes */${entry.size}`);
    throw new HttpError(416, `range ${req.headers.range} is outside the log's ${entry.size} bytes`);
  }
  await audited(deps, req.caller, manifestId, {
    what: 'log',
    namespace: row.namespace,
    name: row.name,
    path: entry.path,
    ...(q.grep !== undefined && { grep: q.grep }),
    ...(span && { range: `${span.start}-${span.end}` }),
  });
  const source = streamEntry(repo, manifest, entry);
  const headers = {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  };
  let body: AsyncIterable<Uint8Array | string>;
  if (q.grep !== undefined) {
    res.writeHead(200, headers);
    body = grepLines(source, q.grep);
  } else if (span) {
    res.writeHead(206, {
      ...headers,
      'accept-ranges': 'bytes',
      'content-range': `bytes ${span.start}-${span.end}/${entry.size}`,
      'content-length': span.end - span.start + 1,
    });
    body = sliceBytes(source, span);
  } else {
    res.writeHead(200, { ...headers, 'accept-ranges': 'bytes', 'content-length': entry.size });
    body = source;
  }
  try {
    await pipeline(Readable.from(body), res);
  } finally {
    source.destroy();
  }
};

const search: Handler = async (deps, req, res) => {
  const q = validate(searchQuery, req.query, 'query');
  const namespaces = await readableNamespaces(deps, req.caller, asList(q.namespace));
  let hits;
  try {
    hits = deps.catalog.searchText(q.q, { namespaces, limit: pageSize(q.limit, 20, MAX_SEARCH_HITS) });
  } catch (err) {
    if (err instanceof ConfigError) throw new BadRequest(`q: ${err.message}`, 'q');
    throw err;
  }
  await audited(deps, req.caller, 'search', {
    what: 'search',
    q: q.q,
    namespaces,
    manifests: [...new Set(hits.map((h) => h.manifestId))],
  });
  sendJson(res, 200, { hits });
};

const HANDLERS: Record<Exclude<RouteName, 'health' | 'ready' | 'openapi'>, Handler> = {
  listWorkflows,
  getWorkflow,
  nodeLog,
  search,
};

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(header ?? '');
  return m?.[1];
}

/** The request handler for node:http's createServer. */
export function createApp(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const document = openApiDocument(deps.version);
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? '').length > MAX_URL_LENGTH) return sendError(res, 414, `URL longer than ${MAX_URL_LENGTH} bytes`);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://strata.invalid');
    } catch {
      return sendError(res, 400, 'malformed request URL');
    }
    const matched = matchRoute(url.pathname);
    if (!matched) return sendError(res, 404, `no route ${url.pathname}`);
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return sendError(res, 405, `${req.method} is not allowed on ${matched.route.path}`);
    }
    const { route } = matched;
    if (route.name === 'health') return sendJson(res, 200, { status: 'ok' });
    if (route.name === 'openapi') return sendJson(res, 200, document);
    if (route.name === 'ready') {
      try {
        deps.catalog.namespaces();
        await deps.repository();
        return sendJson(res, 200, { status: 'ok' });
      } catch (err) {
        return sendJson(res, 503, { error: { status: 503, message: `not ready: ${describeError(err)}` } });
      }
    }
    const token = bearer(req.headers.authorization);
    if (!token) return sendError(res, 401, 'a bearer token is required (Authorization: Bearer <token>)');
    const caller = await deps.authenticator.authenticate(token);
    if (!caller) return sendError(res, 401, 'the bearer token is not valid');
    const params = route.params
      ? (validate(route.params, matched.params, 'path') as Record<string, string>)
      : matched.params;
    await HANDLERS[route.name](deps, { route, params, query: queryObject(url), caller, headers: req.headers }, res);
  };
  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        // Mid-stream (e.g. a chunk that does not verify): cut the connection so the client sees a broken body.
        deps.onInternalError?.(err);
        res.destroy();
        return;
      }
      if (err instanceof HttpError) return sendError(res, err.status, err.message, err.field);
      if (err instanceof NotFoundError) return sendError(res, 404, describeError(err));
      if (err instanceof InputError || err instanceof ConfigError) return sendError(res, 400, describeError(err));
      deps.onInternalError?.(err);
      sendError(res, 500, 'internal error (logged by the server)');
    });
  };
}
