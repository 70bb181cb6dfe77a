// Expiry with proof: a workflow past retention loses its manifest, refs, catalog rows and every chunk only it
// used (whole packs deleted, shared packs repacked), each checked gone and listed in the audit record; what stays
// restores byte for byte; a crash anywhere converges on the next run; a hold placed meanwhile wins.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  collectGarbage,
  openRepository,
  restoreWorkflow,
  verifyRepository,
  type Repository,
} from '../../lib/archive/index.ts';
import { initRepository } from '../../lib/archive/index.ts';
import type { AuditLog, AuditRecord } from '../../lib/audit/audit.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import type { HoldsAndExtensions } from '../../lib/policy/holds.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import {
  deleteArchives,
  gatherTierFacts,
  planTiering,
  readJournals,
  type DeletionOutcome,
} from '../../lib/tier/index.ts';
import { SMALL } from '../archive/fixtures.ts';
import { policySet } from '../policy/helpers.ts';
import { archiveAt, chunksOf, Crash, CrashingStore, DAY, manifestsByUid, storedChunks } from './helpers.ts';

const base = mkdtempSync(join(tmpdir(), 'strata-expiry-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(base, `r${n++}`);

const now = new Date();
const set = policySet([], { archiveAfter: '0s', timeline: { hot: '7d', warm: 'rest' }, retainFor: '30d' });

function memoryAudit(): AuditLog & { records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return { records, record: async (r) => void records.push(r) };
}

async function holdsOf(store: ObjectStore): Promise<HoldsAndExtensions> {
  const h = new HoldRepository(store);
  return { holds: await h.listHolds(), extensions: await h.listExtensions() };
}

/** One tier run's expiry part: plan at `now`, then delete what it says and finish pending journals. */
async function expireRun(repo: Repository, audit: AuditLog = memoryAudit(), catalog?: FakeCatalog) {
  const holds = await holdsOf(repo.store);
  const facts = await gatherTierFacts(repo, {
    policySet: set,
    holds,
    pricing: DEFAULT_PRICING,
    now,
    classes: undefined,
  });
  const plan = planTiering(facts);
  const requests = plan.expiries.map((e) => ({
    kind: 'expiry' as const,
    uid: e.uid,
    namespace: e.namespace,
    name: e.name,
    manifests: e.manifests,
    reason: e.reason,
    actor: 'strata/tier',
  }));
  return { plan, ...(await deleteArchives(repo, requests, { audit, now, holds, settleMs: 0, catalog })) };
}

class FakeCatalog {
  readonly ids = new Set<string>();
  async remove(id: string) {
    this.ids.delete(id);
  }
  async manifestIds() {
    return new Set(this.ids);
  }
}

/** old (40 days, expired) shares data with young (5 days); lone (40 days) shares nothing. */
async function scenario(root: string) {
  const repo = await initRepository(new FileSystemStore(root), SMALL);
  const shared = randomBytes(30_000);
  const old = await archiveAt(repo, 'old', new Date(now.getTime() - 40 * DAY), [shared, randomBytes(20_000)]);
  const young = await archiveAt(repo, 'young', new Date(now.getTime() - 5 * DAY), [shared, randomBytes(20_000)]);
  const lone = await archiveAt(repo, 'lone', new Date(now.getTime() - 40 * DAY), [randomBytes(25_000)]);
  return { repo, old, young, lone };
}

async function expectEndState(repo: Repository, s: { old: string; young: string; lone: string }, only: Set<string>) {
  const byUid = await manifestsByUid(repo);
  expect([...byUid.keys()].sort()).toEqual(['young']);
  expect((await verifyRepository(repo, { readData: true })).problems).toEqual([]);
  const stored = await storedChunks(repo);
  for (const id of only) expect(stored.has(id), `chunk ${id} of an expired workflow is still stored`).toBe(false);
  for (const id of byUid.get('young')!) await restoreWorkflow(repo, id, join(fresh(), 'young'));
  expect((await readJournals(repo)).journals).toEqual([]);
  for await (const o of repo.store.list('archive/refs/')) expect(o.key).toMatch(/young/);
}

describe('expiry', () => {
  let s: Awaited<ReturnType<typeof scenario>>;
  let root: string;
  let onlyExpired: Set<string>;
  let pristine: string;
  beforeAll(async () => {
    root = fresh();
    s = await scenario(root);
    const young = await chunksOf(s.repo, s.young);
    onlyExpired = new Set(
      [...(await chunksOf(s.repo, s.old)), ...(await chunksOf(s.repo, s.lone))].filter((c) => !young.has(c)),
    );
    pristine = fresh();
    cpSync(root, pristine, { recursive: true });
  });

  test('deletes manifests, refs, catalog rows and the chunks only they used; repacks the shared pack; audits the proof', async () => {
    const audit = memoryAudit();
    const catalog = new FakeCatalog();
    [s.old, s.young, s.lone].forEach((id) => catalog.ids.add(id));
    const { plan, outcomes } = await expireRun(s.repo, audit, catalog);
    expect(plan.expiries.map((e) => e.uid).sort()).toEqual(['lone', 'old']);
    expect(plan.repacks).toHaveLength(1);
    expect(outcomes.map((o) => [o.uid, o.outcome]).sort()).toEqual([
      ['lone', 'done'],
      ['old', 'done'],
    ]);
    const oldOutcome = outcomes.find((o) => o.uid === 'old')! as DeletionOutcome;
    expect(oldOutcome.repacked).toHaveLength(1);
    expect(oldOutcome.superseded).toEqual([expect.objectContaining({ uid: 'young', from: s.young })]);
    expect(oldOutcome.stillPresent).toEqual([]);
    expect([...catalog.ids]).toEqual([]); // young's old id left with its rewrite; the next index adds the new one
    await expectEndState(s.repo, s, onlyExpired);

    expect(audit.records.filter((r) => r.action === 'expire').map((r) => r.outcome)).toEqual([
      'started',
      'started',
      'ok',
      'ok',
    ]);
    const records = audit.records.filter((r) => r.action === 'expire' && r.outcome !== 'started');
    const all = records.flatMap((r) => (r.details as { chunksDeleted: string[] }).chunksDeleted);
    expect(new Set(all)).toEqual(onlyExpired);
    expect(records[0]!.details).toMatchObject({
      check: { stillPresent: [], catalog: 'rows removed and checked' },
    });

    const again = await expireRun(s.repo);
    expect(again.plan.expiries).toEqual([]);
    expect(again.outcomes).toEqual([]);
  });

  test('a crash before any write of the run converges on the next run, whichever write it hits', async () => {
    let crashAt = 1;
    for (;;) {
      const dir = fresh();
      cpSync(pristine, dir, { recursive: true });
      const crashing = new CrashingStore(new FileSystemStore(dir), crashAt);
      const repo = await openRepository(crashing);
      try {
        await expireRun(repo);
      } catch (err) {
        if (!(err instanceof Crash)) throw err;
      }
      // A crash inside the sweep is caught there (the deletion stays pending): ask the store whether it crashed.
      const crashed = crashing.crashed;
      const after = await openRepository(new FileSystemStore(dir));
      // Nothing a live workflow needs is ever missing, even right after the crash: at most the index of a pack
      // being repacked is away (readers fall back to the pack's own table; the next run puts it back or repacks).
      const problems = (await verifyRepository(after, { readData: true })).problems;
      expect(problems.filter((p) => !/^index .* is missing/.test(p.message))).toEqual([]);
      for (const id of (await manifestsByUid(after)).get('young') ?? [])
        await restoreWorkflow(after, id, join(fresh(), 'y'));
      await expireRun(after);
      await expectEndState(after, s, onlyExpired);
      if (!crashed) break;
      crashAt++;
    }
    expect(crashAt).toBeGreaterThan(10);
  });

  test('a hold placed after a crashed run deleted the manifests gets the workflow back whole; gc meanwhile keeps its packs', async () => {
    // Find the crash point right after the manifests' delete: journal written, manifests gone, packs untouched.
    for (let crashAt = 1; ; crashAt++) {
      const d = fresh();
      cpSync(pristine, d, { recursive: true });
      const repo = await openRepository(new CrashingStore(new FileSystemStore(d), crashAt));
      await expireRun(repo).catch((e: unknown) => {
        if (!(e instanceof Crash)) throw e;
      });
      const after = await openRepository(new FileSystemStore(d));
      if (!(await manifestsByUid(after)).has('lone') && (await readJournals(after)).journals.length) {
        // gc (even with no grace at all) leaves the packs of a deletion still in progress alone.
        for (let i = 0; i < 2; i++) expect((await collectGarbage(after, { graceMs: 0 })).deleted).toEqual([]);
        const store = new FileSystemStore(d);
        await new HoldRepository(store).setHold({
          workflowUid: 'lone',
          id: 'case-1',
          actor: 'legal',
          reason: 'litigation',
          created: now,
        });
        const { outcomes } = await expireRun(after);
        expect(outcomes.find((o) => o.uid === 'lone')?.outcome).toBe('undone');
        const byUid = await manifestsByUid(after);
        expect(byUid.get('lone')).toEqual([s.lone]);
        await restoreWorkflow(after, s.lone, join(fresh(), 'lone'));
        expect((await verifyRepository(after, { readData: true })).problems).toEqual([]);
        break;
      }
      expect(crashAt).toBeLessThan(40);
    }
  });
});
