// The retention decision for one workflow: match rules, resolve the winner, apply compliance floors, extensions and holds.
import { describeLocation, type CompiledRule, type PolicySet, type RetentionAction } from './compile.ts';
import { celContext, COMPLETED_PHASES, TIERS, type Tier, type WorkflowFacts } from './facts.ts';
import { activeHolds, extendedUntil, NO_HOLDS, type HoldRecord, type HoldsAndExtensions } from './holds.ts';
import { buildTimeline, laterEnd, retentionEndOf, tierAt, UNDECIDED_TIMELINE, type Timeline } from './timeline.ts';

export type RetentionActionKind = 'keep' | 'archive' | 'move' | 'delete';

export interface RetentionDecision {
  workflow: string;
  /** What to do now: keep (nothing yet, or fail closed), archive, move to `targetTier`, delete (expire). */
  action: RetentionActionKind;
  targetTier?: Tier;
  matchedRules: string[];
  /** The rule whose archive/timeline/destination settings apply; undefined when the defaults apply. */
  winningRule?: string;
  reasons: string[];
  timeline: Timeline;
  complianceClass?: string;
  /** Deletion can never come before this (undefined with no compliance class; `indefinite` when it never may). */
  complianceFloor?: Date | 'indefinite';
  /** Delete the workflow from the cluster once its archive has verified. */
  deleteSourceAfterArchive: boolean;
  destination?: string;
  /** Timeline group: retention class + archive month. The archive engine packs each group separately. */
  group: string;
  /** Active legal hold ids: while any exists nothing is deleted. */
  holds: string[];
  extendedUntil?: Date;
  failedClosed?: boolean;
}

function failClosed(facts: WorkflowFacts, holds: readonly HoldRecord[], reasons: string[]): RetentionDecision {
  return {
    workflow: facts.uid,
    action: 'keep',
    matchedRules: [],
    reasons: ['failed closed: keeping everything, deleting nothing', ...reasons],
    timeline: UNDECIDED_TIMELINE,
    deleteSourceAfterArchive: false,
    group: 'unclassified',
    holds: holds.map((h) => h.id),
    failedClosed: true,
  };
}

function byPriority(a: CompiledRule, b: CompiledRule): number {
  return b.priority - a.priority || a.order - b.order;
}

const ranked = new WeakMap<PolicySet, CompiledRule[]>();
function rankedRules(set: PolicySet): CompiledRule[] {
  let r = ranked.get(set);
  if (!r) ranked.set(set, (r = [...set.rules].sort(byPriority)));
  return r;
}

const FIELDS = ['archiveAfter', 'immediate', 'timeline', 'retainFor', 'deleteSource', 'destination'] as const;

/**
 * Each field comes from the highest-priority matching rule that sets it, else from the defaults. So a data
 * residency rule can set only `destination` and a critical rule only `retainFor`, without restating the rest.
 */
function resolveAction(
  matched: readonly CompiledRule[],
  defaults: RetentionAction,
): { action: RetentionAction; sources: Record<string, string> } {
  const action: RetentionAction = { ...defaults };
  const sources: Record<string, string> = {};
  for (const field of FIELDS) {
    const from = matched.find((r) => r.explicit.has(field));
    if (from) (action as unknown as Record<string, unknown>)[field] = from[field];
    sources[field] = from?.name ?? 'defaults';
  }
  return { action, sources };
}

function month(d: Date | undefined): string {
  if (!d) return 'unscheduled';
  const m = d.getUTCMonth() + 1;
  return `${d.getUTCFullYear()}-${m < 10 ? '0' : ''}${m}`;
}

const iso = (d: Date) => d.toISOString();

/**
 * Decides what happens to one workflow at `now`. Pure: the same inputs give the same decision.
 * Resolution (docs/policies.md): matching rules rank by priority, then order; each field comes from the first
 * ranked rule that sets it, else the defaults. Compliance floors of every matching rule apply whatever wins, the
 * longest one counting. Extensions push deletion later; an active legal hold removes deletion altogether.
 * Any error (invalid set, CEL run-time error, missing field) → keep everything, failedClosed.
 */
export function decideRetention(
  policySet: PolicySet,
  facts: WorkflowFacts,
  now: Date,
  holdsAndExtensions: HoldsAndExtensions = NO_HOLDS,
): RetentionDecision {
  const holds = activeHolds(holdsAndExtensions.holds, facts.uid, now);
  if (!policySet.valid) {
    const errors = policySet.problems.filter((p) => p.severity === 'error');
    return failClosed(facts, holds, [
      'policy set does not validate',
      ...errors.slice(0, 5).map((p) => `${describeLocation(p)}: ${p.rule ? `rule "${p.rule}": ` : ''}${p.message}`),
    ]);
  }
  const finishedAt = facts.finishedAt;
  if (COMPLETED_PHASES.has(facts.phase) && !finishedAt) {
    return failClosed(facts, holds, [
      `workflow ${facts.namespace}/${facts.name}: phase ${facts.phase} but status.finishedAt is missing`,
    ]);
  }
  if (!COMPLETED_PHASES.has(facts.phase) || !finishedAt) {
    return {
      ...failClosed(facts, holds, []),
      failedClosed: undefined,
      reasons: [`workflow has not completed (phase ${facts.phase || 'unknown'}): keep`],
    };
  }

  const ctx = celContext(facts, now, holds.length);
  const matched: CompiledRule[] = [];
  // Rules are evaluated in rank order (priority, then order), so `matched` comes out ranked.
  for (const rule of rankedRules(policySet)) {
    let hit: boolean;
    try {
      hit = rule.match(ctx);
    } catch (err) {
      const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      return failClosed(facts, holds, [
        `${describeLocation(rule.matchLocation)}: rule "${rule.name}": match failed at run time: ${msg}`,
      ]);
    }
    if (hit) matched.push(rule);
  }
  const reasons: string[] = [];
  const winner = matched[0];
  const { action, sources } = resolveAction(matched, policySet.defaults);
  if (winner) {
    const ties = matched.filter((r) => r.priority === winner.priority).length;
    reasons.push(
      `rule "${winner.name}" wins: priority ${winner.priority}` +
        (ties > 1
          ? `, first in order among ${ties} matching rules of that priority`
          : matched.length > 1
            ? ', highest of the matching rules'
            : ', the only matching rule'),
    );
    const borrowed = Object.entries(sources).filter(([, from]) => from !== winner.name);
    if (borrowed.length)
      reasons.push(`fields it leaves unset: ${borrowed.map(([f, from]) => `${f} from ${from}`).join(', ')}`);
  } else {
    reasons.push(
      policySet.defaultsLocation
        ? `no rule matched: defaults from ${describeLocation(policySet.defaultsLocation)}`
        : 'no rule matched and no defaults are configured: keep indefinitely',
    );
  }

  // Compliance floors: every matching compliance rule counts, the longest wins, nothing shortens it.
  let floor: Date | undefined;
  let floorIndefinite = false;
  let complianceRule: CompiledRule | undefined;
  for (const r of matched) {
    if (!r.complianceClass) continue;
    const end = retentionEndOf(finishedAt, r.retainFor);
    if (!complianceRule || (!floorIndefinite && (!end || end > floor!))) {
      complianceRule = r;
      floor = end;
      floorIndefinite = !end;
    }
  }
  let deleteAt = retentionEndOf(finishedAt, action.retainFor);
  if (complianceRule) {
    reasons.push(
      `compliance class "${complianceRule.complianceClass}" (rule "${complianceRule.name}", retain ${complianceRule.retainFor === 'indefinite' ? 'indefinitely' : complianceRule.retainFor.text}): ` +
        (floor ? `no deletion before ${iso(floor)}` : 'never deleted'),
    );
    deleteAt = laterEnd(deleteAt, floor);
  }
  let extended: Date | undefined;
  const ext = extendedUntil(holdsAndExtensions.extensions, facts.uid);
  if (ext && deleteAt && ext.until > deleteAt) {
    extended = ext.until;
    deleteAt = ext.until;
    reasons.push(`extended until ${iso(ext.until)} by ${ext.by.actor}: ${ext.by.reason}`);
  }
  if (holds.length) {
    deleteAt = undefined;
    reasons.push(
      `legal hold ${holds.map((h) => `${h.id} (${h.actor}: ${h.reason})`).join(', ')}: nothing is deleted while held`,
    );
  }

  const timeline = buildTimeline(action, finishedAt, deleteAt);
  const destination = action.destination;
  const retentionClass =
    complianceRule?.complianceClass ?? (sources.retainFor === 'defaults' ? 'default' : sources.retainFor);

  let kind: RetentionActionKind = 'keep';
  let targetTier: Tier | undefined;
  const archived = facts.archive !== undefined;
  if (timeline.deleteAt && now >= timeline.deleteAt && archived) {
    kind = 'delete';
    reasons.push(`retention ended ${iso(timeline.deleteAt)}: delete`);
  } else if (timeline.archiveAt && now >= timeline.archiveAt) {
    if (!archived) {
      kind = 'archive';
      reasons.push(`archive due since ${iso(timeline.archiveAt)}`);
    } else {
      const want = tierAt(timeline, now);
      const current = facts.archive?.tier;
      // Only ever colder: bringing data back to a warmer tier is a restore, not something a timeline does.
      if (want && current && TIERS.indexOf(want) > TIERS.indexOf(current)) {
        kind = 'move';
        targetTier = want;
        reasons.push(
          `timeline puts the archive in ${want} since ${iso(timeline.stays.find((s) => s.tier === want)!.from)}`,
        );
      } else if (want && current && want !== current) {
        reasons.push(`timeline says ${want} but the archive is already in the colder ${current}: left there`);
      }
    }
  } else if (timeline.archiveAt) {
    reasons.push(`archive due ${iso(timeline.archiveAt)}: keep until then`);
  }

  return {
    workflow: facts.uid,
    action: kind,
    ...(targetTier ? { targetTier } : {}),
    matchedRules: matched.map((r) => r.name),
    winningRule: winner?.name,
    reasons,
    timeline,
    complianceClass: complianceRule?.complianceClass,
    complianceFloor: complianceRule ? (floor ?? 'indefinite') : undefined,
    deleteSourceAfterArchive: action.deleteSource && holds.length === 0,
    destination,
    group: `${retentionClass}/${month(timeline.archiveAt)}`,
    holds: holds.map((h) => h.id),
    extendedUntil: extended,
  };
}
