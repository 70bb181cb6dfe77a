// Query depth and cost limits, as validation rules: a query over either is refused before any resolver runs.
import {
  GraphQLError,
  Kind,
  getNamedType,
  isListType,
  isNonNullType,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLOutputType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
  isObjectType,
  isInterfaceType,
} from 'graphql';

export const MAX_DEPTH = 8;
export const MAX_COST = 20_000;

/** Fields that read the archive (not just the catalog) count this much each. */
const ARCHIVE_READS = new Set([
  'Workflow.object',
  'Workflow.nodes',
  'Workflow.holds',
  'Workflow.extensions',
  'Workflow.policy',
  'Workflow.timeline',
  'Workflow.auditEvents',
  'Log.text',
]);
/**
 * Mutations are expensive on purpose: each starts or stops work (a restore job), so one request cannot carry more
 * than a handful of them under aliases.
 */
const MUTATION_COST = 2_000;
/** A list field without a `first` argument is assumed to hold this many items (typical sizes, not maxima). */
const ASSUMED_LIST = 20;
const ASSUMED: Record<string, number> = {
  'Workflow.nodes': 50,
  'Node.childNodes': 2,
  'Node.logs': 3,
  'Workflow.artifacts': 10,
};

function intArg(value: ValueNode | undefined, variables: Record<string, unknown> | undefined): number | undefined {
  if (!value) return undefined;
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const v = variables?.[value.name.value];
    return typeof v === 'number' ? v : undefined;
  }
  return undefined;
}

const isList = (t: GraphQLOutputType): boolean => isListType(isNonNullType(t) ? t.ofType : t);

interface Measure {
  depth: number;
  cost: number;
}

/**
 * Depth and cost of one operation, fragments expanded. Introspection (`__schema`, `__type`) is free: tools send
 * deep introspection queries and they touch no data.
 */
function measure(
  ctx: ValidationContext,
  op: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
): Measure {
  const schema = ctx.getSchema();
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of ctx.getDocument().definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const walk = (set: SelectionSetNode, parentName: string, depth: number, seen: Set<string>): Measure => {
    let deepest = depth;
    let cost = 0;
    const parent = schema.getType(parentName);
    const fields =
      parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields() : ({} as Record<string, never>);
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (name.startsWith('__')) continue;
        const field = fields[name] as GraphQLField<unknown, unknown> | undefined;
        if (!field) continue; // other rules report unknown fields
        let own = parentName === 'Mutation' ? MUTATION_COST : ARCHIVE_READS.has(`${parentName}.${name}`) ? 10 : 1;
        let inner: Measure = { depth: depth + 1, cost: 0 };
        if (sel.selectionSet) {
          inner = walk(sel.selectionSet, getNamedType(field.type).name, depth + 1, seen);
          const first = intArg(sel.arguments?.find((a) => a.name.value === 'first')?.value, variables);
          const firstDefault = field.args.find((a) => a.name === 'first')?.defaultValue;
          const asked = first ?? (typeof firstDefault === 'number' ? firstDefault : undefined);
          // A connection's `first` multiplies what is inside it once; its edges/nodes lists add nothing more.
          const items = parentName.endsWith('Connection')
            ? 1
            : (asked ?? (isList(field.type) ? (ASSUMED[`${parentName}.${name}`] ?? ASSUMED_LIST) : 1));
          own += Math.max(items, 1) * inner.cost;
        }
        cost += own;
        deepest = Math.max(deepest, inner.depth);
      } else {
        let inner: Measure;
        if (sel.kind === Kind.INLINE_FRAGMENT) {
          inner = walk(sel.selectionSet, sel.typeCondition?.name.value ?? parentName, depth, seen);
        } else {
          const name = sel.name.value;
          const frag = fragments.get(name);
          if (!frag || seen.has(name)) continue; // cycles are NoFragmentCycles' to report
          inner = walk(frag.selectionSet, frag.typeCondition.name.value, depth, new Set([...seen, name]));
        }
        cost += inner.cost;
        deepest = Math.max(deepest, inner.depth);
      }
    }
    return { depth: deepest, cost };
  };
  const root = op.operation === 'query' ? schema.getQueryType() : schema.getMutationType();
  return walk(op.selectionSet, root?.name ?? 'Query', 0, new Set());
}

/** Validation rule factory: the variables are known at request time, so `first: $n` is counted as sent. */
export function queryLimits(variables: Record<string, unknown> | undefined, maxDepth = MAX_DEPTH, maxCost = MAX_COST) {
  return (ctx: ValidationContext): ASTVisitor => ({
    OperationDefinition(op) {
      const m = measure(ctx, op, variables);
      const name = op.name ? `operation ${op.name.value}` : 'the query';
      if (m.depth > maxDepth)
        ctx.reportError(
          new GraphQLError(`${name} is ${m.depth} levels deep; the limit is ${maxDepth}`, {
            nodes: op,
            extensions: { code: 'QUERY_TOO_DEEP', depth: m.depth, limit: maxDepth },
          }),
        );
      if (m.cost > maxCost)
        ctx.reportError(
          new GraphQLError(`${name} costs ${m.cost}; the limit is ${maxCost} (ask for fewer items with first:)`, {
            nodes: op,
            extensions: { code: 'QUERY_TOO_COSTLY', cost: m.cost, limit: maxCost },
          }),
        );
    },
  });
}
