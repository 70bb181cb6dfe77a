// `strata tier` on a local repository: the plan, the moves it carries out (class, record, audit), and re-runs.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { archiveBundle, readManifest, type Repository } from '../../lib/archive/index.ts';
import { packKey } from '../../lib/archive/repository.ts';
import { auditRecords } from '../../lib/audit/store-log.ts';
import { TIERS_PREFIX } from '../../lib/tier/index.ts';
import { bundleOf, tempRepository } from '../archive/fixtures.ts';
import { policyYaml } from '../policy/helpers.ts';
import { runCli } from '../support/run-cli.ts';

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString();

function workflowObject(uid: string, finishedAt: string) {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name: `wf-${uid}`, namespace: 'agents', uid },
    status: { phase: 'Succeeded', startedAt: finishedAt, finishedAt },
  };
}

let t: Awaited<ReturnType<typeof tempRepository>>;
let repo: Repository;
let policy: string;
const packsOf: Record<string, string[]> = {};
const strata = (args: string[]) => runCli(['--store', `file:${t.root}`, ...args]);

beforeAll(async () => {
  t = await tempRepository();
  repo = t.repo;
  policy = join(t.root, '..', 'policy.yaml');
  writeFileSync(
    policy,
    policyYaml([], { archiveAfter: '0s', timeline: { hot: '7d', warm: '30d', cold: 'rest' }, retainFor: '1y' }),
  );
  const shared = randomBytes(40_000);
  const archive = async (uid: string, finished: number, data: Buffer[]) => {
    const bundle = bundleOf(
      uid,
      data.map((d, i) => ({ path: `logs/${i}.log`, data: d })),
      workflowObject(uid, daysAgo(finished)),
    );
    const r = await archiveBundle(repo, bundle, { group: 'g' });
    packsOf[uid] = (await readManifest(repo, r.manifestId)).packs;
  };
  // a's packs hold the shared data; b (younger) dedups against them; c is alone.
  await archive('a', 20, [shared]);
  await archive('b', 3, [shared, randomBytes(30_000)]);
  await archive('c', 20, [randomBytes(30_000)]);
});
afterAll(() => t.cleanup());

interface Plan {
  moves: number;
  waiting: number;
  plan: {
    moves: Array<{ packId: string; from: string; to: string; bytes: number; cost: { monthlyBefore: number } }>;
    waiting: Array<{ packId: string; reason: string }>;
  };
  run?: { moves: Array<{ pack: string; outcome: string }> };
}

describe('strata tier', () => {
  test('plans only what is due: a pack shared with a younger workflow waits for it', async () => {
    const dry = await strata(['tier', '--dry-run', '--policy', policy, '-o', 'json']);
    expect(dry.code).toBe(0);
    const out = JSON.parse(dry.out) as Plan;
    const own = new Set(packsOf.a);
    expect(out.plan.moves.map((m) => m.packId).sort()).toEqual([...packsOf.c!].sort());
    expect(out.plan.moves.every((m) => m.from === 'hot' && m.to === 'warm' && m.bytes > 0)).toBe(true);
    expect(out.plan.waiting.map((w) => w.packId).sort()).toEqual([...own].sort());
    expect(out.plan.waiting[0]!.reason).toBe('shared with b, due in hot only');
    // Nothing changed.
    for await (const o of repo.store.list(TIERS_PREFIX)) expect.fail(`dry run wrote ${o.key}`);
  });

  test('a forecast (--dry-run --now) shows the shared packs moving once the younger workflow is due', async () => {
    const later = new Date(Date.now() + 10 * DAY).toISOString();
    const out = JSON.parse(
      (await strata(['tier', '--dry-run', '--now', later, '--policy', policy, '-o', 'json'])).out,
    ) as Plan;
    expect(out.plan.moves.map((m) => m.packId).sort()).toEqual(
      [...packsOf.a!, ...packsOf.b!.filter((p) => !packsOf.a!.includes(p)), ...packsOf.c!].sort(),
    );
    expect((await strata(['tier', '--now', later, '--policy', policy])).code).toBe(1);
  });

  test('the table shows bytes, monthly cost and charges per move', async () => {
    const table = await strata(['tier', '--dry-run', '--policy', policy]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^Moves \(\d+\):/);
    expect(table.out).toMatch(
      /MONTHLY NOW \(USD\)\s+MONTHLY AFTER \(USD\)\s+EARLY DELETION \(USD\)\s+TRANSITION \(USD\)/,
    );
    expect(table.out).toMatch(/Waiting \(\d+\):/);
    expect(table.out).toMatch(/shared with b, due in hot only/);
  });

  test('a run on a store without classes records and audits each move (reads stay instant), and a re-run has nothing left to do', async () => {
    const run = await strata(['tier', '--policy', policy, '-o', 'json']);
    expect(run.code).toBe(0);
    expect(run.err).toMatch(/has no storage classes: tiers are recorded and reported only/);
    const out = JSON.parse(run.out) as Plan & { storageClasses: boolean };
    expect(out.storageClasses).toBe(false);
    expect(out).toMatchObject({ activeHolds: 0, heldWorkflows: 0 }); // output parameters the tiering metrics read
    expect(out.run!.moves.map((m) => m.outcome)).toEqual(packsOf.c!.map(() => 'moved'));
    for (const p of packsOf.c!) {
      expect((await repo.store.head(packKey('g', p)))?.storageClass).toBeUndefined();
      expect((await repo.store.get(packKey('g', p))).destroy()).toBeDefined();
    }
    const records: string[] = [];
    for await (const o of repo.store.list(TIERS_PREFIX)) records.push(o.key);
    expect(records.sort()).toEqual(packsOf.c!.map((p) => `${TIERS_PREFIX}g/${p}/warm`).sort());
    const audited: Array<{ action: string; outcome: string; subject: string; details?: Record<string, unknown> }> = [];
    for await (const r of auditRecords(repo.store)) audited.push(r);
    // The plan is recorded before the first move, then each move.
    const planned = audited.filter((a) => a.action === 'tier-move' && a.outcome === 'started');
    expect(planned).toHaveLength(1);
    expect((planned[0]!.details as { moves: unknown[] }).moves).toHaveLength(packsOf.c!.length);
    const moves = audited.filter((a) => a.action === 'tier-move' && a.outcome !== 'started');
    expect(moves.map((a) => a.subject).sort()).toEqual(packsOf.c!.map((p) => packKey('g', p)).sort());
    expect(moves[0]!.details).toMatchObject({ from: 'hot', to: 'warm' });

    const again = JSON.parse((await strata(['tier', '--policy', policy, '-o', 'json'])).out) as Plan;
    expect(again.moves).toBe(0);
    expect(again.run!.moves).toEqual([]);
  });

  test('an invalid policy moves nothing and fails loudly', async () => {
    const bad = join(t.root, '..', 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: strata.dev/v1alpha1\nkind: RetentionPolicy\nmetadata: {name: x}\nspec: {rules: [{name: r}]}\n',
    );
    const r = await strata(['tier', '--dry-run', '--policy', bad, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/policy does not validate/);
    expect((JSON.parse(r.out) as Plan).moves).toBe(0);
  });
});
