// `strata policy diff`: what changes between two policy sets over a set of workflows, in dates, bytes and money.
import type { PolicySet } from './compile.ts';
import { decideRetention, type RetentionActionKind, type RetentionDecision } from './decide.ts';
import type { WorkflowFacts } from './facts.ts';
import { timelineCost, type Pricing } from './pricing.ts';
import { tierAt, type Timeline } from './timeline.ts';

export interface DiffWorkflow {
  facts: WorkflowFacts;
  sizeBytes: number;
}

type Shift = 'earlier' | 'later' | 'same';
interface ShiftCounts {
  earlier: number;
  later: number;
  same: number;
}

export interface WorkflowChange {
  workflow: string;
  name: string;
  changes: string[];
}

export interface SideSummary {
  actionsNow: Record<RetentionActionKind, number>;
  failedClosed: number;
  /** Where the bytes are at the end of the horizon: a tier, `deleted`, or `pending` (not archived yet / undecided). */
  bytesAtHorizon: Record<string, number>;
  cost: { storage: number; earlyDeletion: number; total: number; byTier: Record<string, number> };
}

export interface PolicyDiff {
  workflows: number;
  now: string;
  horizonEnd: string;
  currency: string;
  archive: ShiftCounts;
  delete: ShiftCounts;
  tierMoves: ShiftCounts;
  from: SideSummary;
  to: SideSummary;
  costDelta: number;
  changed: WorkflowChange[];
}

const NEVER = Number.POSITIVE_INFINITY;
const ms = (d: Date | undefined) => d?.getTime() ?? NEVER;

function shift(a: Date | undefined, b: Date | undefined): Shift {
  const x = ms(a);
  const y = ms(b);
  return x === y ? 'same' : y < x ? 'earlier' : 'later';
}

function fmt(d: Date | undefined): string {
  return d ? d.toISOString().slice(0, 10) : 'never';
}

function emptySide(): SideSummary {
  return {
    actionsNow: { keep: 0, archive: 0, move: 0, delete: 0 },
    failedClosed: 0,
    bytesAtHorizon: {},
    cost: { storage: 0, earlyDeletion: 0, total: 0, byTier: { hot: 0, warm: 0, cold: 0, deepArchive: 0 } },
  };
}

function account(
  side: SideSummary,
  d: RetentionDecision,
  w: DiffWorkflow,
  pricing: Pricing,
  now: Date,
  end: Date,
): void {
  side.actionsNow[d.action]++;
  if (d.failedClosed) side.failedClosed++;
  const t = d.timeline;
  const where = t.deleteAt && t.deleteAt <= end ? 'deleted' : (tierAt(t, end) ?? 'pending');
  side.bytesAtHorizon[where] = (side.bytesAtHorizon[where] ?? 0) + w.sizeBytes;
  const c = timelineCost(t, w.sizeBytes, pricing, now, end);
  side.cost.storage += c.storage;
  side.cost.earlyDeletion += c.earlyDeletion;
  side.cost.total += c.storage + c.earlyDeletion;
  for (const [tier, v] of Object.entries(c.byTier)) side.cost.byTier[tier] = (side.cost.byTier[tier] ?? 0) + v;
}

const MOVES: (keyof Timeline)[] = ['warmAt', 'coldAt', 'deepArchiveAt'];

export function diffPolicies(
  from: PolicySet,
  to: PolicySet,
  workflows: Iterable<DiffWorkflow>,
  opts: { now: Date; horizonEnd: Date; pricing: Pricing },
): PolicyDiff {
  const result: PolicyDiff = {
    workflows: 0,
    now: opts.now.toISOString(),
    horizonEnd: opts.horizonEnd.toISOString(),
    currency: opts.pricing.currency,
    archive: { earlier: 0, later: 0, same: 0 },
    delete: { earlier: 0, later: 0, same: 0 },
    tierMoves: { earlier: 0, later: 0, same: 0 },
    from: emptySide(),
    to: emptySide(),
    costDelta: 0,
    changed: [],
  };
  for (const w of workflows) {
    result.workflows++;
    const a = decideRetention(from, w.facts, opts.now);
    const b = decideRetention(to, w.facts, opts.now);
    account(result.from, a, w, opts.pricing, opts.now, opts.horizonEnd);
    account(result.to, b, w, opts.pricing, opts.now, opts.horizonEnd);
    const changes: string[] = [];
    const s1 = shift(a.timeline.archiveAt, b.timeline.archiveAt);
    result.archive[s1]++;
    if (s1 !== 'same') changes.push(`archive ${s1}: ${fmt(a.timeline.archiveAt)} → ${fmt(b.timeline.archiveAt)}`);
    const s2 = shift(a.timeline.deleteAt, b.timeline.deleteAt);
    result.delete[s2]++;
    if (s2 !== 'same') changes.push(`delete ${s2}: ${fmt(a.timeline.deleteAt)} → ${fmt(b.timeline.deleteAt)}`);
    for (const k of MOVES) {
      const x = a.timeline[k] as Date | undefined;
      const y = b.timeline[k] as Date | undefined;
      const s = shift(x, y);
      result.tierMoves[s]++;
      if (s !== 'same') changes.push(`${k.replace(/At$/, '')} ${s}: ${fmt(x)} → ${fmt(y)}`);
    }
    if (a.action !== b.action) changes.push(`now: ${a.action} → ${b.action}`);
    if ((a.destination ?? '') !== (b.destination ?? ''))
      changes.push(`destination: ${a.destination ?? 'default'} → ${b.destination ?? 'default'}`);
    if (!a.failedClosed && b.failedClosed) changes.push(`fails closed under the new policy: ${b.reasons[1] ?? ''}`);
    if (changes.length)
      result.changed.push({ workflow: w.facts.uid, name: `${w.facts.namespace}/${w.facts.name}`, changes });
  }
  result.costDelta = result.to.cost.total - result.from.cost.total;
  return result;
}
