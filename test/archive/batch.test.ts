// archiveSource: many workflows share packs, failures stay per workflow, and every committed one restores.
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { archiveSource, openEntry, openRepository, verifyRepository } from '../../lib/archive/index.ts';
import type { WorkflowBundle, WorkflowIdentity, WorkflowSource } from '../../lib/bundle/bundle.ts';
import { bundleOf, logText, readStream, tempRepository } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function memorySource(bundles: Map<string, () => WorkflowBundle>): WorkflowSource {
  return {
    description: 'memory:',
    async *list() {
      for (const uid of bundles.keys()) yield { uid, namespace: 'agents', name: `wf-${uid}` };
      yield { where: 'memory:broken.yaml:3:1', message: 'malformed YAML' };
    },
    async load(id: WorkflowIdentity) {
      return bundles.get(id.uid)!();
    },
  };
}

test('40 workflows: shared packs, per-workflow failures, all others restorable', async () => {
  const r = await tempRepository();
  cleanups.push(r.cleanup);
  const bundles = new Map<string, () => WorkflowBundle>();
  for (let i = 0; i < 40; i++)
    bundles.set(`b${i}`, () => bundleOf(`b${i}`, [{ path: 'main.log', data: logText(500 + i, 8_000) }]));
  bundles.set('bad-load', () => {
    throw new Error('export directory vanished');
  });
  bundles.set('dup', () =>
    bundleOf('dup', [
      { path: 'x.log', data: Buffer.from('a') },
      { path: 'x.log', data: Buffer.from('b') },
    ]),
  );

  const report = await archiveSource(r.repo, memorySource(bundles), { group: 'standard-2026-11' });
  expect(report).toMatchObject({
    workflows: 42,
    archived: 40,
    failed: 2,
    problems: [{ where: 'memory:broken.yaml:3:1' }],
  });
  expect(report.results.find((x) => x.uid === 'bad-load')?.error).toMatch(/vanished/);
  expect(report.results.find((x) => x.uid === 'dup')?.error).toMatch(/two entries at path x\.log/);
  // 40 small workflows in two batches share a handful of packs instead of one pack each.
  const packs = readdirSync(join(r.root, 'archive/packs/standard-2026-11')).filter((f) => !f.startsWith('.'));
  expect(packs.length).toBeLessThan(10);
  for (const res of report.results.filter((x) => x.manifestId)) {
    const n = Number(res.uid.slice(1));
    expect(
      (await readStream(await openEntry(r.repo, res.manifestId!, 'main.log'))).equals(logText(500 + n, 8_000)),
    ).toBe(true);
  }
  expect((await verifyRepository(r.repo, { readData: true })).problems).toEqual([]);

  const again = await archiveSource(r.repo, memorySource(bundles), { group: 'standard-2026-11' });
  expect(again).toMatchObject({ archived: 0, unchanged: 40, failed: 2, newBytes: 0 });
});

test('an entry still restores from the pack trailer when its index file is lost', async () => {
  const r = await tempRepository();
  cleanups.push(r.cleanup);
  const data = logText(600, 50_000);
  const report = await archiveSource(
    r.repo,
    memorySource(new Map([['t1', () => bundleOf('t1', [{ path: 'a.log', data }])]])),
  );
  const dir = join(r.root, 'archive/index/default');
  for (const f of readdirSync(dir).filter((f) => !f.startsWith('.'))) unlinkSync(join(dir, f));
  const fresh = await openRepository(r.repo.store);
  expect((await readStream(await openEntry(fresh, report.results[0]!.manifestId!, 'a.log'))).equals(data)).toBe(true);
});
