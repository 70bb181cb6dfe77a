// The monthly storage bill of a fleet at steady state: the archived corpus's workflows, their policy timelines and
// the repository's stored/original ratio, scaled to a rate of workflows a day (Little's law: monthly spend = arrivals
// a month × what one workflow costs over its life), against keeping everything hot and uncompressed (pure).
import { TIERS, type Tier } from '../policy/facts.ts';
import { timelineCost, type Pricing } from '../policy/pricing.ts';
import type { Timeline } from '../policy/timeline.ts';

const MONTH_MS = 30 * 86_400_000;

export interface CostWorkflow {
  /** The rule whose timeline applies (or "defaults"). */
  rule: string;
  originalBytes: number;
  /** From the retention decision; undefined (undecided) workflows are kept hot and counted so. */
  timeline?: Timeline;
}

export interface CostRow {
  rule: string;
  /** Share of the corpus's workflows. */
  share: number;
  avgOriginalBytes: number;
  avgStoredBytes: number;
  /** Months kept (to the horizon for indefinite retention). */
  keptMonths: number;
  coldestTier: Tier;
  /** Fleet spend per month at steady state. */
  monthlyAllHot: number;
  monthlyStrata: number;
}

export interface CostReport {
  currency: string;
  workflowsPerDay: number;
  corpusWorkflows: number;
  /** Stored (compressed, deduplicated) bytes over original bytes, measured on the repository. */
  storedRatio: number;
  horizonMonths: number;
  rows: CostRow[];
  totals: { monthlyAllHot: number; monthlyStrata: number; saving: number };
  /** Bytes the fleet keeps in each tier at steady state. */
  steadyBytes: Record<Tier, number>;
}

function lifeEnd(t: Timeline, archiveAt: Date, horizonMonths: number): Date {
  return t.deleteAt ?? new Date(archiveAt.getTime() + horizonMonths * MONTH_MS);
}

export function fleetCost(
  corpus: readonly CostWorkflow[],
  opts: { pricing: Pricing; storedRatio: number; workflowsPerDay: number; horizonMonths: number },
): CostReport {
  const arrivalsPerMonth = opts.workflowsPerDay * 30;
  const byRule = new Map<string, CostWorkflow[]>();
  for (const w of corpus) byRule.set(w.rule, [...(byRule.get(w.rule) ?? []), w]);
  const steadyBytes: Record<Tier, number> = { hot: 0, warm: 0, cold: 0, deepArchive: 0 };
  const rows: CostRow[] = [];
  for (const [rule, ws] of [...byRule].sort(([a], [b]) => (a < b ? -1 : 1))) {
    let hot = 0;
    let strata = 0;
    let months = 0;
    let coldest: Tier = 'hot';
    for (const w of ws) {
      const archiveAt = w.timeline?.archiveAt ?? new Date(0);
      const t: Timeline = w.timeline ?? { archiveAt, indefinite: true, stays: [{ tier: 'hot', from: archiveAt }] };
      const end = lifeEnd(t, archiveAt, opts.horizonMonths);
      const allHot: Timeline = {
        archiveAt,
        deleteAt: end,
        indefinite: false,
        stays: [{ tier: 'hot', from: archiveAt, until: end }],
      };
      const stored = w.originalBytes * opts.storedRatio;
      const h = timelineCost(allHot, w.originalBytes, opts.pricing, archiveAt, end);
      const s = timelineCost(t, stored, opts.pricing, archiveAt, end);
      hot += h.storage + h.earlyDeletion;
      strata += s.storage + s.earlyDeletion;
      months += (end.getTime() - archiveAt.getTime()) / MONTH_MS;
      for (const stay of t.stays) {
        const until = stay.until ?? end;
        steadyBytes[stay.tier] +=
          (((until.getTime() - stay.from.getTime()) / MONTH_MS) * stored * arrivalsPerMonth) / corpus.length;
        if (TIERS.indexOf(stay.tier) > TIERS.indexOf(coldest)) coldest = stay.tier;
      }
    }
    const share = ws.length / corpus.length;
    rows.push({
      rule,
      share,
      avgOriginalBytes: ws.reduce((n, w) => n + w.originalBytes, 0) / ws.length,
      avgStoredBytes: (ws.reduce((n, w) => n + w.originalBytes, 0) / ws.length) * opts.storedRatio,
      keptMonths: months / ws.length,
      coldestTier: coldest,
      // Each rule's workflows arrive at its share of the rate; each costs its average lifetime cost.
      monthlyAllHot: arrivalsPerMonth * share * (hot / ws.length),
      monthlyStrata: arrivalsPerMonth * share * (strata / ws.length),
    });
  }
  const totalHot = rows.reduce((n, r) => n + r.monthlyAllHot, 0);
  const totalStrata = rows.reduce((n, r) => n + r.monthlyStrata, 0);
  return {
    currency: opts.pricing.currency,
    workflowsPerDay: opts.workflowsPerDay,
    corpusWorkflows: corpus.length,
    storedRatio: opts.storedRatio,
    horizonMonths: opts.horizonMonths,
    rows,
    totals: { monthlyAllHot: totalHot, monthlyStrata: totalStrata, saving: totalHot ? 1 - totalStrata / totalHot : 0 },
    steadyBytes,
  };
}
