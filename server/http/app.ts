// The REST server: routes from server/api, bearer-token callers, 4xx for bad input; data through the ArchiveService.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AuditLog } from '../../lib/audit/audit.ts';
import type { WrittenRecord } from '../../lib/audit/log-format.ts';
import { auditRecords } from '../../lib/audit/store-log.ts';
import { loadPolicySet, type PolicySet } from '../../lib/policy/index.ts';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import type { Repository } from '../../lib/archive/repository.ts';
import { ArchivedObjectError, ConfigError, describeError, InputError, NotFoundError } from '../../lib/errors.ts';
import { COLD_MESSAGE } from '../api/errors.ts';
import type { ApprovalStore } from '../../lib/identity/approval.ts';
import { StoreApprovals } from '../../lib/identity/store-approvals.ts';
import { BadRequest, HttpError } from '../api/errors.ts';
import { asList, validate, workflowFilters } from '../api/list-params.ts';
import { openApiDocument } from '../api/openapi.ts';
import { matchRoute, type RouteName } from '../api/routes.ts';
import { DEFAULT_PAGE_SIZE, DEFAULT_SEARCH_HITS, listWorkflowsQuery, logQuery, searchQuery } from '../api/schemas.ts';
import { presentedTokens, type Authenticator, type Authorizer, type Caller } from '../auth/access.ts';
import type { RestoreJobService } from '../restores/job.ts';
import { ArchiveService, type EntryHandle } from '../service/archive-service.ts';
import { RetryLater, SearchQueue, type SearchLimits } from '../service/search-queue.ts';
import { HoldService } from '../service/hold-service.ts';
import { RetentionView } from '../service/retention-view.ts';
import { explainPolicy, getTimeline, listAuditEvents } from './retention-handlers.ts';
import {
  addExtension,
  approveExtension,
  listApprovals,
  listHolds,
  rejectExtension,
  releaseHold,
  setHold,
} from './hold-handlers.ts';
import { BUILT_IN_PRICES, StorageUsage, type PriceTable } from '../service/storage-usage.ts';
import { VerifyStatusReader } from '../service/verify-status.ts';
import type { LiveConfig } from '../service/live-config.ts';
import { answerGraphQL } from './graphql-endpoint.ts';
import { parseRange } from './range.ts';
import { requestTarget, type RequestTarget } from './request-target.ts';
import { loadUi, UI_HEADERS } from './static-ui.ts';
import { ServerMetrics } from './metrics.ts';
import { RateLimiter, type RateLimit } from './rate-limit.ts';
import { dailyStats, storage, verifyStatus } from './status-handlers.ts';
import { cancelRestore, createRestore, getRestore, getRestoreFile, listRestores } from './restore-handlers.ts';
import { sendError, sendJson, type Context, type Handler, type Request } from './respond.ts';

const MAX_URL_LENGTH = 8192;

export interface ServerDeps {
  catalog: Catalog;
  repository(): Promise<Repository>;
  authenticator: Authenticator;
  authorizer: Authorizer;
  audit: AuditLog;
  version: string;
  /** The dashboard's directory (default: server/ui beside this module), or false to serve none. */
  ui?: string | false;
  /** Requests per verified caller (429 with Retry-After past it); none when absent. */
  rateLimit?: RateLimit;
  /** Seconds, monotonic (tests step it). */
  clock?: () => number;
  /** Full-text search admission (concurrency, queue, wait, per caller, cost); defaults when absent. */
  search?: Partial<SearchLimits>;
  /** Prices per tier for the storage panel (default: the built-in copy of policies/pricing.yaml). */
  prices?: PriceTable;
  /** Restore jobs; without them the restore routes answer 503. */
  restores?: RestoreJobService;
  /** Where a second person's approvals are found (a cluster's); default: the archive store's (embedded mode). */
  approvals?: () => Promise<ApprovalStore | undefined>;
  /** Where an approver's approval is created as their own act (a cluster: with their token); default: `approvals`. */
  approvalsAs?: (approver: Caller) => Promise<ApprovalStore>;
  /** Configuration extendApprovalBeyond (default 1y). */
  extendApprovalBeyond?: string;
  /** The retention policies explained per workflow (`strata serve --policy`); the built-in defaults when absent. */
  policySet?: PolicySet;
  /** Policies and prices re-read while serving: they take precedence over policySet and prices, and /readyz
   * and /metrics report their reloads. */
  live?: { policies?: LiveConfig<PolicySet>; prices?: LiveConfig<PriceTable> };
  /** The audit log read back for a workflow's audit events; the archive store's log when absent. */
  auditRecords?: () => AsyncIterable<WrittenRecord>;
  /** Errors that became a 500 (logged by the command; the client gets no detail). */
  onInternalError?(err: unknown): void;
}

function queryObject(url: RequestTarget): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

const listWorkflows: Handler = async (ctx, req, res) => {
  const q = validate(listWorkflowsQuery, req.query, 'query');
  const page = await ctx.service.listWorkflows(req.caller, workflowFilters(q), {
    limit: q.limit ?? DEFAULT_PAGE_SIZE,
    ...(q.cursor !== undefined && { cursor: q.cursor }),
  });
  sendJson(res, 200, page);
};

const getWorkflow: Handler = async (ctx, req, res) => {
  sendJson(res, 200, await ctx.service.workflow(req.caller, req.params.manifestId!));
};

const TEXT_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

/** Streams a log or artifact: whole, one byte range (206/416), or (logs) the lines matching ?grep=. */
async function sendEntry(
  handle: EntryHandle,
  req: Request,
  res: ServerResponse,
  contentType: string,
  grep?: string,
): Promise<void> {
  const { entry } = handle;
  if (grep !== undefined && req.headers.range)
    throw new BadRequest('Range and grep cannot be combined: the filtered text has no fixed length', 'grep');
  const span = grep === undefined ? parseRange(req.headers.range, entry.size) : undefined;
  if (span === 'unsatisfiable') {
    res.setHeader('content-range', `bytes */${entry.size}`);
    throw new HttpError(416, `range ${req.headers.range} is outside the ${entry.size} bytes of ${entry.path}`);
  }
  const reader = await handle.read({ ...(span && { span }), ...(grep !== undefined && { grep }) });
  // The first chunk is read before the status is sent, so a failure to start (cold packs) is an answer, not a cut.
  let body: AsyncIterable<Uint8Array | string>;
  try {
    body = await started(reader.body);
  } catch (err) {
    reader.close();
    throw err;
  }
  const headers = { 'content-type': contentType, ...TEXT_HEADERS };
  if (grep !== undefined) res.writeHead(200, headers);
  else if (span)
    res.writeHead(206, {
      ...headers,
      'accept-ranges': 'bytes',
      'content-range': `bytes ${span.start}-${span.end}/${entry.size}`,
      'content-length': span.end - span.start + 1,
    });
  else res.writeHead(200, { ...headers, 'accept-ranges': 'bytes', 'content-length': entry.size });
  try {
    await pipeline(Readable.from(body), res);
  } finally {
    reader.close();
  }
}

/** The stream with its first chunk already read (an error reading it is thrown here), then the rest. */
async function started<T>(body: AsyncIterable<T>): Promise<AsyncIterable<T>> {
  const it = body[Symbol.asyncIterator]();
  const first = await it.next();
  return {
    async *[Symbol.asyncIterator]() {
      if (first.done) return;
      yield first.value;
      yield* { [Symbol.asyncIterator]: () => it }; // delegates return(): a client gone stops the read
    },
  };
}

const nodeLog: Handler = async (ctx, req, res) => {
  const { manifestId, nodeId } = req.params as { manifestId: string; nodeId: string };
  const q = validate(logQuery, req.query, 'query');
  const handle = await ctx.service.entry(req.caller, manifestId, {
    kind: 'log',
    nodeId,
    container: q.container ?? 'main',
  });
  await sendEntry(handle, req, res, 'text/plain; charset=utf-8', q.grep);
};

const search: Handler = async (ctx, req, res) => {
  const q = validate(searchQuery, req.query, 'query');
  // A client that goes away stops its search (in the queue or running): nobody would read the answer.
  const gone = new AbortController();
  const onClose = () => gone.abort(new HttpError(499, 'the client closed the connection before the answer'));
  res.once('close', onClose);
  try {
    const hits = await ctx.service.search(req.caller, q.q, {
      ...(q.namespace !== undefined && { namespaces: asList(q.namespace) }),
      limit: q.limit ?? DEFAULT_SEARCH_HITS,
      signal: gone.signal,
    });
    sendJson(res, 200, { hits });
  } finally {
    res.off('close', onClose);
  }
};

const listArtifacts: Handler = async (ctx, req, res) => {
  sendJson(res, 200, { items: await ctx.service.artifacts(req.caller, req.params.manifestId!) });
};

const getArtifact: Handler = async (ctx, req, res) => {
  const { manifestId, path } = req.params as { manifestId: string; path: string };
  const handle = await ctx.service.entry(req.caller, manifestId, { kind: 'artifact', path });
  res.setHeader('content-disposition', `attachment; filename="${basename(path).replace(/[^\w.-]/g, '_')}"`);
  await sendEntry(handle, req, res, 'application/octet-stream');
};

const HANDLERS: Record<Exclude<RouteName, 'health' | 'ready' | 'openapi'>, Handler> = {
  listWorkflows,
  getWorkflow,
  nodeLog,
  listArtifacts,
  getArtifact,
  search,
  createRestore,
  listRestores,
  getRestore,
  cancelRestore,
  getRestoreFile,
  listHolds,
  setHold,
  releaseHold,
  addExtension,
  approveExtension,
  rejectExtension,
  listApprovals,
  storage,
  dailyStats,
  verifyStatus,
  explainPolicy,
  getTimeline,
  listAuditEvents,
};

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(header ?? '');
  return m?.[1];
}

/** The request handler for node:http's createServer. */
export function createApp(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const document = openApiDocument(deps.version);
  const searchQueue = new SearchQueue(deps.search);
  // Without a cluster's approvals, a second person's approval is a record in the archive store (embedded mode).
  const storeApprovals = async () => new StoreApprovals((await deps.repository()).store);
  const approvals = deps.approvals ?? storeApprovals;
  const holds = new HoldService({
    ...deps,
    store: async () => (await deps.repository()).store,
    approvals,
    approvalsAs:
      deps.approvalsAs ??
      (async () => {
        const store = await approvals();
        if (!store) throw new HttpError(503, 'this server has no approval store');
        return store;
      }),
    extendApprovalBeyond: deps.extendApprovalBeyond ?? '1y',
  });
  const service = new ArchiveService({ ...deps, searchQueue, holds: (uid) => holds.recordsOf(uid) });
  const store = async () => (await deps.repository()).store;
  const fixedPolicies = deps.policySet ?? loadPolicySet([]).policySet;
  const fixedPrices = deps.prices ?? BUILT_IN_PRICES;
  const live = deps.live ?? {};
  const retention = new RetentionView({
    archive: service,
    repository: deps.repository,
    holds: (uid) => holds.recordsOf(uid),
    policySet: () => live.policies?.current() ?? fixedPolicies,
    auditRecords:
      deps.auditRecords ??
      async function* () {
        yield* auditRecords(await store());
      },
  });
  const ctx: Context = {
    service,
    holds,
    retention,
    restores: deps.restores,
    storage: new StorageUsage({ catalog: deps.catalog, store, prices: () => live.prices?.current() ?? fixedPrices }),
    verifyStatus: new VerifyStatusReader({ store }),
  };
  const ui = deps.ui === false ? undefined : loadUi(deps.ui);
  const metrics = new ServerMetrics();
  const limiter = deps.rateLimit ? new RateLimiter(deps.rateLimit, deps.clock) : undefined;
  /** The verified caller, or undefined after answering 401. */
  const authenticate = async (req: IncomingMessage, res: ServerResponse): Promise<Caller | undefined> => {
    const token = bearer(req.headers.authorization);
    if (!token) return void sendError(res, 401, 'a bearer token is required (Authorization: Bearer <token>)');
    const caller = await deps.authenticator.authenticate(token);
    if (!caller) return void sendError(res, 401, 'the bearer token is not valid');
    presentedTokens.set(caller, token);
    const wait = limiter?.take(`${caller.via}:${caller.username}`);
    if (wait !== undefined) {
      metrics.limited();
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(wait))));
      return void sendError(res, 429, `${caller.username} is over the rate limit of ${deps.rateLimit!.perSecond}/s`);
    }
    return caller;
  };
  const serve = async (req: IncomingMessage, res: ServerResponse, tag: { route: string }) => {
    if ((req.url ?? '').length > MAX_URL_LENGTH) return sendError(res, 414, `URL longer than ${MAX_URL_LENGTH} bytes`);
    const url = requestTarget(req.url ?? '/');
    if (url.pathname === '/metrics') {
      tag.route = 'metrics';
      if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        return sendError(res, 405, `${req.method} is not allowed on /metrics`);
      }
      // The cluster answers for jobs that are Workflows: when it cannot, the gauge is NaN and the scrape still works.
      const activeRestores = deps.restores ? await deps.restores.active().catch(() => Number.NaN) : 0;
      const body = metrics.render({ activeRestores, search: searchQueue, live });
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(body);
    }
    if (ui && (url.pathname === '/' || url.pathname.startsWith('/ui/'))) {
      tag.route = 'ui';
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return sendError(res, 405, `${req.method} is not allowed on ${url.pathname}`);
      }
      if (url.pathname === '/') {
        res.writeHead(302, { location: '/ui/' });
        return void res.end();
      }
      const file = ui.get(url.pathname);
      if (!file) return sendError(res, 404, `no dashboard file ${url.pathname}`);
      res.writeHead(200, { ...UI_HEADERS, 'content-type': file.type, 'content-length': file.body.length });
      return void res.end(req.method === 'HEAD' ? undefined : file.body);
    }
    if (url.pathname === '/graphql') {
      tag.route = 'graphql';
      if (req.method !== 'GET' && req.method !== 'POST') {
        res.setHeader('allow', 'GET, POST');
        return sendError(res, 405, `${req.method} is not allowed on /graphql`);
      }
      const caller = await authenticate(req, res);
      if (!caller) return;
      const answer = await answerGraphQL(req, url, caller, ctx, deps.onInternalError);
      return sendJson(res, answer.status, answer.body, answer.headers);
    }
    const matched = matchRoute(url.pathname, req.method);
    if (!matched) return sendError(res, 404, `no route ${url.pathname}`);
    if ('allow' in matched) {
      res.setHeader('allow', matched.allow.join(', '));
      return sendError(res, 405, `${req.method} is not allowed on ${url.pathname}`);
    }
    const { route } = matched;
    tag.route = route.name;
    if (route.name === 'health') return sendJson(res, 200, { status: 'ok' });
    if (route.name === 'openapi') return sendJson(res, 200, document);
    if (route.name === 'ready') {
      try {
        await deps.catalog.namespaces();
        await deps.repository();
        // A refused reload leaves the last good version serving: ready, with the reason for operators to see.
        const config = Object.fromEntries(Object.entries(live).map(([name, c]) => [name, c.status()]));
        return sendJson(res, 200, { status: 'ok', ...(Object.keys(config).length && { config }) });
      } catch (err) {
        return sendJson(res, 503, { error: { status: 503, message: `not ready: ${describeError(err)}` } });
      }
    }
    const caller = await authenticate(req, res);
    if (!caller) return;
    const params = route.params
      ? (validate(route.params, matched.params, 'path') as Record<string, string>)
      : matched.params;
    await HANDLERS[route.name](
      ctx,
      { route, params, query: queryObject(url), caller, headers: req.headers, raw: req },
      res,
    );
  };
  return (req, res) => {
    const started = performance.now();
    const tag = { route: 'unmatched' };
    res.once('close', () =>
      metrics.observe(tag.route, req.method ?? '?', res.statusCode, (performance.now() - started) / 1000),
    );
    serve(req, res, tag).catch((err: unknown) => {
      if (res.headersSent) {
        // Mid-stream (e.g. a chunk that does not verify): cut the connection so the client sees a broken body.
        deps.onInternalError?.(err);
        res.destroy();
        return;
      }
      if (err instanceof RetryLater) res.setHeader('retry-after', String(err.retryAfterSeconds));
      if (err instanceof HttpError) return sendError(res, err.status, err.message, err.field);
      if (err instanceof NotFoundError) return sendError(res, 404, describeError(err));
      if (err instanceof ArchivedObjectError) return sendError(res, 409, COLD_MESSAGE);
      if (err instanceof InputError || err instanceof ConfigError) return sendError(res, 400, describeError(err));
      deps.onInternalError?.(err);
      sendError(res, 500, 'internal error (logged by the server)');
    });
  };
}
