// `strata show`: the node tree with each node's logs, the artifacts, holds and the tier timeline of one archived
// workflow, found by name; the read is audited before anything is printed.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { archiveBundle, readManifest } from '../../lib/archive/index.ts';
import { auditRecords } from '../../lib/audit/store-log.ts';
import { writeTierRecord } from '../../lib/tier/placement.ts';
import { tempRepository } from '../archive/fixtures.ts';
import { bundle, LOG } from '../server/fixture.ts';
import { runCli } from '../support/run-cli.ts';

let t: Awaited<ReturnType<typeof tempRepository>>;
let id: string;
const strata = (args: string[]) => runCli(['--store', `file:${t.root}`, ...args]);

beforeAll(async () => {
  t = await tempRepository();
  const b = bundle(1, 'agents', 'Succeeded', { team: 'a' }, LOG);
  const archived = await archiveBundle(t.repo, b);
  id = archived.manifestId;
  const manifest = await readManifest(t.repo, id);
  for (const packId of manifest.packs)
    await writeTierRecord(t.repo, {
      group: manifest.group,
      packId,
      tier: 'warm',
      reason: 'test',
      at: new Date('2026-11-15T00:00:00Z'),
    });
  const held = await strata([
    'hold',
    'set',
    b.uid,
    '--id',
    'case-1',
    '--reason',
    'litigation',
    '--actor',
    'legal',
    '-o',
    'json',
  ]);
  expect(held.code, held.err).toBe(0);
});
afterAll(() => t.cleanup());

test('JSON: node tree with logs, artifacts, the hold and the timeline', async () => {
  const r = await strata(['show', 'agents/wf-1', '--actor', 'auditor', '-o', 'json']);
  expect(r.code, r.err).toBe(0);
  const shown = JSON.parse(r.out);
  expect(shown.manifestId).toBe(id);
  expect(shown.nodes.map((n: { id: string; children: string[] }) => [n.id, n.children])).toEqual([
    ['wf-1', ['wf-1-node']],
    ['wf-1-node', []],
  ]);
  expect(shown.nodes[1].logs).toEqual([
    { container: 'main', path: 'logs/wf-1-node/main.log', size: Buffer.byteLength(LOG) },
  ]);
  expect(shown.artifacts).toEqual([
    expect.objectContaining({ path: 'artifacts/wf-1-node/model.txt', nodeId: 'wf-1-node', name: 'model' }),
  ]);
  expect(shown.holds).toEqual([expect.objectContaining({ id: 'case-1', actor: 'legal', reason: 'litigation' })]);
  expect(shown.timeline.tiers).toEqual({ warm: shown.timeline.tiers.warm });
  expect(shown.timeline.events.map((e: { kind: string }) => e.kind)).toEqual(['archived', 'tier', 'hold-set']);
  const reads = [];
  for await (const rec of auditRecords(t.repo.store)) if (rec.action === 'read') reads.push(rec);
  expect(reads).toMatchObject([{ actor: 'auditor', verified: false, subject: id, outcome: 'ok' }]);
});

test('the terminal view indents the tree and lists the timeline', async () => {
  const r = await strata(['show', 'wf-1', '--actor', 'auditor', '-o', 'table']);
  expect(r.code, r.err).toBe(0);
  expect(r.out).toContain('workflow agents/wf-1 (uid 00000000-0000-0000-0000-000000000001, phase Succeeded)');
  expect(r.out).toMatch(
    /\n {2}wf-1 \(DAG, Succeeded\) {2}\[wf-1\]\n {4}a \(Pod, Succeeded\) {2}\[wf-1-node\]\n {6}log main: /,
  );
  expect(r.out).toMatch(/holds:\n {2}case-1 {2}set \S+ by legal \(unverified\): litigation/);
  expect(r.out).toMatch(/2026-11-15T00:00:00.000Z {2}tier {11}\d+ of \d+ pack\(s\) entered warm/);
});

test('an unknown workflow is an error naming it', async () => {
  const r = await strata(['show', 'nope', '--actor', 'auditor']);
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(/nope/);
});
