// The tier planner: which packs move, which wait for the rest of their group, which workflows expire, and what it costs.
import { fc, test as propTest } from '@fast-check/vitest';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseTimeline, type RetentionAction } from '../../lib/policy/compile.ts';
import { parseDuration, parseRetention, retentionEnd } from '../../lib/policy/duration.ts';
import { TIERS, type Tier } from '../../lib/policy/facts.ts';
import type { HoldsAndExtensions } from '../../lib/policy/holds.ts';
import { DEFAULT_PRICING, parsePricing } from '../../lib/policy/pricing.ts';
import { buildTimeline, type Timeline } from '../../lib/policy/timeline.ts';
import { earlyDeletionCharge, monthlyCost } from '../../lib/tier/cost.ts';
import { planTiering, wantedTier, type ArchivedWorkflow, type PackPlacement } from '../../lib/tier/plan.ts';

const DAY = 86_400_000;
const GIB = 1024 ** 3;
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const pricing = DEFAULT_PRICING;
const NONE: HoldsAndExtensions = { holds: [], extensions: [] };

/** hot 7d → warm 30d → cold until 180d after finishing. */
function timeline(finishedDay = 0, spec = { hot: '7d', warm: '30d', cold: 'rest' }, retain = '180d'): Timeline {
  const action: RetentionAction = {
    archiveAfter: parseDuration('0s')!,
    immediate: true,
    timeline: parseTimeline(spec)!,
    retainFor: parseRetention(retain)!,
    deleteSource: false,
  };
  const finished = at(finishedDay);
  return buildTimeline(action, finished, retentionEnd(finished, action.retainFor));
}

function wf(uid: string, packs: string[], t: Timeline | undefined, group = 'g'): ArchivedWorkflow {
  return {
    manifestId: `m-${uid}`,
    uid,
    namespace: 'ns',
    name: uid,
    group,
    packs,
    ...(t ? { timeline: t } : { undecided: 'policy failed closed' }),
  };
}

const pack = (packId: string, tier: Tier = 'hot', since = T0, bytes = GIB): PackPlacement => ({
  group: 'g',
  packId,
  bytes,
  tier,
  since,
});

describe('moves', () => {
  test('a pack moves colder when its workflow is due, with bytes, monthly cost before and after, and the request', () => {
    const plan = planTiering({
      now: at(10),
      pricing,
      workflows: [wf('a', ['p1'], timeline())],
      packs: [pack('p1')],
      holds: NONE,
      unreadable: [],
    });
    expect(plan.moves).toHaveLength(1);
    const m = plan.moves[0]!;
    expect(m).toMatchObject({ packId: 'p1', from: 'hot', to: 'warm', bytes: GIB, workflows: ['a'] });
    expect(m.reason).toBe('workflow a is due in warm since 2026-01-08T00:00:00.000Z');
    expect(m.cost.monthlyBefore).toBeCloseTo(0.023, 6);
    expect(m.cost.monthlyAfter).toBeCloseTo(0.0125, 6);
    expect(m.cost.earlyDeletion).toBe(0);
    expect(m.cost.transition).toBeCloseTo(0.00001, 8);
    expect(plan.totals.monthlySaving).toBeCloseTo(0.0105, 6);
  });

  test('a pack shared by two workflows waits until both are due, and says who it waits for', () => {
    const workflows = [wf('early', ['shared'], timeline(0)), wf('late', ['shared', 'own'], timeline(5))];
    const packs = [pack('shared'), pack('own')];
    const day9 = planTiering({ now: at(9), pricing, workflows, packs, holds: NONE, unreadable: [] });
    expect(day9.moves).toEqual([]);
    expect(day9.waiting).toEqual([
      expect.objectContaining({
        packId: 'shared',
        tier: 'hot',
        due: 'warm',
        reason: 'shared with late, due in hot only',
      }),
    ]);
    const day13 = planTiering({ now: at(13), pricing, workflows, packs, holds: NONE, unreadable: [] });
    expect(day13.moves.map((m) => [m.packId, m.to])).toEqual([
      ['shared', 'warm'],
      ['own', 'warm'],
    ]);
    expect(day13.moves[0]!.reason).toBe(
      'all 2 workflows of the pack are due in warm (the last since 2026-01-13T00:00:00.000Z)',
    );
    expect(day13.waiting).toEqual([]);
  });

  test('skipping a tier: a pack still hot goes straight to the tier due now', () => {
    const plan = planTiering({
      now: at(60),
      pricing,
      workflows: [wf('a', ['p'], timeline())],
      packs: [pack('p')],
      holds: NONE,
      unreadable: [],
    });
    expect(plan.moves.map((m) => [m.from, m.to])).toEqual([['hot', 'cold']]);
  });

  test('leaving a tier before its minimum duration is charged for the rest of it', () => {
    const plan = planTiering({
      now: at(40),
      pricing,
      workflows: [wf('a', ['p'], timeline())],
      packs: [pack('p', 'warm', at(30))],
      holds: NONE,
      unreadable: [],
    });
    const m = plan.moves[0]!;
    expect(m).toMatchObject({ from: 'warm', to: 'cold' });
    // 10 of the 30 minimum days served: 20 days of STANDARD_IA are billed anyway.
    expect(m.cost.earlyDeletion).toBeCloseTo((20 / 30) * 0.0125, 8);
    expect(plan.totals.oneTimeCharges).toBeCloseTo(m.cost.earlyDeletion + m.cost.transition, 10);
  });

  test('never moves warmer, and a pack of an undecided workflow stays where it is', () => {
    const colderThanDue = planTiering({
      now: at(10),
      pricing,
      workflows: [wf('a', ['p'], timeline())],
      packs: [pack('p', 'cold')],
      holds: NONE,
      unreadable: [],
    });
    expect(colderThanDue.moves).toEqual([]);
    const undecided = planTiering({
      now: at(60),
      pricing,
      workflows: [wf('a', ['p'], timeline()), wf('b', ['p'], undefined)],
      packs: [pack('p')],
      holds: NONE,
      unreadable: [],
    });
    expect(undecided.moves).toEqual([]);
    expect(undecided.waiting[0]!.reason).toMatch(/policy cannot decide for workflow b/);
  });

  test('unreferenced packs are left to gc', () => {
    const plan = planTiering({ now: at(60), pricing, workflows: [], packs: [pack('p')], holds: NONE, unreadable: [] });
    expect(plan.moves).toEqual([]);
    expect(plan.deletions).toEqual([]);
  });
});

describe('expiry', () => {
  test('a workflow past retention expires; packs only it uses are deleted, shared ones are repacked', () => {
    const plan = planTiering({
      now: at(200),
      pricing,
      workflows: [wf('old', ['own', 'shared'], timeline(0)), wf('young', ['shared'], timeline(100))],
      packs: [pack('own', 'cold', at(37)), pack('shared', 'cold', at(137))],
      holds: NONE,
      unreadable: [],
    });
    expect(plan.expiries).toEqual([
      expect.objectContaining({ uid: 'old', manifests: ['m-old'], reason: 'retention ended 2026-06-30T00:00:00.000Z' }),
    ]);
    expect(plan.deletions.map((d) => d.packId)).toEqual(['own']);
    expect(plan.repacks).toEqual([expect.objectContaining({ packId: 'shared', expiring: ['old'], live: ['young'] })]);
    expect(plan.totals.bytesDeleted).toBe(GIB);
  });

  test('a legal hold, an extension or an unreadable manifest keeps a workflow whatever its timeline says', () => {
    const base = {
      now: at(200),
      pricing,
      workflows: [wf('a', ['p'], timeline(0))],
      packs: [pack('p', 'cold')],
      unreadable: [] as string[],
    };
    const held = planTiering({
      ...base,
      holds: {
        holds: [{ id: 'h1', workflowUid: 'a', actor: 'legal', reason: 'case', created: T0.toISOString() }],
        extensions: [],
      },
    });
    expect(held.expiries).toEqual([]);
    expect(held.deletions).toEqual([]);
    expect(held.kept).toEqual([{ uid: 'a', reason: 'retention ended 2026-06-30T00:00:00.000Z but legal hold h1' }]);
    const extended = planTiering({
      ...base,
      holds: {
        holds: [],
        extensions: [
          {
            id: 'e1',
            workflowUid: 'a',
            actor: 'x',
            reason: 'y',
            created: T0.toISOString(),
            until: at(300).toISOString(),
          },
        ],
      },
    });
    expect(extended.expiries).toEqual([]);
    expect(extended.kept[0]!.reason).toMatch(/extended until 2026-10-28/);
    const unreadable = planTiering({ ...base, holds: NONE, unreadable: ['abc (bad)'] });
    expect(unreadable.expiries).toEqual([]);
    expect(unreadable.kept[0]!.reason).toMatch(/cannot be read/);
  });

  test('a released hold no longer keeps it', () => {
    const plan = planTiering({
      now: at(200),
      pricing,
      workflows: [wf('a', ['p'], timeline(0))],
      packs: [pack('p', 'cold')],
      holds: {
        holds: [
          {
            id: 'h1',
            workflowUid: 'a',
            actor: 'legal',
            reason: 'case',
            created: T0.toISOString(),
            released: { actor: 'legal', reason: 'closed', at: at(190).toISOString() },
          },
        ],
        extensions: [],
      },
      unreadable: [],
    });
    expect(plan.expiries.map((e) => e.uid)).toEqual(['a']);
  });

  test('deleting before a minimum duration is served is charged', () => {
    const plan = planTiering({
      now: at(200),
      pricing,
      workflows: [wf('a', ['p'], timeline(0))],
      packs: [pack('p', 'cold', at(170))],
      holds: NONE,
      unreadable: [],
    });
    expect(plan.deletions[0]!.cost.earlyDeletion).toBeCloseTo((60 / 30) * 0.004, 8);
  });
});

describe('cost', () => {
  test('archive classes bill per-object overhead and minimum sizes', () => {
    // DEEP_ARCHIVE: 32 KiB at its price plus 8 KiB at the STANDARD price, on top of the object.
    expect(monthlyCost(0, 'deepArchive', pricing)).toBeCloseTo((32768 / GIB) * 0.00099 + (8192 / GIB) * 0.023, 12);
    // STANDARD_IA bills a 1 KiB object as 128 KiB.
    expect(monthlyCost(1024, 'warm', pricing)).toBeCloseTo((131072 / GIB) * 0.0125, 12);
    expect(monthlyCost(GIB, 'hot', pricing)).toBeCloseTo(0.023, 12);
    expect(earlyDeletionCharge(GIB, 'deepArchive', at(0), at(180), pricing)).toBe(0);
  });

  test('policies/pricing.yaml and the built-in prices agree', () => {
    const file = parsePricing(readFileSync('policies/pricing.yaml', 'utf8'), 'policies/pricing.yaml');
    expect(file).toEqual(DEFAULT_PRICING);
  });
});

describe('properties', () => {
  const arbTier = fc.constantFrom(...TIERS);
  const arbSpec = fc.record({ hot: fc.integer({ min: 1, max: 60 }), warm: fc.integer({ min: 1, max: 90 }) });
  const arbWorkflow = fc.record({
    finished: fc.integer({ min: 0, max: 400 }),
    spec: arbSpec,
    retain: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
    packs: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }),
    decided: fc.boolean(),
    held: fc.boolean(),
    extendedTo: fc.option(fc.integer({ min: 0, max: 900 }), { nil: undefined }),
  });

  propTest.prop([
    fc.array(arbWorkflow, { minLength: 1, maxLength: 6 }),
    fc.array(arbTier, { minLength: 6, maxLength: 6 }),
    fc.integer({ min: 0, max: 900 }),
    fc.boolean(),
  ])(
    'never expires under a hold or extension or before retention ends, and never moves a pack past a live workflow',
    (specs, tiers, today, unreadable) => {
      const now = at(today);
      const holds: HoldsAndExtensions = { holds: [], extensions: [] };
      const workflows = specs.map((s, i) => {
        const t = timeline(
          s.finished,
          { hot: `${s.spec.hot}d`, warm: `${s.spec.warm}d`, cold: 'rest' },
          s.retain ? `${s.retain}d` : 'indefinite',
        );
        if (s.held)
          holds.holds.push({ id: `h${i}`, workflowUid: `w${i}`, actor: 'a', reason: 'r', created: T0.toISOString() });
        if (s.extendedTo !== undefined)
          holds.extensions.push({
            id: `e${i}`,
            workflowUid: `w${i}`,
            actor: 'a',
            reason: 'r',
            created: T0.toISOString(),
            until: at(s.extendedTo).toISOString(),
          });
        return wf(
          `w${i}`,
          s.packs.map((p) => `p${p}`),
          s.decided ? t : undefined,
        );
      });
      const packs = tiers.map((t, i) => pack(`p${i}`, t));
      const plan = planTiering({ now, pricing, workflows, packs, holds, unreadable: unreadable ? ['x'] : [] });
      const expired = new Set(plan.expiries.map((e) => e.uid));
      specs.forEach((s, i) => {
        if (!expired.has(`w${i}`)) return;
        expect(s.held).toBe(false);
        expect(s.decided).toBe(true);
        expect(unreadable).toBe(false);
        if (s.extendedTo !== undefined) expect(at(s.extendedTo) <= now).toBe(true);
        expect(s.retain !== undefined && at(s.finished + s.retain) <= now).toBe(true);
      });
      for (const d of plan.deletions) {
        const users = workflows.filter((w) => w.packs.includes(d.packId));
        for (const u of users) expect(expired.has(u.uid)).toBe(true);
      }
      for (const m of plan.moves) {
        expect(TIERS.indexOf(m.to)).toBeGreaterThan(TIERS.indexOf(m.from));
        for (const w of workflows.filter((x) => x.packs.includes(m.packId) && !expired.has(x.uid))) {
          expect(w.timeline).toBeDefined();
          expect(TIERS.indexOf(wantedTier(w.timeline!, now))).toBeGreaterThanOrEqual(TIERS.indexOf(m.to));
        }
      }
    },
  );
});
