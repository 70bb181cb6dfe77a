// The scrub's rotation, simulated over random archives and clocks: every pack is read within the period, each run
// reads only its share once the rotation is going, and the reasons say why.
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  planScrub,
  runsPerPeriod,
  scrubCoverage,
  type ScrubPack,
  type ScrubRead,
} from '../../lib/archive/scrub-plan.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-01-01T00:00:00Z');

const packKey = (i: number) => `archive/packs/g/${i.toString(16).padStart(64, '0')}`;

/** Period and cadence: the cadence at most the period (a scrub that runs less often than that cannot keep up). */
const arbSchedule = fc
  .record({ periodDays: fc.integer({ min: 1, max: 120 }), cadenceHours: fc.integer({ min: 1, max: 24 * 30 }) })
  .map(({ periodDays, cadenceHours }) => ({
    periodMs: periodDays * DAY,
    cadenceMs: Math.min(cadenceHours * HOUR, periodDays * DAY),
  }));

/** What happens between runs: the gap (at most the cadence, as a fraction of it), packs added, packs removed. */
const arbStep = fc.record({
  gap: fc.double({ min: 0.01, max: 1, noNaN: true }),
  added: fc.integer({ min: 0, max: 6 }),
  removed: fc.integer({ min: 0, max: 3 }),
  corrupt: fc.boolean(),
});

describe('planScrub', () => {
  test.prop(
    [
      arbSchedule,
      fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 40 }), // initial packs: written this many days before
      fc.array(arbStep, { minLength: 1, maxLength: 40 }),
    ],
    { numRuns: 150 },
  )('every pack is read within the period of its last read or its writing, run after run', (sched, ages, steps) => {
    let next = 0;
    const packs = new Map<string, ScrubPack>();
    const add = (writtenAt: number) => {
      const key = packKey(next++);
      packs.set(key, { key, size: 1000 + next, writtenAt: new Date(writtenAt) });
    };
    for (const age of ages) add(T0 - age * DAY);
    const lastRead = new Map<string, ScrubRead>();
    let now = T0;
    let first = true;
    for (const step of steps) {
      const plan = planScrub({ packs: [...packs.values()], lastRead, now: new Date(now), ...sched });
      for (const r of plan.read) {
        const p = packs.get(r.key)!;
        const since = (lastRead.get(r.key)?.at ?? p.writtenAt).getTime();
        // Packs already overdue when the scrub first runs (an archive older than its first scrub) are read then.
        if (!first) expect(now - since, r.reason).toBeLessThanOrEqual(sched.periodMs);
        lastRead.set(r.key, { at: new Date(now), ok: !(step.corrupt && r === plan.read[0]) });
      }
      expect(plan.deferred).toEqual([]);
      // Nothing is left behind that would pass its period before the next run.
      const nextRun = now + Math.max(1, Math.floor(step.gap * sched.cadenceMs));
      for (const p of packs.values()) {
        const since = (lastRead.get(p.key)?.at ?? p.writtenAt).getTime();
        expect(since + sched.periodMs, p.key).toBeGreaterThanOrEqual(nextRun);
      }
      const cov = scrubCoverage([...packs.values()], lastRead, new Date(now), sched.periodMs);
      expect(cov.overdue).toBe(0);
      expect(cov.oldestUnreadSeconds * 1000).toBeLessThanOrEqual(sched.periodMs);
      first = false;
      now = nextRun;
      for (let i = 0; i < step.removed && packs.size > 0; i++) packs.delete([...packs.keys()][0]!);
      for (let i = 0; i < step.added; i++) add(now - Math.floor(step.gap * sched.cadenceMs * (i / 7)));
    }
  });

  test.prop([arbSchedule, fc.integer({ min: 1, max: 300 }), fc.integer({ min: 2, max: 60 })], { numRuns: 100 })(
    'a fresh archive is read a share at a time: no run reads more than its share, all packs within the period',
    (sched, n, runs) => {
      const packs: ScrubPack[] = Array.from({ length: n }, (_, i) => ({
        key: packKey(i),
        size: 1,
        writtenAt: new Date(T0),
      }));
      const share = Math.ceil(n / runsPerPeriod(sched.periodMs, sched.cadenceMs));
      const lastRead = new Map<string, ScrubRead>();
      for (let run = 0; run < runs; run++) {
        const now = new Date(T0 + run * sched.cadenceMs);
        const plan = planScrub({ packs, lastRead, now, ...sched });
        expect(plan.share).toBe(share);
        expect(plan.read.length).toBeLessThanOrEqual(share);
        for (const r of plan.read) lastRead.set(r.key, { at: now, ok: true });
        expect(scrubCoverage(packs, lastRead, now, sched.periodMs).overdue).toBe(0);
      }
    },
  );

  const pack = (i: number, writtenDaysAgo: number, size = 100): ScrubPack => ({
    key: packKey(i),
    size,
    writtenAt: new Date(T0 - writtenDaysAgo * DAY),
  });
  const weekly = { periodMs: 90 * DAY, cadenceMs: 7 * DAY, now: new Date(T0) };

  test('reasons: a failed pack is read again, a due one is read, the rest wait their turn in the rotation', () => {
    const packs = [pack(1, 10), pack(2, 100), pack(3, 50), ...Array.from({ length: 30 }, (_, i) => pack(10 + i, 1))];
    const lastRead = new Map<string, ScrubRead>([
      [packKey(1), { at: new Date(T0 - 1 * DAY), ok: false }],
      [packKey(2), { at: new Date(T0 - 85 * DAY), ok: true }],
      [packKey(3), { at: new Date(T0 - 40 * DAY), ok: true }],
    ]);
    const plan = planScrub({ packs, lastRead, ...weekly });
    expect(plan.share).toBe(Math.ceil(33 / 12));
    const reasons = new Map(plan.read.map((r) => [r.key, r.reason]));
    expect(reasons.get(packKey(1))).toBe('failed its last read: read again (last read 1.0d ago)');
    expect(reasons.get(packKey(2))).toBe('due: last read 85.0d ago, the 90.0d period ends before the next run');
    // The share is filled with packs never read (new writes are read soon, before older reads come round).
    expect(plan.read).toHaveLength(3);
    expect([...reasons.values()].filter((r) => r.startsWith('rotation'))).toEqual([
      'rotation: never read, written 1.0d ago',
    ]);
    expect(reasons.has(packKey(3))).toBe(false);
  });

  test('a byte budget defers what does not fit, and says so', () => {
    const packs = [pack(1, 200, 600), pack(2, 150, 600), pack(3, 120, 600)];
    const plan = planScrub({ packs, lastRead: new Map(), ...weekly, maxBytes: 1300 });
    expect(plan.read.map((r) => r.key)).toEqual([packKey(1), packKey(2)]);
    expect(plan.bytes).toBe(1200);
    expect(plan.deferred).toEqual([
      expect.objectContaining({ key: packKey(3), reason: expect.stringMatching(/^deferred \(over the 1300-byte/) }),
    ]);
    // Coverage says the guarantee is broken for now, so the alert fires.
    expect(scrubCoverage(packs, new Map(), weekly.now, weekly.periodMs)).toMatchObject({ overdue: 3, coverage: 0 });
  });

  test('packs in cold storage classes are not read and not counted', () => {
    const packs: ScrubPack[] = [pack(1, 200), { ...pack(2, 200), storageClass: 'DEEP_ARCHIVE' }];
    const plan = planScrub({ packs, lastRead: new Map(), ...weekly });
    expect(plan.read.map((r) => r.key)).toEqual([packKey(1)]);
    expect(plan.cold).toEqual([
      expect.objectContaining({ key: packKey(2), reason: expect.stringMatching(/DEEP_ARCHIVE/) }),
    ]);
    const lastRead = new Map([[packKey(1), { at: weekly.now, ok: true }]]);
    expect(scrubCoverage(packs, lastRead, weekly.now, weekly.periodMs)).toMatchObject({ packs: 1, coverage: 1 });
  });

  test('coverage: read within the period, overdue, oldest unread age, failed last read', () => {
    const packs = [pack(1, 300), pack(2, 300), pack(3, 5), pack(4, 300)];
    const lastRead = new Map<string, ScrubRead>([
      [packKey(1), { at: new Date(T0 - 10 * DAY), ok: true }],
      [packKey(2), { at: new Date(T0 - 95 * DAY), ok: true }],
      [packKey(4), { at: new Date(T0 - 1 * DAY), ok: false }],
    ]);
    expect(scrubCoverage(packs, lastRead, weekly.now, weekly.periodMs)).toEqual({
      packs: 4,
      readWithinPeriod: 2,
      coverage: 0.5,
      overdue: 1,
      oldestUnreadSeconds: 95 * 86_400,
      failedLastRead: 1,
    });
    expect(scrubCoverage([], new Map(), weekly.now, weekly.periodMs).coverage).toBe(1);
  });
});
