// Turns an Argo Workflow object (plus related resources and archive state) into the facts policies decide on.
import { FINISHED_PHASES } from '../bundle/completion.ts';
import { workflowIdentity } from '../bundle/identity.ts';
import type { CelContext } from './cel-env.ts';
import { celDuration } from './cel-env.ts';

export type Tier = 'hot' | 'warm' | 'cold' | 'deepArchive';
export const TIERS: readonly Tier[] = ['hot', 'warm', 'cold', 'deepArchive'];

export interface ArchiveFacts {
  sizeBytes: number;
  /** Current tier of the archived copy, when there is one. */
  tier?: Tier;
  /** Number of active legal holds (the decision takes the hold records themselves separately). */
  holds?: number;
}

export interface WorkflowFacts {
  uid: string;
  name: string;
  namespace: string;
  phase: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startedAt?: Date;
  finishedAt?: Date;
  workflow: Record<string, unknown>;
  related: Record<string, unknown>[];
  archive?: ArchiveFacts;
}

export const COMPLETED_PHASES = FINISHED_PHASES;

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(record(v))) if (x !== undefined && x !== null) out[k] = String(x);
  return out;
}

function date(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
  if (typeof v !== 'string' || !v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * A completed workflow without status.finishedAt (older controllers, hand-made exports) finished when its last
 * node did; with no node times either the field stays missing and the decision fails closed.
 */
function lastNodeFinish(status: Record<string, unknown>): Date | undefined {
  if (!COMPLETED_PHASES.has(String(status.phase))) return undefined;
  let last: Date | undefined;
  for (const node of Object.values(record(status.nodes))) {
    const d = date(record(node).finishedAt);
    if (d && (!last || d > last)) last = d;
  }
  return last;
}

export function workflowFacts(
  workflow: Record<string, unknown>,
  extras: { related?: Record<string, unknown>[]; archive?: ArchiveFacts } = {},
): WorkflowFacts {
  const metadata = record(workflow.metadata);
  const status = record(workflow.status);
  // The same namespace and uid collect and archive file the workflow under (holds are looked up by this uid).
  const { identity } = workflowIdentity(metadata);
  return {
    uid: identity.uid,
    name: identity.name,
    namespace: identity.namespace,
    phase: String(status.phase ?? ''),
    labels: stringMap(metadata.labels),
    annotations: stringMap(metadata.annotations),
    startedAt: date(status.startedAt),
    finishedAt: date(status.finishedAt) ?? lastNodeFinish(status),
    workflow,
    related: extras.related ?? [],
    archive: extras.archive,
  };
}

/** CEL wants int64 as bigint; YAML/JSON integers arrive as numbers. */
function toCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCel);
  if (v instanceof Date || v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toCel(x);
  return out;
}

/**
 * Variables that cost something to build (the whole workflow and related objects converted to CEL values, the
 * duration, the archive map) are built only when an expression reads them: most rules look at labels and phase,
 * and converting a large status.nodes on every decision would dominate the cost.
 */
class LazyCelContext {
  #workflow: unknown;
  #related: unknown;
  #duration: unknown;
  #archive: unknown;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly ns: string;
  readonly name: string;
  readonly uid: string;
  readonly phase: string;
  readonly startedAt: Date | undefined;
  readonly finishedAt: Date | undefined;
  constructor(
    private readonly facts: WorkflowFacts,
    readonly now: Date,
    private readonly activeHolds: number,
  ) {
    this.labels = facts.labels;
    this.annotations = facts.annotations;
    this.ns = facts.namespace;
    this.name = facts.name;
    this.uid = facts.uid;
    this.phase = facts.phase;
    this.startedAt = facts.startedAt;
    this.finishedAt = facts.finishedAt;
  }
  get workflow(): unknown {
    return (this.#workflow ??= toCel(this.facts.workflow));
  }
  get related(): unknown {
    return (this.#related ??= this.facts.related.map(toCel));
  }
  get duration(): unknown {
    const { startedAt, finishedAt } = this.facts;
    if (!startedAt || !finishedAt) return undefined;
    return (this.#duration ??= celDuration(finishedAt.getTime() - startedAt.getTime()));
  }
  get archive(): unknown {
    const a = this.facts.archive;
    return (this.#archive ??= {
      sizeBytes: BigInt(Math.trunc(a?.sizeBytes ?? 0)),
      tier: a?.tier ?? '',
      holds: BigInt(this.activeHolds),
      held: this.activeHolds > 0,
    });
  }
}

/**
 * The CEL variables for one workflow. Missing timestamps stay undefined, so an expression that reads them
 * fails at run time and the decision fails closed instead of guessing.
 */
export function celContext(f: WorkflowFacts, now: Date, activeHolds: number): CelContext {
  return new LazyCelContext(f, now, activeHolds) as unknown as CelContext;
}
