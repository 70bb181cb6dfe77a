// Documented resolution rules, one example each (docs/policies.md "Resolution").
import { describe, expect, test } from 'vitest';
import { decideRetention, loadPolicySet, workflowFacts } from '../../lib/policy/index.ts';
import { policySet, workflow } from './helpers.ts';

const NOW = new Date('2026-06-01T00:00:00Z');
const FINISHED = '2026-01-01T00:00:00Z';
const iso = (d: Date | undefined) => d?.toISOString();

describe('resolution', () => {
  test('the higher priority wins; among equal priorities the first in order', () => {
    const set = policySet([
      { name: 'low', match: 'true', retainFor: '10d', priority: 1 },
      { name: 'first', match: 'true', retainFor: '20d', priority: 5 },
      { name: 'second', match: 'true', retainFor: '30d', priority: 5 },
    ]);
    const d = decideRetention(set, workflowFacts(workflow({})), NOW);
    expect(d.winningRule).toBe('first');
    expect(d.matchedRules).toEqual(['first', 'second', 'low']);
    expect(iso(d.timeline.deleteAt)).toBe('2026-01-21T00:00:00.000Z');
  });

  test('fields a winner leaves unset come from the next ranked matching rule, then the defaults', () => {
    const set = policySet(
      [
        { name: 'residency', match: 'ns == "data-eu"', destination: 'eu-archive', priority: 100 },
        { name: 'team', match: 'true', retainFor: '90d', priority: 10 },
      ],
      { archiveAfter: '2h', retainFor: '1y' },
    );
    const d = decideRetention(set, workflowFacts(workflow({ namespace: 'data-eu' })), NOW);
    expect(d.winningRule).toBe('residency');
    expect(d.destination).toBe('eu-archive');
    expect(iso(d.timeline.deleteAt)).toBe('2026-04-01T00:00:00.000Z');
    expect(iso(d.timeline.archiveAt)).toBe('2026-01-01T02:00:00.000Z');
  });

  test('no match means the configured defaults; no defaults means keep indefinitely', () => {
    const withDefaults = policySet([{ name: 'never', match: 'false', retainFor: '1d' }], {
      retainFor: '30d',
      deleteSource: true,
    });
    const d = decideRetention(withDefaults, workflowFacts(workflow({})), NOW);
    expect(d.winningRule).toBeUndefined();
    expect(iso(d.timeline.deleteAt)).toBe('2026-01-31T00:00:00.000Z');
    expect(d.deleteSourceAfterArchive).toBe(true);
    expect(d.group).toBe('default/2026-01');
    const bare = decideRetention(policySet([]), workflowFacts(workflow({})), NOW);
    expect(bare.timeline.indefinite).toBe(true);
    expect(bare.deleteSourceAfterArchive).toBe(false);
  });

  test('a compliance floor is never shortened by a higher-priority rule', () => {
    const set = policySet([
      { name: 'short', match: 'true', retainFor: '7d', priority: 1000 },
      { name: 'fin', match: 'true', complianceClass: 'financial', retainFor: '7y' },
    ]);
    const d = decideRetention(set, workflowFacts(workflow({})), NOW);
    expect(d.winningRule).toBe('short');
    expect(d.complianceClass).toBe('financial');
    expect(iso(d.timeline.deleteAt)).toBe('2033-01-01T00:00:00.000Z');
    expect(d.group).toBe('financial/2026-01');
  });

  test('among matching compliance classes the longest retention wins, indefinite beats any duration', () => {
    const set = policySet([
      { name: 'sec', match: 'true', complianceClass: 'security', retainFor: '5y' },
      { name: 'fin', match: 'true', complianceClass: 'financial', retainFor: '7y' },
      { name: 'legal', match: 'ns == "legal"', complianceClass: 'legal', retainFor: 'indefinite' },
    ]);
    expect(decideRetention(set, workflowFacts(workflow({})), NOW).complianceClass).toBe('financial');
    const forever = decideRetention(set, workflowFacts(workflow({ namespace: 'legal' })), NOW);
    expect(forever.complianceClass).toBe('legal');
    expect(forever.complianceFloor).toBe('indefinite');
    expect(forever.timeline.deleteAt).toBeUndefined();
  });

  test('years are calendar years: 7y from a leap day ends on 28 Feb', () => {
    const set = policySet([{ name: 'fin', match: 'true', complianceClass: 'financial', retainFor: '7y' }]);
    const d = decideRetention(set, workflowFacts(workflow({ finishedAt: '2024-02-29T12:00:00Z' })), NOW);
    expect(iso(d.timeline.deleteAt)).toBe('2031-02-28T12:00:00.000Z');
  });

  test('a legal hold overrides every deletion, including the source after archive', () => {
    const set = policySet([{ name: 'short', match: 'true', retainFor: '1d', deleteSource: true }]);
    const facts = workflowFacts(workflow({ uid: 'w1' }), { archive: { sizeBytes: 1, tier: 'hot' } });
    expect(decideRetention(set, facts, NOW).action).toBe('delete');
    const hold = { id: 'h1', workflowUid: 'w1', actor: 'legal', reason: 'case 7', created: '2026-05-01T00:00:00Z' };
    const held = decideRetention(set, facts, NOW, { holds: [hold], extensions: [] });
    expect(held.action).toBe('keep');
    expect(held.holds).toEqual(['h1']);
    expect(held.timeline.deleteAt).toBeUndefined();
    expect(held.deleteSourceAfterArchive).toBe(false);
    // Released before now: deletion is back.
    const released = { ...hold, released: { actor: 'legal', reason: 'closed', at: '2026-05-15T00:00:00Z' } };
    expect(decideRetention(set, facts, NOW, { holds: [released], extensions: [] }).action).toBe('delete');
  });

  test('extensions add time (recorded who/why/until) and never shorten retention', () => {
    const set = policySet([{ name: 'r', match: 'true', retainFor: '30d' }]);
    const facts = workflowFacts(workflow({ uid: 'w2' }), { archive: { sizeBytes: 1, tier: 'hot' } });
    const ext = (until: string) => ({
      id: 'e',
      workflowUid: 'w2',
      actor: 'sre',
      reason: 'postmortem',
      created: FINISHED,
      until,
    });
    const later = decideRetention(set, facts, NOW, { holds: [], extensions: [ext('2026-12-01T00:00:00Z')] });
    expect(later.action).toBe('keep');
    expect(iso(later.timeline.deleteAt)).toBe('2026-12-01T00:00:00.000Z');
    expect(later.reasons.join('\n')).toMatch(/extended until 2026-12-01.* by sre: postmortem/);
    const earlier = decideRetention(set, facts, NOW, { holds: [], extensions: [ext('2026-01-05T00:00:00Z')] });
    expect(iso(earlier.timeline.deleteAt)).toBe('2026-01-31T00:00:00.000Z');
  });

  test('tier timeline: consecutive stays from archival, the last stage lasts until deletion', () => {
    const set = policySet([
      {
        name: 't',
        match: 'true',
        archiveAfter: '1h',
        timeline: { hot: '7d', warm: '30d', deepArchive: true },
        retainFor: '1y',
      },
    ]);
    const d = decideRetention(set, workflowFacts(workflow({}), { archive: { sizeBytes: 1, tier: 'hot' } }), NOW);
    expect(iso(d.timeline.archiveAt)).toBe('2026-01-01T01:00:00.000Z');
    expect(iso(d.timeline.warmAt)).toBe('2026-01-08T01:00:00.000Z');
    expect(d.timeline.coldAt).toBeUndefined();
    expect(iso(d.timeline.deepArchiveAt)).toBe('2026-02-07T01:00:00.000Z');
    expect(d).toMatchObject({ action: 'move', targetTier: 'deepArchive' });
    // Never back to a warmer tier: a timeline only moves data colder.
    const longerHot = policySet([{ name: 't', match: 'true', timeline: { hot: '1y' }, retainFor: '2y' }]);
    const stay = decideRetention(
      longerHot,
      workflowFacts(workflow({}), { archive: { sizeBytes: 1, tier: 'cold' } }),
      NOW,
    );
    expect(stay.action).toBe('keep');
  });

  test('immediate archival ignores archiveAfter; unarchived data past retention is archived, never deleted', () => {
    const set = policySet([{ name: 'i', match: 'true', immediate: true, archiveAfter: '5d', retainFor: '1d' }]);
    const d = decideRetention(set, workflowFacts(workflow({})), NOW);
    expect(iso(d.timeline.archiveAt)).toBe('2026-01-01T00:00:00.000Z');
    expect(d.action).toBe('archive');
  });
});

describe('fail closed', () => {
  test('an invalid policy set keeps everything and says where', () => {
    const { policySet: set } = loadPolicySet([
      {
        name: 'bad.yaml',
        text: 'apiVersion: strata.dev/v1alpha1\nkind: RetentionPolicy\nmetadata: {name: x}\nspec:\n  rules:\n    - name: a\n      match: "nope ="\n',
      },
    ]);
    const d = decideRetention(set, workflowFacts(workflow({}), { archive: { sizeBytes: 1, tier: 'hot' } }), NOW);
    expect(d).toMatchObject({ action: 'keep', failedClosed: true, deleteSourceAfterArchive: false });
    expect(d.reasons.join('\n')).toMatch(/bad\.yaml:7:\d+: rule "a": match/);
  });

  test('a CEL run-time error keeps everything and names the rule and its location', () => {
    const set = policySet([
      { name: 'ok', match: 'true', retainFor: '1d', deleteSource: true },
      { name: 'boom', match: 'labels["absent"] == "x"' },
    ]);
    const d = decideRetention(set, workflowFacts(workflow({}), { archive: { sizeBytes: 1, tier: 'hot' } }), NOW);
    expect(d).toMatchObject({ action: 'keep', failedClosed: true, deleteSourceAfterArchive: false });
    expect(d.reasons[1]).toMatch(/^test\.yaml:\d+:\d+: rule "boom": match failed at run time: No such key: absent/);
  });

  test('a completed workflow with no finish time keeps everything', () => {
    const wf = workflow({});
    delete (wf.status as Record<string, unknown>).finishedAt;
    const d = decideRetention(policySet([{ name: 'r', match: 'true', retainFor: '1d' }]), workflowFacts(wf), NOW);
    expect(d).toMatchObject({ action: 'keep', failedClosed: true });
    expect(d.reasons[1]).toMatch(/status\.finishedAt is missing/);
  });
});
