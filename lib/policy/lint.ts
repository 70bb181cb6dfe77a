// Static checks beyond the schema: unreachable and shadowed rules, conflicting rules and compliance classes.
import type { CompiledRule, PolicySet, RetentionAction } from './compile.ts';
import type { PolicyProblem } from './configmap.ts';
import { retentionEnd, type Retention } from './duration.ts';
import type { Tier } from './facts.ts';
import { buildTimeline } from './timeline.ts';

const normalize = (cel: string) => cel.replace(/\s+/g, ' ').trim();
const ALWAYS = new Set(['true', '(true)']);
const NEVER = new Set(['false', '(false)']);

function ranksBefore(a: CompiledRule, b: CompiledRule): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.order < b.order);
}

function retentionText(r: Retention): string {
  return r === 'indefinite' ? 'indefinite' : r.text;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Minimum storage durations (days) of the default tiers' storage classes (STANDARD_IA, GLACIER_IR, DEEP_ARCHIVE). */
export const MINIMUM_STORAGE_DAYS: Record<Tier, number> = { hot: 0, warm: 30, cold: 90, deepArchive: 180 };
const DAY = 86_400_000;

/** Tier stays a rule's own timeline and retention produce that end before the tier's minimum storage duration. */
function shortStays(action: RetentionAction): string[] {
  const from = new Date(Date.UTC(2026, 0, 1));
  const t = buildTimeline(action, from, retentionEnd(from, action.retainFor));
  const out: string[] = [];
  for (const stay of t.stays) {
    if (!stay.until) continue;
    const days = (stay.until.getTime() - stay.from.getTime()) / DAY;
    const min = MINIMUM_STORAGE_DAYS[stay.tier];
    if (days + 1e-6 < min) out.push(`${stay.tier} for ${Math.round(days * 10) / 10}d (minimum ${min}d)`);
  }
  return out;
}

/** Problems a policy set has even though every document validates. Errors fail `strata policy validate`. */
export function lintPolicySet(set: PolicySet): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const at = (r: CompiledRule) => ({ ...r.location, rule: r.name });
  for (const r of set.rules) {
    const m = normalize(r.matchText);
    if (NEVER.has(m)) {
      problems.push({ severity: 'warning', ...at(r), message: 'match is always false: the rule is unreachable' });
      continue;
    }
    if (r.complianceClass) continue;
    // A rule supplies a field only when no earlier-ranked matching rule sets it; if an earlier rule that matches
    // whenever this one does sets all of its fields, it can never supply anything.
    const shadow = set.rules.find(
      (s) =>
        s !== r &&
        ranksBefore(s, r) &&
        (ALWAYS.has(normalize(s.matchText)) || normalize(s.matchText) === m) &&
        [...r.explicit].every((f) => s.explicit.has(f)),
    );
    if (shadow) {
      problems.push({
        severity: 'warning',
        ...at(r),
        message: `shadowed by rule "${shadow.name}" (${shadow.location.file}${shadow.location.line ? `:${shadow.location.line}` : ''}): it matches whenever this rule does, ranks first and sets every field this rule sets`,
      });
    }
  }
  for (const r of set.rules) {
    for (const [, map, key] of r.matchText.matchAll(/\b(labels|annotations)\[\s*"([^"]+)"\s*\]/g)) {
      if (r.matchText.includes(`"${key}" in ${map}`)) continue;
      problems.push({
        severity: 'warning',
        ...at(r),
        message: `${map}["${key}"] is an error when the key is absent, and errors fail closed for every such workflow; use ${map}[?"${key}"].orValue("") or guard with "${key}" in ${map}`,
      });
    }
  }
  for (const r of set.rules) {
    const short = shortStays(r);
    if (short.length) {
      problems.push({
        severity: 'warning',
        ...at(r),
        message: `timeline leaves tiers before their minimum storage duration, which is billed anyway (early-deletion fees): ${short.join(', ')}`,
      });
    }
  }
  const classes = new Map<string, CompiledRule>();
  for (const r of set.rules) {
    if (!r.complianceClass) continue;
    const prior = classes.get(r.complianceClass);
    if (prior && retentionText(prior.retainFor) !== retentionText(r.retainFor)) {
      problems.push({
        severity: 'error',
        ...at(r),
        message: `conflict: compliance class "${r.complianceClass}" retains ${retentionText(r.retainFor)} here but ${retentionText(prior.retainFor)} in rule "${prior.name}"`,
      });
    } else if (!prior) classes.set(r.complianceClass, r);
  }
  for (let i = 0; i < set.rules.length; i++) {
    for (let j = i + 1; j < set.rules.length; j++) {
      const a = set.rules[i]!;
      const b = set.rules[j]!;
      if (a.priority !== b.priority || normalize(a.matchText) !== normalize(b.matchText)) continue;
      const clash = [...a.explicit].filter((f: keyof RetentionAction) => b.explicit.has(f) && !same(a[f], b[f]));
      if (clash.length) {
        problems.push({
          severity: 'error',
          ...at(b),
          message: `conflict with rule "${a.name}": same match and priority but different ${clash.join(', ')}; only their order decides`,
        });
      }
    }
  }
  return problems;
}
