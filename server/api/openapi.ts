// The OpenAPI 3.1 document, generated from the route table and the same zod schemas the handlers validate with.
import { z } from 'zod';
import { problemSchema, ROUTES, type RouteName, type RouteSpec } from './routes.ts';

type JsonSchema = Record<string, unknown>;

/** Routes that write an audit record before answering (503 when it cannot be written). */
const AUDITED: ReadonlySet<RouteName> = new Set(['getWorkflow', 'nodeLog', 'getArtifact', 'search', 'getRestoreFile']);

/** Holds and extensions: idempotent by the client's id, written after their audit record. */
const HOLD_WRITES: ReadonlySet<RouteName> = new Set([
  'setHold',
  'releaseHold',
  'addExtension',
  'approveExtension',
  'rejectExtension',
]);

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what zod emits; the $schema key is not allowed inside.
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  void _drop;
  return rest;
}

function parameters(route: RouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const js = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, prop] of Object.entries(js.properties ?? {})) {
      const { description, ...propSchema } = prop;
      const isArray = Array.isArray(propSchema.anyOf);
      out.push({
        name,
        in: where,
        required: where === 'path' || (js.required ?? []).includes(name),
        ...(description !== undefined && { description }),
        schema: propSchema,
        ...(isArray && { explode: true, style: 'form' }),
      });
    }
  }
  return out;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

export function openApiDocument(version: string): JsonSchema {
  const paths: Record<string, JsonSchema> = {};
  for (const route of ROUTES) {
    const ok =
      route.response === 'text'
        ? { 'text/plain; charset=utf-8': { schema: { type: 'string' } } }
        : route.response === 'binary'
          ? { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } }
          : { 'application/json': { schema: jsonSchema(route.response, 'output') } };
    const responses: Record<string, unknown> = { '200': { description: 'OK', content: ok } };
    if (route.created === 202) {
      responses['200'] = { description: 'The job this caller already started with this requestId', content: ok };
      responses[String(route.created)] = { description: 'Accepted: a new job', content: ok };
      responses['409'] = errorResponse('The requestId was used for another request');
      responses['503'] = errorResponse('The audit record could not be written: nothing was started');
    }
    if (HOLD_WRITES.has(route.name)) {
      if (route.created) {
        responses['200'] = { description: 'This caller already made this request (same id): nothing new', content: ok };
        responses[String(route.created)] = { description: 'Created', content: ok };
      } else responses['200'] = { description: 'Done, or already done by this caller with this reason', content: ok };
      responses['409'] = errorResponse('The id is taken by another request (another caller, reason or date)');
      responses['503'] = errorResponse('The audit record could not be written: nothing was changed');
      if (route.name === 'setHold' || route.name === 'releaseHold')
        responses['502'] = errorResponse("The record is written, but the store's Object Lock failed (retry)");
      if (route.name === 'addExtension')
        responses['202'] = {
          description: "Past the limit without another person's approval: recorded as pending (`pending`)",
          content: ok,
        };
      if (route.name === 'approveExtension' || route.name === 'rejectExtension')
        responses['409'] = errorResponse('The request is already approved by another person, or rejected');
    }
    if (route.body) {
      responses['400'] = errorResponse('Malformed or unknown field');
      responses['413'] = errorResponse('Body too large');
      responses['415'] = errorResponse('Not application/json');
    }
    if (route.name === 'cancelRestore' || route.name === 'getRestoreFile')
      responses['409'] = errorResponse('The job already ended, or has no result yet');
    // Reads of archived content: data in a cold storage class is a 409 until a restore job thawed it.
    if (AUDITED.has(route.name) && route.name !== 'search' && route.name !== 'getRestoreFile')
      responses['409'] = errorResponse('The archive is in a cold storage class: start a restore job, which thaws it');
    if (route.ranges) {
      responses['206'] = { description: 'Partial content (one byte range)', content: ok };
      responses['416'] = errorResponse('Range not satisfiable');
    }
    if (route.params || route.query) responses['400'] = errorResponse('Malformed or unknown parameter');
    if (route.authenticated) {
      responses['401'] = errorResponse('No valid bearer token');
      responses['403'] = errorResponse(
        HOLD_WRITES.has(route.name)
          ? 'The caller may see the workflow but not do this (or approves their own request)'
          : 'The caller may not read this namespace',
      );
    }
    if (route.params || route.body) responses['404'] = errorResponse('No such workflow, node, log, artifact or job');
    if (route.authenticated) responses['429'] = errorResponse('Over the per-caller rate limit (see Retry-After)');
    if (route.name === 'ready') responses['503'] = errorResponse('Not ready');
    if (AUDITED.has(route.name))
      responses['503'] = errorResponse('The audit record could not be written: nothing was read');
    if (route.name.endsWith('Restore') || route.name.endsWith('Restores') || route.name === 'getRestoreFile')
      responses['503'] ??= errorResponse('Restores are not enabled on this server');
    // Any route: the server refuses a request line or headers too large before it routes them.
    responses['414'] = errorResponse('URL longer than 8 KiB');
    responses['431'] = errorResponse('Request headers (with the URL) over 16 KiB');
    paths[route.path] = {
      ...paths[route.path],
      [(route.method ?? 'GET').toLowerCase()]: {
        operationId: route.name,
        summary: route.summary,
        parameters: parameters(route),
        ...(route.body && {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }),
        ...(route.authenticated && { security: [{ bearer: [] }] }),
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Strata query service',
      version,
      description: 'Archived Argo workflows: list, read, logs, artifacts, search and restore jobs. See docs/api.md.',
    },
    paths,
    components: {
      schemas: { Problem: jsonSchema(problemSchema, 'output') },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
}
