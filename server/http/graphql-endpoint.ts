// POST/GET /graphql: the request's JSON → parse (token-bounded), validate (depth and cost limits), execute over
// the ArchiveService; service errors keep their status and field as error extensions, internal ones say nothing.
import type { IncomingMessage } from 'node:http';
import {
  execute,
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type FormattedExecutionResult,
} from 'graphql';
import { ArchivedObjectError, ConfigError, describeError, InputError, NotFoundError } from '../../lib/errors.ts';
import { COLD_MESSAGE } from '../api/errors.ts';
import { BadRequest, HttpError } from '../api/errors.ts';
import { RetryLater } from '../service/search-queue.ts';
import type { Caller } from '../auth/access.ts';
import { queryLimits } from '../graphql/limits.ts';
import { schema, type GraphQLContext } from '../graphql/schema.ts';
import type { Context } from './respond.ts';
import { readBody } from './body.ts';

export const MAX_GRAPHQL_BODY = 64 * 1024;
/** Lexer tokens in one document: bounds parsing work before the depth and cost rules see it. */
const MAX_TOKENS = 5000;

interface GraphQLRequest {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

function requestFrom(raw: unknown): GraphQLRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new BadRequest('the body must be a JSON object {query, variables?, operationName?}', 'body');
  const r = raw as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !['query', 'variables', 'operationName', 'extensions'].includes(k));
  if (unknown.length) throw new BadRequest(`unknown request field(s) ${unknown.join(', ')}`, unknown[0]);
  if (typeof r.query !== 'string' || r.query.length === 0) throw new BadRequest('query must be a string', 'query');
  if (
    r.variables !== undefined &&
    r.variables !== null &&
    (typeof r.variables !== 'object' || Array.isArray(r.variables))
  )
    throw new BadRequest('variables must be an object', 'variables');
  if (r.operationName !== undefined && r.operationName !== null && typeof r.operationName !== 'string')
    throw new BadRequest('operationName must be a string', 'operationName');
  return {
    query: r.query,
    ...(r.variables ? { variables: r.variables as Record<string, unknown> } : {}),
    ...(typeof r.operationName === 'string' && { operationName: r.operationName }),
  };
}

async function graphqlRequest(req: IncomingMessage, url: { searchParams: URLSearchParams }): Promise<GraphQLRequest> {
  if (req.method === 'GET') {
    const variables = url.searchParams.get('variables');
    let parsed: unknown;
    try {
      parsed = variables ? JSON.parse(variables) : undefined;
    } catch {
      throw new BadRequest('variables is not JSON', 'variables');
    }
    return requestFrom({
      query: url.searchParams.get('query') ?? undefined,
      ...(parsed !== undefined && { variables: parsed }),
      ...(url.searchParams.has('operationName') && { operationName: url.searchParams.get('operationName') }),
    });
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && type !== 'application/graphql-response+json')
    throw new HttpError(415, `send the GraphQL request as application/json, not ${type || 'no content type'}`);
  const body = await readBody(req, MAX_GRAPHQL_BODY);
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest('the body is not JSON', 'body');
  }
  return requestFrom(raw);
}

function serviceError(
  err: unknown,
): { status: number; message: string; field?: string; retryAfter?: number } | undefined {
  if (err instanceof HttpError)
    return {
      status: err.status,
      message: err.message,
      ...(err.field && { field: err.field }),
      ...(err instanceof RetryLater && { retryAfter: err.retryAfterSeconds }),
    };
  if (err instanceof NotFoundError) return { status: 404, message: describeError(err) };
  if (err instanceof ArchivedObjectError) return { status: 409, message: COLD_MESSAGE };
  if (err instanceof InputError || err instanceof ConfigError) return { status: 400, message: describeError(err) };
  return undefined;
}

const CODES: Record<number, string> = {
  400: 'BAD_USER_INPUT',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

export interface GraphQLAnswer {
  status: number;
  body: FormattedExecutionResult;
  headers?: Record<string, string>;
}

/** One GraphQL request of an authenticated caller, answered as HTTP status + JSON body. */
export async function answerGraphQL(
  req: IncomingMessage,
  url: { searchParams: URLSearchParams },
  caller: Caller,
  ctx: Context,
  onInternalError?: (err: unknown) => void,
): Promise<GraphQLAnswer> {
  const request = await graphqlRequest(req, url);
  let document: DocumentNode;
  try {
    document = parse(request.query, { maxTokens: MAX_TOKENS });
  } catch (err) {
    return { status: 400, body: { errors: [(err as GraphQLError).toJSON()] } };
  }
  const errors = validate(schema, document, [...specifiedRules, queryLimits(request.variables)]);
  if (errors.length) return { status: 400, body: { errors: errors.map((e) => e.toJSON()) } };
  const op = getOperationAST(document, request.operationName);
  if (!op) throw new BadRequest('operationName does not name one operation of the document', 'operationName');
  // GET is safe (graphql-over-http): a mutation over it could be triggered by a link or a prefetch.
  if (op.operation !== 'query' && req.method !== 'POST') {
    const message = `a ${op.operation} is only accepted over POST`;
    return { status: 405, headers: { allow: 'POST' }, body: { errors: [new GraphQLError(message).toJSON()] } };
  }
  const context: GraphQLContext = {
    caller,
    service: ctx.service,
    holds: ctx.holds,
    retention: ctx.retention,
    restores: ctx.restores,
    details: new Map(),
  };
  const result = await execute({
    schema,
    document,
    contextValue: context,
    ...(request.variables && { variableValues: request.variables }),
    ...(request.operationName !== undefined && { operationName: request.operationName }),
  });
  const formatted = (result.errors ?? []).map((e) => {
    if (!e.originalError) return e.toJSON(); // variable coercion and the like: already a client error
    const known = serviceError(e.originalError);
    if (!known) {
      onInternalError?.(e.originalError);
      return new GraphQLError('internal error (logged by the server)', {
        ...(e.nodes && { nodes: e.nodes }),
        ...(e.path && { path: e.path }),
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      }).toJSON();
    }
    return new GraphQLError(known.message, {
      ...(e.nodes && { nodes: e.nodes }),
      ...(e.path && { path: e.path }),
      extensions: {
        code: CODES[known.status] ?? 'ERROR',
        status: known.status,
        ...(known.field && { field: known.field }),
        ...(known.retryAfter !== undefined && { retryAfter: known.retryAfter }),
      },
    }).toJSON();
  });
  // A read whose audit record cannot be written does not happen; say so with the status, as REST does.
  const unavailable = formatted.some((e) => e.extensions?.status === 503);
  const retryAfter = formatted.find((e) => e.extensions?.retryAfter !== undefined)?.extensions?.retryAfter;
  return {
    status: unavailable ? 503 : 200,
    ...(retryAfter !== undefined && { headers: { 'retry-after': String(retryAfter as number) } }),
    body: { ...(result.data !== undefined && { data: result.data }), ...(formatted.length && { errors: formatted }) },
  };
}
