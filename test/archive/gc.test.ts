// gc deletes unreferenced packs only after two grace periods (condemn, then delete) and never a referenced one.
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { archiveBundle } from '../../lib/archive/index.ts';
import { collectGarbage } from '../../lib/archive/gc.ts';
import { verifyRepository } from '../../lib/archive/checker.ts';
import { restoreWorkflow } from '../../lib/archive/restorer.ts';
import { bundleOf, logText, tempDir, tempRepository } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const HOUR = 3_600_000;
const later = (h: number) => new Date(Date.now() + h * HOUR);

async function keys(store: { list(p: string): AsyncIterable<{ key: string }> }, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

describe('gc', () => {
  test('removes an orphaned pack only after the grace period, in two runs, and keeps referenced ones', async () => {
    const r = await tempRepository();
    cleanups.push(r.cleanup);
    const kept = await archiveBundle(r.repo, bundleOf('g1', [{ path: 'a.log', data: logText(21, 100_000) }]));
    const orphan = await archiveBundle(r.repo, bundleOf('g2', [{ path: 'b.log', data: logText(22, 100_000) }]));
    // Dropping the second manifest leaves its packs unreferenced, as a crash before the commit point would.
    unlinkSync(join(r.root, 'archive/manifests', orphan.manifestId));
    const packsBefore = await keys(r.repo.store, 'archive/packs/');

    const young = await collectGarbage(r.repo, { graceMs: HOUR });
    expect(young.condemned).toEqual([]);
    expect(young.young).toBe(orphan.stats.packs);

    const dry = await collectGarbage(r.repo, { graceMs: HOUR, now: later(2), dryRun: true });
    expect(dry.condemned.length).toBe(orphan.stats.packs);
    expect(await keys(r.repo.store, 'archive/packs/')).toEqual(packsBefore);

    const first = await collectGarbage(r.repo, { graceMs: HOUR, now: later(2) });
    expect(first.condemned.length).toBe(orphan.stats.packs);
    expect(first.deleted).toEqual([]);
    expect(await keys(r.repo.store, 'archive/packs/')).toEqual(packsBefore);

    // The condemned copies were written just now: another grace period must pass before deletion.
    expect((await collectGarbage(r.repo, { graceMs: HOUR, now: later(0.5) })).deleted).toEqual([]);
    const second = await collectGarbage(r.repo, { graceMs: HOUR, now: later(2) });
    expect(second.deleted.sort()).toEqual([...first.condemned].sort());

    const left = await keys(r.repo.store, 'archive/packs/');
    expect(left.length).toBe(packsBefore.length - orphan.stats.packs);
    expect(await keys(r.repo.store, 'archive/condemned/')).toEqual([]);
    const report = await verifyRepository(r.repo, { readData: true });
    expect(report.problems).toEqual([]);
    expect(report.unreferencedPacks).toBe(0);
    const out = tempDir();
    cleanups.push(out.cleanup);
    await restoreWorkflow(r.repo, kept.manifestId, out.path);
  });

  test('keeps an unreferenced pack the store refuses to delete (under retention) instead of failing', async () => {
    const r = await tempRepository();
    cleanups.push(r.cleanup);
    // A compliance archive whose manifest a crash never wrote: its packs were locked first.
    const until = later(10);
    const orphan = await archiveBundle(r.repo, bundleOf('c1', [{ path: 'a.log', data: logText(31, 50_000) }]), {
      retainUntil: () => until,
    });
    expect((await r.repo.store.head(`archive/manifests/${orphan.manifestId}`))?.retainUntil).toEqual(until);
    unlinkSync(join(r.root, 'archive/manifests', orphan.manifestId));
    const packs = await keys(r.repo.store, 'archive/packs/');
    await collectGarbage(r.repo, { graceMs: HOUR, now: later(2) });
    // gc's clock past the lock, the store's not: the store refuses, gc keeps the pack and says why.
    const early = await collectGarbage(r.repo, { graceMs: HOUR, now: later(20) });
    expect(early.locked.length).toBe(packs.length);
    expect(early.deleted).toEqual([]);
    expect(await keys(r.repo.store, 'archive/packs/')).toEqual(packs);
  });

  test('a condemned pack that is archived again is revived, not deleted', async () => {
    const r = await tempRepository();
    cleanups.push(r.cleanup);
    const bundle = bundleOf('g3', [{ path: 'a.log', data: logText(23, 80_000) }]);
    const res = await archiveBundle(r.repo, bundle);
    unlinkSync(join(r.root, 'archive/manifests', res.manifestId));
    expect((await collectGarbage(r.repo, { graceMs: HOUR, now: later(2) })).condemned.length).toBeGreaterThan(0);
    // Same content again: the index is gone, so the chunks go into packs again (same bytes, same ids).
    const again = await archiveBundle(r.repo, bundle);
    const run = await collectGarbage(r.repo, { graceMs: HOUR, now: later(4) });
    expect(run.deleted).toEqual([]);
    expect((await verifyRepository(r.repo, { readData: true })).problems).toEqual([]);
    const out = tempDir();
    cleanups.push(out.cleanup);
    await restoreWorkflow(r.repo, again.manifestId, out.path);
  });

  test('stops without deleting anything when a manifest is unreadable', async () => {
    const r = await tempRepository();
    cleanups.push(r.cleanup);
    await r.repo.store.put(`archive/manifests/${'0'.repeat(64)}`, Buffer.from('{}'));
    await expect(collectGarbage(r.repo, { graceMs: 0 })).rejects.toThrow(/nothing deleted/);
  });
});
