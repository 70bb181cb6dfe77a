// Turns validated list/search parameters (strings, as a URL carries them) into the service's typed filters. REST
// and GraphQL both validate with the same zod schemas and come through here, so a cursor fits either API.
import type { z } from 'zod';
import type { TimeRange, WorkflowSort } from '../../lib/catalog/catalog.ts';
import { BadRequest } from './errors.ts';
import type { listWorkflowsQuery } from './schemas.ts';

/** List filters, already typed (each API parses its own syntax into this). */
export interface WorkflowFilters {
  namespaces?: string[];
  namePrefix?: string;
  phases?: string[];
  /** Kubernetes label selector text. */
  labelSelector?: string;
  incomplete?: boolean;
  started?: TimeRange;
  finished?: TimeRange;
  archived?: TimeRange;
  sort?: WorkflowSort;
  /** CEL expression over the row (server/api/cel-filter.ts). */
  filter?: string;
}

/** Parses with a schema; the first issue becomes a 400 naming the parameter. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.');
  const what =
    issue.code === 'unrecognized_keys' ? `unknown ${where} parameter(s) ${field}` : `${where} parameter ${field}`;
  throw new BadRequest(issue.code === 'unrecognized_keys' ? what : `${what}: ${issue.message}`, field || undefined);
}

export const asList = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

function range(from: string | undefined, to: string | undefined): TimeRange | undefined {
  if (from === undefined && to === undefined) return undefined;
  return { ...(from !== undefined && { from: new Date(from) }), ...(to !== undefined && { to: new Date(to) }) };
}

export function workflowFilters(q: z.infer<typeof listWorkflowsQuery>): WorkflowFilters {
  return {
    namespaces: asList(q.namespace),
    namePrefix: q.namePrefix,
    phases: asList(q.phase),
    labelSelector: q.labelSelector,
    incomplete: q.incomplete === undefined ? undefined : q.incomplete === 'true',
    started: range(q.startedAfter, q.startedBefore),
    finished: range(q.finishedAfter, q.finishedBefore),
    archived: range(q.archivedAfter, q.archivedBefore),
    sort: q.sort ?? 'newest',
    filter: q.filter,
  };
}
