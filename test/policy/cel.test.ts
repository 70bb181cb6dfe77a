// The CEL environment: typed variables, compile errors with offsets, and RE2 semantics for `matches`.
import { describe, expect, test } from 'vitest';
import { celDuration, compileMatch, type CelContext } from '../../lib/policy/cel-env.ts';
import { celContext, workflowFacts } from '../../lib/policy/facts.ts';

const ctx = (over: Partial<CelContext> = {}): CelContext => ({
  workflow: { metadata: { name: 'w' }, spec: { parallelism: 10n } },
  labels: { team: 'payments', 'workflow-type': 'play-orchestration' },
  annotations: {},
  ns: 'finance',
  name: 'w',
  uid: 'u',
  phase: 'Succeeded',
  startedAt: new Date('2026-01-01T00:00:00Z'),
  finishedAt: new Date('2026-01-01T02:00:00Z'),
  duration: celDuration(2 * 3600_000),
  now: new Date('2026-02-01T00:00:00Z'),
  related: [{ kind: 'CodeRun' }],
  archive: { sizeBytes: 10n, tier: 'hot', holds: 0n, held: false },
  ...over,
});

function run(expr: string, c = ctx()): boolean {
  const compiled = compileMatch(expr);
  if ('error' in compiled) throw new Error(compiled.error.message);
  return compiled.match(c);
}

describe('CEL environment', () => {
  test('every documented variable is usable with its type', () => {
    expect(
      run('labels["team"] == "payments" && ns == "finance" && name == "w" && uid == "u" && phase == "Succeeded"'),
    ).toBe(true);
    expect(run('duration > duration("1h") && now - finishedAt > duration("720h") && startedAt < finishedAt')).toBe(
      true,
    );
    expect(run('workflow.spec.parallelism == 10 && related.exists(r, r.kind == "CodeRun")')).toBe(true);
    expect(run('archive.sizeBytes > 5 && archive.tier == "hot" && !archive.held')).toBe(true);
    expect(run('labels[?"missing"].orValue("none") == "none"')).toBe(true);
  });

  test('compile errors name the problem and its offset; unknown identifiers get a suggestion', () => {
    const typo = compileMatch('phase == "x" && lables["a"] == "b"');
    expect(typo).toMatchObject({ error: { offset: 16 } });
    expect('error' in typo && typo.error.message).toMatch(/lables.*did you mean "labels"/);
    expect(compileMatch('phase')).toMatchObject({ error: { message: 'match must return bool, not string' } });
    expect(compileMatch('phase == ')).toHaveProperty('error');
    expect(compileMatch('ns == "a" && size(labels) + "x" == 1')).toHaveProperty('error');
  });

  test('matches has RE2 semantics: a catastrophic-backtracking pattern completes with the RE2 answer', () => {
    // (a+)+$ against "aaaa…!" takes exponential time with backtracking regexes; RE2 is linear.
    const subject = 'a'.repeat(5000) + '!';
    expect(run(`name.matches("(a+)+$")`, ctx({ name: subject }))).toBe(false);
    expect(run(`name.matches("(a+)+!$")`, ctx({ name: subject }))).toBe(true);
    // RE2 rejects what it cannot do in linear time, e.g. backreferences, at compile time.
    expect(compileMatch('name.matches("(a)\\\\1")')).toMatchObject({
      error: { message: expect.stringMatching(/invalid RE2 pattern/) },
    });
    // Partial match semantics, as in cel-go.
    expect(run('labels["team"].matches("pay")')).toBe(true);
  });

  test('a dynamic invalid pattern is a run-time error (so the decision fails closed)', () => {
    const compiled = compileMatch('name.matches(labels["team"] + "(")');
    if ('error' in compiled) throw new Error('should compile');
    expect(() => compiled.match(ctx())).toThrow(/invalid RE2 pattern/);
  });

  test('"matches" inside string literals is left alone by the RE2 rewrite', () => {
    expect(run('"x.matches(y)".matches("matches") && name.matches("^w$")')).toBe(true);
  });

  test('missing keys and missing timestamps are run-time errors, never silently false', () => {
    const a = compileMatch('labels["nope"] == "x"');
    const b = compileMatch('now - finishedAt > duration("1h")');
    if ('error' in a || 'error' in b) throw new Error('should compile');
    expect(() => a.match(ctx())).toThrow();
    expect(() => b.match(ctx({ finishedAt: undefined }))).toThrow();
  });

  test('the context built from facts exposes workflow (integers as CEL ints), related, duration and archive', () => {
    const facts = workflowFacts(
      {
        metadata: { name: 'a', namespace: 'n', labels: { x: 'y' } },
        spec: { parallelism: 10 },
        status: { phase: 'Failed', startedAt: '2025-12-31T22:00:00Z', finishedAt: '2026-01-01T00:00:00Z' },
      },
      { related: [{ kind: 'CodeRun', spec: { taskId: 7 } }], archive: { sizeBytes: 5, tier: 'hot' } },
    );
    const compiled = compileMatch(
      'workflow.spec.parallelism == 10 && related.exists(r, r.spec.taskId == 7) && ns == "n" && phase == "Failed" && duration == duration("2h") && archive.sizeBytes == 5 && archive.held',
    );
    if ('error' in compiled) throw new Error(compiled.error.message);
    expect(compiled.match(celContext(facts, new Date('2026-02-01T00:00:00Z'), 1))).toBe(true);
  });
});
