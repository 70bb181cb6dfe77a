// CEL list filters (`filter=` in REST, `cel` in GraphQL): the policy engine's CEL dialect (lib/policy/cel-env.ts:
// same options, RE2 `matches`) over the fields of a catalog row. An expression is checked once per request (a 400
// naming the position when it does not parse, type-check or return bool) and then run on each row.
import type { CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import {
  celDuration,
  celEnvironment,
  compileMatch,
  type CelLanguage,
  type CelVariableSpec,
} from '../../lib/policy/cel-env.ts';
import { BadRequest } from './errors.ts';

export const MAX_FILTER_LENGTH = 2048;

/** The variables a filter may use: the catalog row (names as in policies where they mean the same). */
export const FILTER_VARIABLES = {
  ns: { type: 'string', description: 'namespace (`namespace` is reserved in CEL)' },
  name: { type: 'string', description: 'workflow name' },
  uid: { type: 'string', description: 'workflow uid' },
  manifestId: { type: 'string', description: 'manifest id' },
  phase: { type: 'string', description: 'Argo phase ("" when it had none)' },
  labels: { type: 'map<string, string>', description: 'metadata.labels' },
  startedAt: { type: 'google.protobuf.Timestamp', description: 'status.startedAt' },
  finishedAt: { type: 'google.protobuf.Timestamp', description: 'status.finishedAt' },
  archivedAt: { type: 'google.protobuf.Timestamp', description: 'when the manifest was written' },
  duration: { type: 'google.protobuf.Duration', description: 'finishedAt - startedAt' },
  incomplete: { type: 'bool', description: 'archived with missing data' },
  entries: { type: 'int', description: 'archived files' },
  sizeBytes: { type: 'int', description: 'their original size (`bytes` is a CEL type name)' },
  group: { type: 'string', description: 'timeline group ("" when none)' },
  now: { type: 'google.protobuf.Timestamp', description: 'the time of the request' },
} as const satisfies Record<string, CelVariableSpec>;

/**
 * Parse-time bounds: a filter runs on up to thousands of rows per page, so its size is bounded, and macros
 * (all/exists/exists_one/map/filter) may not nest (a nested pair over literal lists multiplies the work per row).
 */
const LIMITS = { maxAstNodes: 256, maxDepth: 32, maxListElements: 64, maxMapEntries: 64, maxCallArguments: 8 };
const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

let language: CelLanguage | undefined;
const filterLanguage = () => (language ??= celEnvironment(FILTER_VARIABLES, LIMITS));

export type RowFilter = (row: CatalogWorkflow) => boolean;

interface AstNode {
  op: string;
  args: unknown;
  start: number;
}

const isNode = (v: unknown): v is AstNode => typeof v === 'object' && v !== null && 'op' in v && 'start' in v;

/** The start of a macro inside another macro, if any. */
function nestedMacro(node: unknown, inMacro = false): number | undefined {
  if (Array.isArray(node)) {
    for (const n of node) {
      const at = nestedMacro(n, inMacro);
      if (at !== undefined) return at;
    }
    return undefined;
  }
  if (!isNode(node)) return undefined;
  const macro = node.op === 'rcall' && Array.isArray(node.args) && MACROS.has(node.args[0] as string);
  if (macro && inMacro) return node.start;
  return nestedMacro(node.args, inMacro || macro);
}

function bad(message: string, offset: number, expression: string): BadRequest {
  const at = Math.min(Math.max(offset, 0), expression.length);
  const before = expression.slice(Math.max(0, at - 20), at);
  return new BadRequest(`filter: ${message} at position ${at + 1}${before ? ` (after "${before}")` : ''}`, 'filter');
}

const time = (iso: string | undefined) => (iso === undefined ? undefined : new Date(iso));

/** Compiles a filter for one request (`now` fixed for all its rows); a 400 naming the position when it is not one. */
export function compileFilter(expression: string, now: Date): RowFilter {
  if (expression.length > MAX_FILTER_LENGTH)
    throw new BadRequest(`filter is ${expression.length} characters; the limit is ${MAX_FILTER_LENGTH}`, 'filter');
  const lang = filterLanguage();
  const compiled = compileMatch(expression, lang, 'filter');
  if ('error' in compiled) throw bad(compiled.error.message, compiled.error.offset, expression);
  const nested = nestedMacro(lang.env.parse(expression).ast);
  if (nested !== undefined) throw bad('macros (all, exists, map, filter…) may not nest', nested, expression);
  return (row) => {
    const started = time(row.startedAt);
    const finished = time(row.finishedAt);
    const ctx: Record<string, unknown> = {
      ns: row.namespace,
      name: row.name,
      uid: row.uid,
      manifestId: row.manifestId,
      phase: row.phase ?? '',
      labels: row.labels,
      incomplete: row.incomplete,
      entries: BigInt(row.entries),
      sizeBytes: BigInt(row.bytes),
      group: row.group ?? '',
      now,
      // Absent times stay absent: an expression reading them fails on that row, which then does not match.
      ...(started && { startedAt: started }),
      ...(finished && { finishedAt: finished }),
      ...(row.archivedAt !== undefined && { archivedAt: new Date(row.archivedAt) }),
      ...(started && finished && { duration: celDuration(finished.getTime() - started.getTime()) }),
    };
    try {
      return compiled.match(ctx);
    } catch {
      // A run-time error (a missing label key, an absent time) means this row does not match.
      return false;
    }
  };
}
