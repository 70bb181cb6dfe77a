// `policy explain`: every rule's verdict (including run-time errors), the winner, and the dates in words.
import { describe, expect, test } from 'vitest';
import { explainRetention, renderExplanation } from '../../lib/policy/explain.ts';
import { workflowFacts } from '../../lib/policy/index.ts';
import { policySet, workflow } from './helpers.ts';

describe('explainRetention', () => {
  test('shows matched, unmatched and failing rules, the winner, and the timeline', () => {
    const set = policySet([
      { name: 'eu', match: 'ns == "data-eu"', destination: 'eu-archive', priority: 100 },
      { name: 'failed', match: 'phase == "Failed"', retainFor: '1y', timeline: { hot: '30d', warm: '60d' } },
      { name: 'other', match: 'phase == "Succeeded"', retainFor: '90d' },
    ]);
    const e = explainRetention(
      set,
      workflowFacts(workflow({ namespace: 'data-eu', phase: 'Failed' })),
      new Date('2026-06-01T00:00:00Z'),
    );
    expect(e.rules.map((r) => [r.rule, r.matched])).toEqual([
      ['eu', true],
      ['failed', true],
      ['other', false],
    ]);
    expect(e.decision.winningRule).toBe('eu');
    expect(e.dates).toMatchObject({
      archiveOn: '2026-01-01T00:00:00.000Z',
      warmOn: '2026-01-31T00:00:00.000Z',
      deleteOn: '2027-01-01T00:00:00.000Z',
    });
    const text = renderExplanation(e);
    expect(text).toMatch(/\* eu\s+p=100\s+matched\s+sets destination/);
    expect(text).toMatch(/retainFor from failed/);
    expect(text).toMatch(/destination\s+eu-archive/);
  });

  test('a rule that errors at run time is shown as ERROR and the decision fails closed', () => {
    const set = policySet([{ name: 'boom', match: 'labels["team"] == "x"' }]);
    const e = explainRetention(set, workflowFacts(workflow({})), new Date('2026-06-01T00:00:00Z'));
    expect(e.rules[0]).toMatchObject({ matched: 'error', error: expect.stringMatching(/No such key: team/) });
    expect(e.decision.failedClosed).toBe(true);
    expect(renderExplanation(e)).toMatch(/FAILED CLOSED/);
  });
});
