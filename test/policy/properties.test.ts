// Property tests over random workflows, rule sets, holds and clocks: the safety invariants of the decision.
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { addDuration, parseRetention } from '../../lib/policy/duration.ts';
import {
  decideRetention,
  loadPolicySet,
  workflowFacts,
  type HoldRecord,
  type ExtensionRecord,
} from '../../lib/policy/index.ts';
import { policyYaml, workflow } from './helpers.ts';

/** Each expression with an independent JavaScript oracle, so the test does not trust the engine's own matching. */
const ORACLE: Record<string, (w: ArbWorkflowFields, now: Date) => boolean> = {
  true: () => true,
  false: () => false,
  'phase == "Succeeded"': (w) => w.phase === 'Succeeded',
  'phase == "Failed"': (w) => w.phase === 'Failed',
  'ns == "finance"': (w) => w.ns === 'finance',
  'labels[?"team"].orValue("") == "pay"': (w) => w.team === 'pay',
  '"critical" in labels': (w) => w.critical,
  'now - finishedAt > duration("720h")': (w, now) => now.getTime() - w.finishedAt.getTime() > 720 * 3600_000,
  'name.matches("^w[0-9]+$")': () => true,
  // RISKY below: when it does not throw, it means this.
  'labels["team"] == "pay"': (w) => w.team === 'pay',
};
const MATCHES = Object.keys(ORACLE).filter((m) => !m.startsWith('labels["'));
interface ArbWorkflowFields {
  phase: string;
  ns: string;
  team?: string;
  critical: boolean;
  finishedAt: Date;
}
/** Throws at run time when the label is absent: such decisions must fail closed. */
const RISKY = 'labels["team"] == "pay"';
const DURATIONS = ['1h', '1d', '7d', '30d', '90d', '180d', '1y', '5y', '7y'];

const arbRule = fc.record({
  match: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...MATCHES) }, { weight: 1, arbitrary: fc.constant(RISKY) }),
  priority: fc.integer({ min: -3, max: 3 }),
  retainFor: fc.option(fc.constantFrom(...DURATIONS, 'indefinite'), { nil: undefined }),
  complianceClass: fc.option(fc.constantFrom('financial', 'security'), { nil: undefined, freq: 3 }),
  archiveAfter: fc.option(fc.constantFrom('0s', '30m', '2h', '5d'), { nil: undefined }),
  immediate: fc.option(fc.boolean(), { nil: undefined }),
  deleteSource: fc.option(fc.boolean(), { nil: undefined }),
  timeline: fc.option(
    fc.record(
      {
        hot: fc.constantFrom(...DURATIONS),
        warm: fc.constantFrom(...DURATIONS),
        cold: fc.constantFrom(...DURATIONS),
        deepArchive: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  ),
});

const arbRules = fc.array(arbRule, { maxLength: 6 }).map((rules) =>
  rules.map((r, i) => {
    const out: Record<string, unknown> = { name: `r${i}` };
    for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
    // A compliance class needs a floor.
    if (out.complianceClass && !out.retainFor) out.retainFor = '1y';
    return out;
  }),
);

const arbDefaults = fc.option(fc.record({ retainFor: fc.constantFrom(...DURATIONS), deleteSource: fc.boolean() }), {
  nil: undefined,
});

const DAY = 86_400_000;
const BASE = Date.UTC(2015, 0, 1);
const arbDate = fc.integer({ min: 0, max: 25 * 365 }).map((d) => new Date(BASE + d * DAY));

const arbWorkflow = fc.record({
  n: fc.integer({ min: 0, max: 3 }),
  phase: fc.constantFrom('Succeeded', 'Failed', 'Error', 'Running'),
  ns: fc.constantFrom('finance', 'ci', 'agents'),
  team: fc.option(fc.constantFrom('pay', 'ops'), { nil: undefined }),
  critical: fc.boolean(),
  finishedAt: arbDate,
  archived: fc.option(fc.constantFrom('hot', 'warm', 'cold', 'deepArchive') as fc.Arbitrary<'hot'>, { nil: undefined }),
});

const arbHolds = fc.array(
  fc.record({ released: fc.option(arbDate, { nil: undefined }), forThisWorkflow: fc.boolean() }),
  { maxLength: 2 },
);
const arbExtension = fc.option(arbDate, { nil: undefined });

type ArbWorkflow = typeof arbWorkflow extends fc.Arbitrary<infer T> ? T : never;

function build(w: ArbWorkflow) {
  const labels: Record<string, string> = {};
  if (w.team) labels.team = w.team;
  if (w.critical) labels.critical = 'yes';
  const wf = workflow({
    uid: `w${w.n}`,
    phase: w.phase,
    namespace: w.ns,
    labels,
    finishedAt: w.finishedAt.toISOString(),
  });
  return workflowFacts(wf, w.archived ? { archive: { sizeBytes: 100, tier: w.archived } } : {});
}

function holdsFor(uid: string, hs: { released?: Date; forThisWorkflow: boolean }[]): HoldRecord[] {
  return hs.map((h, i) => ({
    id: `h${i}`,
    workflowUid: h.forThisWorkflow ? uid : 'someone-else',
    actor: 'legal',
    reason: 'case',
    created: new Date(BASE).toISOString(),
    ...(h.released ? { released: { actor: 'legal', reason: 'done', at: h.released.toISOString() } } : {}),
  }));
}

describe('decision invariants', () => {
  test.prop([arbRules, arbDefaults, arbWorkflow, arbHolds, arbExtension, arbDate], { numRuns: 300 })(
    'never deletes before a compliance floor or under a hold; deletion never precedes archival',
    (rules, defaults, w, hs, extUntil, now) => {
      const { policySet: set } = loadPolicySet([{ name: 'p.yaml', text: policyYaml(rules, defaults) }]);
      expect(set.valid).toBe(true);
      const facts = build(w);
      const holds = holdsFor(facts.uid, hs);
      const extensions: ExtensionRecord[] = extUntil
        ? [
            {
              id: 'e',
              workflowUid: facts.uid,
              actor: 'sre',
              reason: 'x',
              created: new Date(BASE).toISOString(),
              until: extUntil.toISOString(),
            },
          ]
        : [];
      const d = decideRetention(set, facts, now, { holds, extensions });
      const held = holds.some((h) => h.workflowUid === facts.uid && (!h.released || new Date(h.released.at) > now));
      if (held) {
        expect(d.action).not.toBe('delete');
        expect(d.timeline.deleteAt).toBeUndefined();
        expect(d.deleteSourceAfterArchive).toBe(false);
      }
      // Independent floor: every compliance rule that truly matches (by the oracle), retention from completion.
      const decided = w.phase !== 'Running' && !d.failedClosed;
      for (const rule of rules) {
        if (!rule.complianceClass || !decided || !ORACLE[rule.match as string]!(w, now)) continue;
        expect(d.matchedRules).toContain(rule.name);
        const r = parseRetention(String(rule.retainFor))!;
        const floor = r === 'indefinite' ? undefined : addDuration(w.finishedAt, r);
        if (!floor) expect(d.timeline.deleteAt).toBeUndefined();
        else if (d.timeline.deleteAt) expect(d.timeline.deleteAt.getTime()).toBeGreaterThanOrEqual(floor.getTime());
        if (d.action === 'delete') expect(floor !== undefined && now >= floor).toBe(true);
      }
      if (extUntil && d.action === 'delete') expect(now >= extUntil).toBe(true);
      if (d.action === 'delete') expect(facts.archive).toBeDefined();
      if (d.timeline.deleteAt && d.timeline.archiveAt) expect(d.timeline.deleteAt >= d.timeline.archiveAt).toBe(true);
      // A rule that throws for this workflow makes the whole decision fail closed.
      if (w.phase !== 'Running' && !w.team && rules.some((r) => r.match === RISKY)) {
        expect(d).toMatchObject({ action: 'keep', failedClosed: true, deleteSourceAfterArchive: false });
      }
    },
  );

  test.prop(
    [arbRules, arbWorkflow, arbDate, fc.constantFrom('match: "nope ="', 'retainFor: 30 days', 'complianceClass: x')],
    { numRuns: 100 },
  )('an invalid policy set deletes nothing, for any workflow and clock', (rules, w, now, breakage) => {
    const text =
      policyYaml(rules) +
      `---\napiVersion: strata.dev/v1alpha1\nkind: RetentionPolicy\nmetadata: {name: broken}\nspec:\n  rules:\n    - name: broken\n      match: "true"\n      ${breakage}\n`;
    const { policySet: set } = loadPolicySet([{ name: 'p.yaml', text }]);
    expect(set.valid).toBe(false);
    const d = decideRetention(set, build(w), now);
    expect(d).toMatchObject({
      action: 'keep',
      failedClosed: true,
      deleteSourceAfterArchive: false,
      timeline: { indefinite: true },
    });
  });

  test.prop([arbRules, arbWorkflow, arbDate, arbDate], { numRuns: 100 })(
    'an extension never brings deletion earlier',
    (rules, w, now, until) => {
      const { policySet: set } = loadPolicySet([{ name: 'p.yaml', text: policyYaml(rules) }]);
      const facts = build(w);
      const base = decideRetention(set, facts, now);
      const ext = decideRetention(set, facts, now, {
        holds: [],
        extensions: [
          {
            id: 'e',
            workflowUid: facts.uid,
            actor: 'a',
            reason: 'r',
            created: now.toISOString(),
            until: until.toISOString(),
          },
        ],
      });
      if (!base.timeline.deleteAt) expect(ext.timeline.deleteAt).toBeUndefined();
      else if (ext.timeline.deleteAt) expect(ext.timeline.deleteAt >= base.timeline.deleteAt).toBe(true);
    },
  );
});
