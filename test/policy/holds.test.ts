// Holds and extensions in the archive repository: write-once records, release keeps history, retries are idempotent.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { AuditRecord } from '../../lib/audit/audit.ts';
import { InputError } from '../../lib/errors.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { activeHolds, decideRetention, workflowFacts } from '../../lib/policy/index.ts';
import { holdCounts, type HoldRecord } from '../../lib/policy/holds.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { policySet, workflow } from './helpers.ts';

let dir: string;
let store: FileSystemStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-holds-'));
  store = new FileSystemStore(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const T0 = new Date('2026-03-01T00:00:00Z');

describe('HoldRepository', () => {
  test('every hold, release and extension is audited with actor, reason and subject, before and after', async () => {
    const audited: AuditRecord[] = [];
    const repo = new HoldRepository(store, { record: async (r) => void audited.push(r) });
    await repo.setHold({ workflowUid: 'wf-1', id: 'case-1', actor: 'legal@x', reason: 'litigation', created: T0 });
    await repo.addExtension({
      workflowUid: 'wf-1',
      id: 'ext-1',
      actor: 'sre@x',
      reason: 'postmortem',
      until: new Date('2027-01-01T00:00:00Z'),
      created: T0,
    });
    await repo.releaseHold({ workflowUid: 'wf-1', id: 'case-1', actor: 'legal@x', reason: 'settled', at: T0 });
    await expect(
      repo.setHold({ workflowUid: 'wf-1', id: 'case-1', actor: 'legal@x', reason: 'changed', created: T0 }),
    ).rejects.toBeInstanceOf(InputError);
    // Each change is recorded as started before it is made; the refused one (a different record under the same id)
    // ends as failed.
    expect(audited.map((r) => `${r.action} ${r.outcome}`)).toEqual([
      'hold-set started',
      'hold-set ok',
      'extend started',
      'extend ok',
      'hold-release started',
      'hold-release ok',
      'hold-set started',
      'hold-set failed',
    ]);
    expect(audited.filter((r) => r.outcome === 'ok')).toEqual([
      {
        action: 'hold-set',
        actor: 'legal@x',
        verified: false,
        subject: 'wf-1',
        outcome: 'ok',
        reason: 'litigation',
        details: { hold: 'case-1' },
      },
      {
        action: 'extend',
        actor: 'sre@x',
        verified: false,
        subject: 'wf-1',
        outcome: 'ok',
        reason: 'postmortem',
        details: { extension: 'ext-1', until: '2027-01-01T00:00:00.000Z' },
      },
      {
        action: 'hold-release',
        actor: 'legal@x',
        verified: false,
        subject: 'wf-1',
        outcome: 'ok',
        reason: 'settled',
        details: { hold: 'case-1' },
      },
    ]);
  });

  test('set, list, release: the hold record stays, a release record is added, the decision follows', async () => {
    const repo = new HoldRepository(store);
    await repo.setHold({ workflowUid: 'wf-1', id: 'case-1', actor: 'legal@x', reason: 'litigation', created: T0 });
    await repo.setHold({ workflowUid: 'wf-2', id: 'case-2', actor: 'legal@x', reason: 'other', created: T0 });
    expect((await repo.listHolds()).map((h) => h.id)).toEqual(['case-1', 'case-2']);

    const set = policySet([{ name: 'r', match: 'true', retainFor: '1d' }]);
    const facts = workflowFacts(workflow({ uid: 'wf-1' }), { archive: { sizeBytes: 1, tier: 'hot' } });
    const now = new Date('2026-06-01T00:00:00Z');
    expect(decideRetention(set, facts, now, await repo.forWorkflow('wf-1')).action).toBe('keep');

    const released = await repo.releaseHold({
      workflowUid: 'wf-1',
      id: 'case-1',
      actor: 'legal@x',
      reason: 'settled',
      at: T0,
    });
    expect(released.released).toMatchObject({ actor: 'legal@x', reason: 'settled' });
    const keys: string[] = [];
    for await (const o of store.list('holds/wf-1/')) keys.push(o.key);
    expect(keys).toEqual(['holds/wf-1/case-1.json', 'holds/wf-1/case-1.release.json']);
    const holds = await repo.listHolds('wf-1');
    expect(activeHolds(holds, 'wf-1', now)).toEqual([]);
    expect(decideRetention(set, facts, now, await repo.forWorkflow('wf-1')).action).toBe('delete');
  });

  test('a retried write is idempotent; a different record under the same id is refused', async () => {
    const repo = new HoldRepository(store);
    const input = { workflowUid: 'wf-1', id: 'h', actor: 'a', reason: 'r', created: T0 };
    await repo.setHold(input);
    await expect(repo.setHold({ ...input, created: new Date() })).resolves.toMatchObject({ created: T0.toISOString() });
    await expect(repo.setHold({ ...input, reason: 'changed' })).rejects.toBeInstanceOf(InputError);
  });

  test('releasing an unknown hold and hostile ids are input errors', async () => {
    const repo = new HoldRepository(store);
    await expect(repo.releaseHold({ workflowUid: 'wf', id: 'nope', actor: 'a', reason: 'r', at: T0 })).rejects.toThrow(
      /no hold nope/,
    );
    await expect(
      repo.setHold({ workflowUid: '../etc', id: 'h', actor: 'a', reason: 'r', created: T0 }),
    ).rejects.toBeInstanceOf(InputError);
  });

  test('extensions are stored with who, why and until, and push deletion later', async () => {
    const repo = new HoldRepository(store);
    await repo.addExtension({
      workflowUid: 'wf-1',
      id: 'e1',
      actor: 'sre',
      reason: 'postmortem',
      until: new Date('2027-01-01T00:00:00Z'),
      created: T0,
    });
    const [ext] = await repo.listExtensions('wf-1');
    expect(ext).toMatchObject({
      actor: 'sre',
      reason: 'postmortem',
      until: '2027-01-01T00:00:00.000Z',
      created: T0.toISOString(),
    });
    const set = policySet([{ name: 'r', match: 'true', retainFor: '1d' }]);
    const facts = workflowFacts(workflow({ uid: 'wf-1' }), { archive: { sizeBytes: 1, tier: 'hot' } });
    const d = decideRetention(set, facts, new Date('2026-06-01T00:00:00Z'), await repo.forWorkflow('wf-1'));
    expect(d.timeline.deleteAt?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(d.action).toBe('keep');
  });
});

describe('records that do not verify keep the data', () => {
  test('a hold whose body names another workflow stays an active hold of its key, and verify reports it', async () => {
    const repo = new HoldRepository(store);
    await repo.setHold({ workflowUid: 'wf-1', id: 'case-1', actor: 'legal', reason: 'litigation', created: T0 });
    // One character of the uid edited in the stored body: before, the hold silently stopped counting.
    const path = join(dir, 'holds', 'wf-1', 'case-1.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"wf-1"', '"wf-2"'));
    const holds = await repo.listHolds('wf-1');
    expect(activeHolds(holds, 'wf-1', T0).map((h) => h.id)).toEqual(['case-1']);
    expect(holds[0]!.unverified).toMatch(/workflowUid "wf-2" does not match its key \("wf-1"\)/);
    expect(await repo.recordProblems()).toEqual([
      { key: 'holds/wf-1/case-1.json', message: expect.stringMatching(/kept as an active hold/) },
    ]);
  });

  test('a release, or an extension, that does not parse releases nothing and extends without end', async () => {
    const repo = new HoldRepository(store);
    await repo.setHold({ workflowUid: 'wf-1', id: 'case-1', actor: 'legal', reason: 'litigation', created: T0 });
    await repo.releaseHold({ workflowUid: 'wf-1', id: 'case-1', actor: 'legal', reason: 'settled', at: T0 });
    writeFileSync(join(dir, 'holds', 'wf-1', 'case-1.release.json'), '{"actor": "legal", "reas');
    expect(activeHolds(await repo.listHolds(), 'wf-1', T0)).toHaveLength(1);
    await repo.addExtension({ workflowUid: 'wf-1', id: 'e', actor: 'a', reason: 'r', until: T0, created: T0 });
    writeFileSync(join(dir, 'extensions', 'wf-1', 'e.json'), '[]');
    const [ext] = await repo.listExtensions();
    expect(ext).toMatchObject({ workflowUid: 'wf-1', until: '9999-12-31T23:59:59.999Z' });
    expect((await repo.recordProblems()).map((p) => p.key)).toEqual([
      'holds/wf-1/case-1.json',
      'extensions/wf-1/e.json',
    ]);
  });
});

test('hold counts (the metrics): holds in force now and the workflows they keep; a release counts from its time', () => {
  const hold = (id: string, uid: string, releasedAt?: string): HoldRecord => ({
    id,
    workflowUid: uid,
    actor: 'legal',
    reason: 'case',
    created: T0.toISOString(),
    ...(releasedAt && { released: { actor: 'legal', reason: 'closed', at: releasedAt } }),
  });
  const holds = [hold('h1', 'wf-1'), hold('h2', 'wf-1'), hold('h3', 'wf-2', '2026-03-05T00:00:00Z')];
  expect(holdCounts(holds, new Date('2026-03-04T00:00:00Z'))).toEqual({ activeHolds: 3, heldWorkflows: 2 });
  expect(holdCounts(holds, new Date('2026-03-05T00:00:00Z'))).toEqual({ activeHolds: 2, heldWorkflows: 1 });
  expect(holdCounts([], T0)).toEqual({ activeHolds: 0, heldWorkflows: 0 });
});
