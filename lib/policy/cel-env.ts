// The typed CEL environment policies are written against, and compilation of `match` expressions with RE2 `matches`.
import { Environment, type Limits } from '@marcbachmann/cel-js';
import { compileRe2, re2Matches, re2SyntaxError } from './regex.ts';

/** The variables a `match` expression can use (documented in docs/policies.md). */
export const CEL_VARIABLES = {
  workflow: { type: 'map', description: 'The whole Argo Workflow object (metadata, spec, status).' },
  labels: { type: 'map<string, string>', description: 'metadata.labels' },
  annotations: { type: 'map<string, string>', description: 'metadata.annotations' },
  // `namespace` is a reserved word in CEL, hence `ns`.
  ns: { type: 'string', description: 'metadata.namespace' },
  name: { type: 'string', description: 'metadata.name' },
  uid: { type: 'string', description: 'metadata.uid' },
  phase: { type: 'string', description: 'status.phase: Succeeded, Failed, Error, Running, Pending' },
  startedAt: { type: 'google.protobuf.Timestamp', description: 'status.startedAt' },
  finishedAt: { type: 'google.protobuf.Timestamp', description: 'status.finishedAt' },
  duration: { type: 'google.protobuf.Duration', description: 'finishedAt - startedAt' },
  now: { type: 'google.protobuf.Timestamp', description: 'The evaluation clock' },
  related: { type: 'list<map>', description: 'Related resources (e.g. CodeRuns), whole objects' },
  archive: {
    type: 'map<string, dyn>',
    description: 'Archive facts: sizeBytes (int), tier (string), holds (int), held (bool)',
  },
} as const;

export type CelVariable = keyof typeof CEL_VARIABLES;

/** A variable an expression may use: its CEL type and what it holds. */
export interface CelVariableSpec {
  type: string;
  description: string;
}

/** Parse-time bounds on an expression. */
export type CelLimits = Partial<Limits>;

/** An environment and the variables it declares (for "did you mean" hints). */
export interface CelLanguage {
  env: Environment;
  variables: Readonly<Record<string, CelVariableSpec>>;
}

const RE2_FN = 're2Matches';

/**
 * The policy engine's CEL dialect (same options, RE2 `matches`) over the given variables; other CEL uses (the query
 * service's list filters) declare their own variables with it.
 */
export function celEnvironment(variables: Readonly<Record<string, CelVariableSpec>>, limits?: CelLimits): CelLanguage {
  let env = new Environment({
    unlistedVariablesAreDyn: false,
    homogeneousAggregateLiterals: false,
    enableOptionalTypes: true,
    ...(limits && { limits }),
  });
  for (const [name, v] of Object.entries(variables))
    env = env.registerVariable(name, v.type, { description: v.description });
  env = env.registerFunction(`string.${RE2_FN}(string): bool`, (s: string, p: string) => {
    try {
      return re2Matches(s, p);
    } catch (err) {
      throw new Error(`invalid RE2 pattern ${JSON.stringify(p)}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  });
  return { env, variables };
}

let shared: CelLanguage | undefined;
/** One environment per process: building it is expensive, using it is not. */
function policyLanguage(): CelLanguage {
  return (shared ??= celEnvironment(CEL_VARIABLES));
}
export function policyEnvironment(): Environment {
  return policyLanguage().env;
}

/** Values for every CEL variable; the duration is built from milliseconds. */
export type CelContext = Record<CelVariable, unknown>;

let durationCtor: (new (seconds: bigint, nanos: number) => unknown) | undefined;
/** A CEL duration value (cel-js does not export its Duration class, so take it from a parsed literal). */
export function celDuration(ms: number): unknown {
  durationCtor ??= (policyEnvironment().evaluate('duration("1s")') as object)
    .constructor as unknown as typeof durationCtor;
  const totalNanos = BigInt(Math.trunc(ms * 1_000_000));
  return new durationCtor!(totalNanos / 1_000_000_000n, Number(totalNanos % 1_000_000_000n));
}

export interface CelCompileError {
  message: string;
  /** Character offset inside the expression. */
  offset: number;
}

export type CompiledMatch = (ctx: Readonly<Record<string, unknown>>) => boolean;

interface AstNode {
  op: string;
  args: unknown;
  start: number;
  end: number;
}

function isNode(v: unknown): v is AstNode {
  return typeof v === 'object' && v !== null && 'op' in v && 'start' in v;
}

function walk(node: unknown, visit: (n: AstNode) => void): void {
  if (Array.isArray(node)) return node.forEach((n) => walk(n, visit));
  if (!isNode(node)) return;
  visit(node);
  walk(node.args, visit);
}

function errorOffset(err: unknown): number {
  const range = (err as { range?: { start?: number } }).range;
  return typeof range?.start === 'number' ? range.start : 0;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function errorSummary(err: unknown, variables: Readonly<Record<string, CelVariableSpec>>): string {
  const e = err as { summary?: string; message?: string };
  const summary = (e.summary ?? e.message ?? String(err)).split('\n')[0]!;
  const unknown = /(?:Unknown variable|Reserved identifier): (\w+)/.exec(summary)?.[1];
  if (unknown === 'namespace') return `${summary} (\`namespace\` is reserved in CEL: use ns)`;
  // The closest declared name, if any is within two edits.
  const near =
    unknown &&
    Object.keys(variables)
      .map((v) => ({ v, d: editDistance(v, unknown) }))
      .filter(({ d }) => d <= 2)
      .sort((a, b) => a.d - b.d)[0]?.v;
  return near ? `${summary} (did you mean "${near}"?)` : summary;
}

/**
 * Compiles a `match` expression: parse, type check (must be bool), RE2-check literal patterns, and route every
 * `.matches()` call to the RE2 implementation (the built-in uses backtracking JavaScript regexes).
 */
export function compileMatch(
  expression: string,
  language: CelLanguage = policyLanguage(),
  what = 'match',
): { match: CompiledMatch } | { error: CelCompileError } {
  const { env, variables } = language;
  let ast: unknown;
  try {
    ast = env.parse(expression).ast;
  } catch (err) {
    return { error: { message: errorSummary(err, variables), offset: errorOffset(err) } };
  }
  const checked = env.check(expression);
  if (!checked.valid)
    return { error: { message: errorSummary(checked.error, variables), offset: errorOffset(checked.error) } };
  const type = String(checked.type);
  if (type !== 'bool' && type !== 'dyn')
    return { error: { message: `${what} must return bool, not ${type}`, offset: 0 } };

  const edits: number[] = [];
  let patternError: CelCompileError | undefined;
  walk(ast, (n) => {
    if (n.op !== 'rcall' || !Array.isArray(n.args) || n.args[0] !== 'matches') return;
    const receiver = n.args[1] as AstNode;
    const [pattern] = n.args[2] as AstNode[];
    if (pattern?.op === 'value' && typeof pattern.args === 'string') {
      const bad = re2SyntaxError(pattern.args);
      if (bad) patternError ??= { message: `invalid RE2 pattern: ${bad}`, offset: pattern.start };
      else compileRe2(pattern.args);
    }
    const at = expression.indexOf('matches', receiver.end);
    if (at >= 0) edits.push(at);
  });
  if (patternError) return { error: patternError };
  let source = expression;
  for (const at of edits.sort((a, b) => b - a))
    source = source.slice(0, at) + RE2_FN + source.slice(at + 'matches'.length);
  const program = env.parse(source);
  const match: CompiledMatch = (ctx) => {
    const v = program(ctx);
    if (typeof v !== 'boolean') throw new Error(`${what} returned ${typeof v}, not bool`);
    return v;
  };
  return { match };
}
