// The emergency deletion's cancellation window, on the project's clock: an approved deletion is only scheduled,
// cancellable until the window ends; the first tier run after it deletes (checking holds again), exactly once.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { initRepository, type Repository } from '../../lib/archive/index.ts';
import type { AuditRecord } from '../../lib/audit/audit.ts';
import { InputError } from '../../lib/errors.ts';
import type { HoldsAndExtensions } from '../../lib/policy/holds.ts';
import { emergencyDelete, runScheduledDeletions } from '../../lib/pipeline/emergency-delete.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { cancelScheduled, listScheduled } from '../../lib/tier/emergency-schedule.ts';
import { SMALL, tempDir } from '../archive/fixtures.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { runCli } from '../support/run-cli.ts';
import { archiveAt, manifestsByUid } from './helpers.ts';

const dir = tempDir('strata-emergency-window-');
afterAll(() => dir.cleanup());
let n = 0;
const HOUR = 3_600_000;
const none: HoldsAndExtensions = { holds: [], extensions: [] };

async function setup(): Promise<{ repo: Repository; clock: FakeClock; root: string }> {
  const clock = new FakeClock(new Date('2026-06-01T00:00:00Z'));
  const root = join(dir.path, `repo-${n++}`);
  const repo = await initRepository(new FileSystemStore(root, () => clock.now()), SMALL);
  await archiveAt(repo, 'victim', clock.now(), [randomBytes(8_000)]);
  await archiveAt(repo, 'other', clock.now(), [randomBytes(8_000)]);
  return { repo, clock, root };
}

const ask = { uid: 'victim', reason: 'leaked token', approver: 'ciso', actor: 'oncall', breakGlass: false };

test('scheduled, not deleted; the first tier run after the window deletes it, once', async () => {
  const { repo, clock } = await setup();
  const records: AuditRecord[] = [];
  const audit = { record: async (r: AuditRecord) => void records.push(r) };
  const deps = () => ({ repo, holds: none, audit, now: clock.now(), settleMs: 0 });

  const asked = await emergencyDelete({ ...ask, dryRun: false, windowMs: 24 * HOUR }, deps());
  expect(asked).toMatchObject({ refused: false, scheduled: { runAfter: '2026-06-02T00:00:00.000Z' } });
  expect(asked.deletion).toBeUndefined();
  expect((await manifestsByUid(repo)).has('victim')).toBe(true);
  expect(records.at(-1)).toMatchObject({ action: 'emergency-delete', details: { scheduled: asked.scheduled!.id } });

  clock.advance(23 * HOUR);
  const early = await runScheduledDeletions(deps());
  expect(early.ran).toEqual([]);
  expect(early.waiting.map((w) => w.id)).toEqual([asked.scheduled!.id]);
  expect((await manifestsByUid(repo)).has('victim')).toBe(true);

  clock.advance(HOUR);
  // The window is over: no cancelling now.
  await expect(cancelScheduled(repo, 'victim', { actor: 'oncall', reason: 'oops', at: clock.now() })).rejects.toThrow(
    /cancellation window .* is over/,
  );
  const due = await runScheduledDeletions(deps());
  expect(due.ran.map((r) => r.result.deletion?.outcome)).toEqual(['done']);
  expect([...(await manifestsByUid(repo)).keys()]).toEqual(['other']);
  const again = await runScheduledDeletions(deps());
  expect(again.ran).toEqual([]);
  const { schedules } = await listScheduled(repo);
  expect(schedules[0]!.done).toMatchObject({ outcome: 'done' });
});

test('cancelled within the window: nothing is ever deleted', async () => {
  const { repo, clock } = await setup();
  const deps = () => ({ repo, holds: none, audit: { record: async () => {} }, now: clock.now(), settleMs: 0 });
  await emergencyDelete({ ...ask, dryRun: false, windowMs: 2 * HOUR }, deps());
  clock.advance(HOUR);
  const cancelled = await cancelScheduled(repo, 'victim', { actor: 'ciso', reason: 'false alarm', at: clock.now() });
  expect(cancelled).toHaveLength(1);
  clock.advance(10 * HOUR);
  expect((await runScheduledDeletions(deps())).ran).toEqual([]);
  expect((await manifestsByUid(repo)).has('victim')).toBe(true);
  await expect(cancelScheduled(repo, 'victim', { actor: 'ciso', reason: 'x', at: clock.now() })).rejects.toThrow(
    InputError,
  );
});

test('a legal hold placed during the window refuses the deletion when it comes due; the data stays', async () => {
  const { repo, clock } = await setup();
  const deps = (holds: HoldsAndExtensions) => ({
    repo,
    holds,
    audit: { record: async () => {} },
    now: clock.now(),
    settleMs: 0,
  });
  await emergencyDelete({ ...ask, dryRun: false, windowMs: HOUR }, deps(none));
  clock.advance(2 * HOUR);
  const held: HoldsAndExtensions = {
    holds: [
      { id: 'case-1', workflowUid: 'victim', actor: 'legal', reason: 'litigation', created: '2026-06-01T00:30:00Z' },
    ],
    extensions: [],
  };
  const run = await runScheduledDeletions(deps(held));
  expect(run.ran[0]!.result.refused).toBe(true);
  expect((await manifestsByUid(repo)).has('victim')).toBe(true);
  expect((await listScheduled(repo)).schedules[0]!.done?.outcome).toMatch(/^refused: under legal hold case-1/);
});

test('strata emergency-delete --window schedules, --cancel calls it off', async () => {
  const { root } = await setup();
  const store = ['--store', `file:${root}`, '--catalog', join(root, '..', 'none.db')];
  const identity = process.env.STRATA_IDENTITY;
  process.env.STRATA_IDENTITY = 'local';
  try {
    const asked = await runCli([
      ...store,
      'emergency-delete',
      'victim',
      '--reason',
      'leak',
      '--approver',
      'ciso',
      '--actor',
      'oncall',
      '--window',
      '24h',
      '--no-cluster',
      '-o',
      'json',
    ]);
    expect(asked.code).toBe(0);
    expect(JSON.parse(asked.out).scheduled.id).toMatch(/-[0-9a-f]{8}$/);
    const cancel = await runCli([
      ...store,
      'emergency-delete',
      'victim',
      '--cancel',
      '--reason',
      'false alarm',
      '--actor',
      'ciso',
      '-o',
      'json',
    ]);
    expect(cancel.code).toBe(0);
    expect(JSON.parse(cancel.out).cancelled).toHaveLength(1);
  } finally {
    if (identity === undefined) delete process.env.STRATA_IDENTITY;
    else process.env.STRATA_IDENTITY = identity;
  }
});
