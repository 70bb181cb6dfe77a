// `strata policy explain`: every rule's verdict for one workflow, which won and why, and the resulting dates.
import { describeLocation, type PolicySet } from './compile.ts';
import { celContext, type WorkflowFacts } from './facts.ts';
import { decideRetention, type RetentionDecision } from './decide.ts';
import { activeHolds, NO_HOLDS, type HoldsAndExtensions } from './holds.ts';

export interface RuleVerdict {
  rule: string;
  priority: number;
  order: number;
  matched: boolean | 'error';
  error?: string;
  complianceClass?: string;
  /** Fields the rule sets itself. */
  sets: string[];
  at: string;
}

export interface Explanation {
  workflow: { uid: string; namespace: string; name: string; phase: string };
  decision: RetentionDecision;
  rules: RuleVerdict[];
  dates: { archiveOn?: string; warmOn?: string; coldOn?: string; deepArchiveOn?: string; deleteOn: string };
}

export function explainRetention(
  set: PolicySet,
  facts: WorkflowFacts,
  now: Date,
  holds: HoldsAndExtensions = NO_HOLDS,
): Explanation {
  const decision = decideRetention(set, facts, now, holds);
  const ctx = celContext(facts, now, activeHolds(holds.holds, facts.uid, now).length);
  const rules = set.rules.map((r): RuleVerdict => {
    let matched: boolean | 'error';
    let error: string | undefined;
    try {
      matched = r.match(ctx);
    } catch (err) {
      matched = 'error';
      error = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    }
    return {
      rule: r.name,
      priority: r.priority,
      order: r.order,
      matched,
      ...(error ? { error } : {}),
      ...(r.complianceClass ? { complianceClass: r.complianceClass } : {}),
      sets: [...r.explicit],
      at: describeLocation(r.location),
    };
  });
  const t = decision.timeline;
  const day = (d: Date | undefined) => d?.toISOString();
  return {
    workflow: { uid: facts.uid, namespace: facts.namespace, name: facts.name, phase: facts.phase },
    decision,
    rules,
    dates: {
      archiveOn: day(t.archiveAt),
      warmOn: day(t.warmAt),
      coldOn: day(t.coldAt),
      deepArchiveOn: day(t.deepArchiveAt),
      deleteOn: t.deleteAt ? t.deleteAt.toISOString() : decision.holds.length ? 'never while held' : 'never',
    },
  };
}

/** Human-readable explanation (the table output of `strata policy explain`). */
export function renderExplanation(e: Explanation): string {
  const d = e.decision;
  const lines = [
    `workflow ${e.workflow.namespace}/${e.workflow.name} (uid ${e.workflow.uid}, phase ${e.workflow.phase || 'unknown'})`,
    `action now: ${d.action}${d.targetTier ? ` → ${d.targetTier}` : ''}${d.failedClosed ? '  (FAILED CLOSED)' : ''}`,
    '',
    'rules (ranked by priority, then order):',
  ];
  const ranked = [...e.rules].sort((a, b) => b.priority - a.priority || a.order - b.order);
  for (const r of ranked) {
    const verdict = r.matched === 'error' ? `ERROR ${r.error}` : r.matched ? 'matched' : '-';
    const mark = r.rule === d.winningRule ? '*' : ' ';
    lines.push(
      ` ${mark} ${r.rule.padEnd(24)} p=${String(r.priority).padEnd(5)} ${verdict.padEnd(8)} sets ${r.sets.join(',') || '-'}${r.complianceClass ? ` [compliance ${r.complianceClass}]` : ''}  (${r.at})`,
    );
  }
  lines.push('', 'why:', ...d.reasons.map((r) => `  - ${r}`), '', 'timeline:');
  for (const [k, v] of Object.entries(e.dates)) if (v) lines.push(`  ${k.padEnd(14)} ${v}`);
  lines.push(`  ${'group'.padEnd(14)} ${d.group}`);
  if (d.destination) lines.push(`  ${'destination'.padEnd(14)} ${d.destination}`);
  lines.push(`  ${'deleteSource'.padEnd(14)} ${d.deleteSourceAfterArchive ? 'yes, after the archive verifies' : 'no'}`);
  return lines.join('\n');
}
