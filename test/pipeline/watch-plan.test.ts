// The watch loop's pure parts: what it does with one verdict (planWatch) and the bounded delay queue.
import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import type { ArchiveVerdict } from '../../lib/pipeline/assess.ts';
import { DelayQueue } from '../../lib/pipeline/delay-queue.ts';
import { planWatch, retryDelayMs, RETRY_MAX_MS } from '../../lib/pipeline/watch-plan.ts';

const now = new Date('2026-03-02T12:00:00Z');
const verdict = (v: Partial<ArchiveVerdict>): { verdict: ArchiveVerdict } => ({
  verdict: { archive: false, reason: 'r', group: 'g', deleteSourceAfterArchive: false, ...v },
});

describe('planWatch', () => {
  test('archive now, wait for a due time, let go of a final no, retry what could not be decided', () => {
    expect(planWatch({ now, attempts: 0, decision: verdict({ archive: true }) }).action).toBe('archive');
    const due = new Date(now.getTime() + 600_000);
    expect(planWatch({ now, attempts: 0, decision: verdict({ dueAt: due }) })).toMatchObject({ action: 'wait', due });
    expect(planWatch({ now, attempts: 0, decision: verdict({ final: true }) }).action).toBe('drop');
    const failed = planWatch({ now, attempts: 0, decision: verdict({ policyError: true }) });
    expect(failed).toMatchObject({ action: 'retry', attempts: 1, due: new Date(now.getTime() + 30_000) });
    expect(planWatch({ now, attempts: 2, decision: { error: 'boom' } })).toMatchObject({
      action: 'retry',
      attempts: 3,
      reason: 'policy error: boom',
      due: new Date(now.getTime() + 120_000),
    });
    // "Not yet" whose due time has passed would spin: it is retried with backoff instead.
    expect(planWatch({ now, attempts: 0, decision: verdict({ dueAt: now }) }).action).toBe('retry');
  });

  propTest.prop([fc.nat(100)])('the backoff grows and never exceeds the sweep interval', (attempts) => {
    expect(retryDelayMs(attempts + 1)).toBeGreaterThanOrEqual(retryDelayMs(attempts));
    expect(retryDelayMs(attempts)).toBeLessThanOrEqual(RETRY_MAX_MS);
  });
});

describe('DelayQueue', () => {
  const entry = (uid: string, due: number) => ({ uid, namespace: 'ns', name: uid, due, attempts: 0 });

  propTest.prop([
    fc.array(fc.tuple(fc.constantFrom('schedule', 'remove'), fc.integer({ min: 0, max: 20 }), fc.nat(1000)), {
      maxLength: 300,
    }),
    fc.integer({ min: 1, max: 10 }),
    fc.nat(1000),
  ])(
    'holds at most its limit, one entry per uid, and hands out exactly the due ones, earliest first',
    (ops, limit, at) => {
      const q = new DelayQueue(limit);
      const model = new Map<string, number>();
      for (const [op, id, due] of ops) {
        const uid = `u${id}`;
        if (op === 'remove') {
          q.remove(uid);
          model.delete(uid);
        } else if (q.schedule(entry(uid, due)) !== 'full') model.set(uid, due);
        else expect(model.size).toBe(limit);
        expect(q.size).toBe(model.size);
        expect(q.size).toBeLessThanOrEqual(limit);
      }
      const expectedNext = model.size ? Math.min(...model.values()) : undefined;
      expect(q.nextDue()).toBe(expectedNext);
      const taken = q.takeDue(at);
      const want = [...model].filter(([, d]) => d <= at).map(([uid]) => uid);
      expect(taken.map((t) => t.uid).sort()).toEqual(want.sort());
      expect(taken.map((t) => t.due)).toEqual([...taken.map((t) => t.due)].sort((a, b) => a - b));
      expect(q.size).toBe(model.size - want.length);
    },
  );

  test('rescheduling moves a workflow; a policy change makes every pending one due at once', () => {
    const q = new DelayQueue(10);
    q.schedule(entry('a', 500));
    q.schedule(entry('b', 900));
    expect(q.schedule(entry('a', 1000))).toBe('updated');
    expect(q.takeDue(600)).toEqual([]);
    q.dueAll(100);
    expect(q.takeDue(100).map((e) => e.uid)).toEqual(['a', 'b']);
    expect(q.size).toBe(0);
  });
});
