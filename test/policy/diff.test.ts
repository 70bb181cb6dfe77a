// `policy diff`: date shifts, bytes per tier and the cost forecast with early-deletion penalties.
import { describe, expect, test } from 'vitest';
import { diffPolicies } from '../../lib/policy/diff.ts';
import { workflowFacts } from '../../lib/policy/index.ts';
import { parsePricing, timelineCost } from '../../lib/policy/pricing.ts';
import { buildTimeline } from '../../lib/policy/timeline.ts';
import { BUILTIN_DEFAULTS, parseTimeline } from '../../lib/policy/compile.ts';
import { parseDuration } from '../../lib/policy/duration.ts';
import { policySet, workflow } from './helpers.ts';

const GIB = 1024 ** 3;
const pricing = parsePricing(
  `currency: EUR
tiers:
  hot: { storageClass: STANDARD, perGBMonth: 0.03, minimumDays: 0 }
  warm: { storageClass: STANDARD_IA, perGBMonth: 0.015, minimumDays: 30 }
  cold: { storageClass: GLACIER_IR, perGBMonth: 0.006, minimumDays: 90 }
  deepArchive: { storageClass: DEEP_ARCHIVE, perGBMonth: 0.003, minimumDays: 180 }
`,
  'test-pricing.yaml',
);

describe('policy diff', () => {
  test('shorter retention with an extra warm stay: deletes earlier, costs less storage but pays the 30-day minimum', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const from = policySet([{ name: 'a', match: 'true', immediate: true, timeline: { hot: '30d' }, retainFor: '30d' }]);
    const to = policySet([
      { name: 'b', match: 'true', immediate: true, timeline: { hot: '10d', warm: '10d' }, retainFor: '20d' },
    ]);
    const facts = workflowFacts(workflow({ uid: 'w', finishedAt: now.toISOString() }));
    const diff = diffPolicies(from, to, [{ facts, sizeBytes: GIB }], {
      now,
      horizonEnd: new Date('2027-01-01T00:00:00Z'),
      pricing,
    });
    expect(diff).toMatchObject({ workflows: 1, currency: 'EUR', archive: { same: 1 }, delete: { earlier: 1 } });
    expect(diff.tierMoves.earlier).toBe(1);
    expect(diff.from.cost.storage).toBeCloseTo(0.03, 6);
    expect(diff.from.cost.earlyDeletion).toBeCloseTo(0, 6);
    expect(diff.to.cost.storage).toBeCloseTo(0.01 + 0.005, 6);
    expect(diff.to.cost.earlyDeletion).toBeCloseTo(0.01, 6);
    expect(diff.costDelta).toBeCloseTo(-0.005, 6);
    expect(diff.from.bytesAtHorizon).toEqual({ deleted: GIB });
    expect(diff.changed[0]!.changes).toEqual(
      expect.arrayContaining(['delete earlier: 2026-01-31 → 2026-01-21', 'warm earlier: never → 2026-01-11']),
    );
  });

  test('bytes per tier at the horizon and failing closed under an invalid target are reported', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const from = policySet([{ name: 'a', match: 'true', timeline: { hot: '7d', cold: '1y' }, retainFor: '2y' }]);
    const to = policySet([{ name: 'a', match: 'labels["x"] == "y"', retainFor: '2y' }]);
    const facts = workflowFacts(workflow({ uid: 'w', finishedAt: now.toISOString() }));
    const diff = diffPolicies(from, to, [{ facts, sizeBytes: 1000 }], {
      now,
      horizonEnd: new Date('2026-03-01T00:00:00Z'),
      pricing,
    });
    expect(diff.from.bytesAtHorizon).toEqual({ cold: 1000 });
    expect(diff.to.bytesAtHorizon).toEqual({ pending: 1000 });
    expect(diff.to.failedClosed).toBe(1);
    expect(diff.changed[0]!.changes.join('\n')).toMatch(/fails closed under the new policy/);
  });

  test('a stay cut short by deletion within the window is charged up to the minimum duration', () => {
    const action = { ...BUILTIN_DEFAULTS, immediate: true, timeline: parseTimeline({ deepArchive: true })! };
    const start = new Date('2026-01-01T00:00:00Z');
    const t = buildTimeline(action, start, new Date('2026-01-31T00:00:00Z'));
    const c = timelineCost(t, GIB, pricing, start, new Date('2027-01-01T00:00:00Z'));
    expect(c.byTier.deepArchive).toBeCloseTo(0.003, 6);
    expect(c.earlyDeletion).toBeCloseTo((150 * 0.003) / 30, 6);
    // The same stay ending after the window: no penalty counted yet.
    const open = timelineCost(t, GIB, pricing, start, new Date('2026-01-15T00:00:00Z'));
    expect(open.earlyDeletion).toBe(0);
    expect(parseDuration('1y6mo')).toMatchObject({ years: 1, months: 6 });
  });
});
