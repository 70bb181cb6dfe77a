// The fleet cost report: steady-state monthly spend by Little's law, tiers against all-hot, through the CLI too.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parseTimeline, type RetentionAction } from '../../lib/policy/compile.ts';
import { parseDuration, parseRetention, retentionEnd } from '../../lib/policy/duration.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import { buildTimeline } from '../../lib/policy/timeline.ts';
import { fleetCost } from '../../lib/tier/cost-report.ts';
import { tempRepository } from '../archive/fixtures.ts';
import { policyYaml } from '../policy/helpers.ts';
import { runCli } from '../support/run-cli.ts';
import { archiveAt } from './helpers.ts';

const GIB = 1024 ** 3;

function timeline(spec: Record<string, string | boolean>, retain: string) {
  const action: RetentionAction = {
    archiveAfter: parseDuration('0s')!,
    immediate: true,
    timeline: parseTimeline(spec)!,
    retainFor: parseRetention(retain)!,
    deleteSource: false,
  };
  const t0 = new Date('2026-01-01T00:00:00Z');
  return buildTimeline(action, t0, retentionEnd(t0, action.retainFor));
}

test("steady state: arrivals a month times one workflow's lifetime cost, all hot against the tiers", () => {
  // 1 GiB a workflow, 1 a day, kept 60 days: 60 GiB at rest. All hot: 60 × 0.023 a month.
  const r = fleetCost([{ rule: 'r', originalBytes: GIB, timeline: timeline({ hot: '30d', warm: 'rest' }, '60d') }], {
    pricing: DEFAULT_PRICING,
    storedRatio: 0.5,
    workflowsPerDay: 1,
    horizonMonths: 84,
  });
  expect(r.totals.monthlyAllHot).toBeCloseTo(60 * 0.023, 6);
  // Stored half the size: 30 days hot then 30 warm → 15 GiB hot and 15 GiB warm at rest.
  expect(r.totals.monthlyStrata).toBeCloseTo(15 * 0.023 + 15 * 0.0125, 6);
  expect(r.steadyBytes.hot / GIB).toBeCloseTo(15, 6);
  expect(r.steadyBytes.warm / GIB).toBeCloseTo(15, 6);
  expect(r.totals.saving).toBeCloseTo(1 - (15 * 0.023 + 15 * 0.0125) / (60 * 0.023), 6);
});

test('strata report cost reads the corpus mix and the measured ratio', async () => {
  const t = await tempRepository();
  try {
    const text = Buffer.from('2026-11-01T00:00:00Z step ok\n'.repeat(5000));
    await archiveAt(t.repo, 'a', new Date(), [text, randomBytes(2_000)]);
    const policy = join(t.root, '..', 'p.yaml');
    writeFileSync(
      policy,
      policyYaml([], { archiveAfter: '0s', timeline: { hot: '7d', cold: 'rest' }, retainFor: '90d' }),
    );
    const r = await runCli([
      '--store',
      `file:${t.root}`,
      'report',
      'cost',
      '--policy',
      policy,
      '--per-day',
      '100',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as ReturnType<typeof fleetCost>;
    expect(out).toMatchObject({
      workflowsPerDay: 100,
      corpusWorkflows: 1,
      rows: [{ rule: 'defaults', coldestTier: 'cold' }],
    });
    expect(out.storedRatio).toBeLessThan(0.5);
    expect(out.totals.saving).toBeGreaterThan(0.7);
  } finally {
    t.cleanup();
  }
});
