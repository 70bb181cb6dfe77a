// Write-before-act: every operation that changes or reads the archive writes its audit record first, and one whose
// record cannot be written does not happen — each checked against an audit port that refuses writes, with the
// store compared byte for byte before and after.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { collectGarbage, initRepository, type Repository } from '../../lib/archive/index.ts';
import { manifestKey, readObject } from '../../lib/archive/repository.ts';
import type { AuditLog, AuditRecord } from '../../lib/audit/audit.ts';
import { policyDigest, recordPolicyInForce } from '../../lib/audit/policy-in-force.ts';
import { createStoreAuditLog } from '../../lib/audit/store-audit.ts';
import { AuditError, AuditRefusal } from '../../lib/errors.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { emergencyDelete } from '../../lib/pipeline/emergency-delete.ts';
import { finalizeManifest, type FinalizeCluster } from '../../lib/pipeline/finalize-run.ts';
import type { WorkflowObject } from '../../lib/pipeline/workflow-state.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ObjectStore, PutOptions } from '../../lib/store/store.ts';
import { applyTierPlan, deleteArchives, gatherTierFacts, planTiering } from '../../lib/tier/index.ts';
import { SMALL } from '../archive/fixtures.ts';
import { policySet, policyYaml } from '../policy/helpers.ts';
import { runCli } from '../support/run-cli.ts';
import { archiveAt, DAY, workflowAt } from '../tier/helpers.ts';

const base = mkdtempSync(join(tmpdir(), 'strata-write-ahead-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(base, `r${n++}`);
const now = new Date();

/** The store as the audit writer sees it: every write under audit/ refused, as a full or denied bucket would. */
function refusingAuditWrites(store: ObjectStore): ObjectStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'put') {
        return async (key: string, body: Uint8Array, opts?: PutOptions) => {
          if (key.startsWith('audit/')) throw new Error(`AccessDenied: put ${key}`);
          return target.put(key, body, opts);
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const refusing = (store: ObjectStore): AuditLog => createStoreAuditLog(refusingAuditWrites(store));

/** Every object and its content hash: "nothing changed" compared exactly. */
async function snapshot(store: ObjectStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const o of store.list('')) {
    out.set(
      o.key,
      createHash('sha256')
        .update(await readObject(store, o.key))
        .digest('hex'),
    );
  }
  return out;
}

async function repoWith(...ages: number[]): Promise<{ repo: Repository; ids: string[] }> {
  const repo = await initRepository(new FileSystemStore(fresh()), SMALL);
  const ids: string[] = [];
  for (const [i, age] of ages.entries()) {
    ids.push(await archiveAt(repo, `wf-${i}`, new Date(now.getTime() - age * DAY), [randomBytes(6_000)]));
  }
  return { repo, ids };
}

async function expectRefusedAndUnchanged(store: ObjectStore, act: () => Promise<unknown>): Promise<void> {
  const before = await snapshot(store);
  const err = await act().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuditRefusal);
  expect((err as Error).message).toMatch(/refused: its audit record could not be written/);
  expect(await snapshot(store)).toEqual(before);
}

describe('an operation whose audit record cannot be written does not happen', () => {
  test('hold set, hold release, extension', async () => {
    const { repo } = await repoWith(1);
    const store = repo.store;
    await new HoldRepository(store).setHold({ workflowUid: 'wf-0', id: 'h1', actor: 'a', reason: 'r', created: now });
    const holds = new HoldRepository(store, refusing(store));
    await expectRefusedAndUnchanged(store, () =>
      holds.setHold({ workflowUid: 'wf-0', id: 'h2', actor: 'legal', reason: 'case 7', created: now }),
    );
    await expectRefusedAndUnchanged(store, () =>
      holds.releaseHold({ workflowUid: 'wf-0', id: 'h1', actor: 'legal', reason: 'settled', at: now }),
    );
    await expectRefusedAndUnchanged(store, () =>
      holds.addExtension({
        workflowUid: 'wf-0',
        id: 'e1',
        actor: 'sre',
        reason: 'postmortem',
        until: new Date(now.getTime() + 90 * DAY),
        created: now,
      }),
    );
  });

  test('emergency deletion (with its approval and break-glass)', async () => {
    const { repo } = await repoWith(1, 1);
    const held = {
      holds: [{ id: 'case-1', workflowUid: 'wf-0', actor: 'legal', reason: 'lit', created: now.toISOString() }],
      extensions: [],
    };
    await expectRefusedAndUnchanged(repo.store, () =>
      emergencyDelete(
        { uid: 'wf-0', reason: 'leak', approver: 'ciso', actor: 'oncall', breakGlass: true, dryRun: false },
        { repo, holds: held, audit: refusing(repo.store), now, settleMs: 0 },
      ),
    );
  });

  test('expiry', async () => {
    const { repo, ids } = await repoWith(40, 1);
    const store = repo.store;
    await expectRefusedAndUnchanged(store, () =>
      deleteArchives(
        repo,
        [
          {
            kind: 'expiry',
            uid: 'wf-0',
            namespace: 'agents',
            name: 'wf-wf-0',
            manifests: [ids[0]!],
            reason: 'retained 30d',
            actor: 'strata/tier',
          },
        ],
        { audit: refusing(store), now, holds: { holds: [], extensions: [] }, settleMs: 0 },
      ),
    );
  });

  test('tier moves', async () => {
    const { repo } = await repoWith(10, 12);
    const set = policySet([], { archiveAfter: '0s', timeline: { hot: '7d', warm: 'rest' }, retainFor: '1y' });
    const facts = await gatherTierFacts(repo, {
      policySet: set,
      holds: { holds: [], extensions: [] },
      pricing: DEFAULT_PRICING,
      now,
      classes: undefined,
    });
    const plan = planTiering(facts);
    expect(plan.moves.length).toBeGreaterThan(0);
    await expectRefusedAndUnchanged(repo.store, () =>
      applyTierPlan(repo, plan, { classes: undefined, audit: refusing(repo.store), now }),
    );
  });

  test('gc deletion', async () => {
    const { repo, ids } = await repoWith(1);
    await repo.store.delete([manifestKey(ids[0]!)]); // its packs are garbage now
    const gc = () =>
      collectGarbage(repo, { graceMs: 0, now: new Date(now.getTime() + DAY), audit: refusing(repo.store) });
    await expectRefusedAndUnchanged(repo.store, gc);
    // Twice, so a condemned pack is due for deletion: still refused, still nothing changed.
    await collectGarbage(repo, { graceMs: 0, now: new Date(now.getTime() + DAY) });
    await expectRefusedAndUnchanged(repo.store, gc);
  });

  test('deleting the source workflow from the cluster (finalize)', async () => {
    const { ids } = await repoWith(1);
    const wf = workflowAt('wf-0', new Date(now.getTime() - DAY)) as unknown as WorkflowObject;
    const deleted: string[] = [];
    const cluster: FinalizeCluster = {
      getWorkflow: async () => wf,
      patchWorkflowMetadata: async () => ({}),
      deleteWorkflow: async (_ns, name) => (deleted.push(name), 'deleted'),
    };
    const records: AuditRecord[] = [];
    const audit: AuditLog = {
      async record(r) {
        if (r.action === 'delete-source') throw new AuditError('audit store full');
        records.push(r);
      },
    };
    const err = await finalizeManifest(ids[0]!, {
      cluster,
      verifyManifest: async (id) => ({
        id,
        exists: true,
        verified: true,
        problems: [],
        missing: 0,
        workflowUid: 'wf-0',
        workflowNamespace: 'agents',
        workflowName: 'wf-wf-0',
        finishedAt: wf.status?.finishedAt as string,
      }),
      deletion: async () => ({ deleteSourceAfterArchive: true, held: false }),
      audit,
      actor: 'strata/finalize',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditRefusal);
    expect(deleted).toEqual([]);
  });

  test('a verification run (strata verify)', async () => {
    const root = fresh();
    await initRepository(new FileSystemStore(root), SMALL);
    // audit/pending as a file: every record's create fails, whoever runs the test (root included).
    mkdirSync(join(root, 'audit'), { recursive: true });
    writeFileSync(join(root, 'audit', 'pending'), 'not a directory');
    const r = await runCli(['verify', '--store', `file:${root}`]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/verify of .* refused: its audit record could not be written/);
    expect(r.out).toBe(''); // nothing checked, nothing reported as checked
  });
});

describe('the policy in force is on the record before anything acts under it', () => {
  const files = (text: string) => [
    { name: 'policies/a.yaml', text },
    { name: 'cluster:configmap/argo/strata-policy', text: 'rules: []\n' },
  ];

  test('recorded once, again when a ConfigMap changes (naming the previous hash), not when unchanged', async () => {
    const { repo } = await repoWith();
    const records: AuditRecord[] = [];
    const audit: AuditLog = { record: async (r) => void records.push(r) };
    const first = policyDigest(files('retainFor: 30d\n'));
    expect(await recordPolicyInForce(repo.store, audit, first, 'strata/tier')).toBe('recorded');
    expect(await recordPolicyInForce(repo.store, audit, first, 'strata/tier')).toBe('unchanged');
    const changed = policyDigest(files('retainFor: 1d\n'));
    expect(changed.sha256).not.toBe(first.sha256);
    expect(await recordPolicyInForce(repo.store, audit, changed, 'strata/finalize')).toBe('recorded');
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({
      action: 'policy-change',
      actor: 'strata/finalize',
      outcome: 'ok',
      hashes: [changed.sha256, ...changed.sources.map((x) => x.sha256)],
      details: { previous: first.sha256, sources: changed.sources },
    });
    // Per source: which one changed is visible in the record.
    expect(changed.sources[0]!.sha256).not.toBe(first.sources[0]!.sha256);
    expect(changed.sources[1]!.sha256).toBe(first.sources[1]!.sha256);
  });

  test('a change that cannot be recorded stops the step: strata tier moves and expires nothing', async () => {
    const { repo } = await repoWith(10, 40);
    const root = (repo.store as FileSystemStore).root;
    const policy = join(root, '..', `policy-${n}.yaml`);
    writeFileSync(
      policy,
      policyYaml([], { archiveAfter: '0s', timeline: { hot: '7d', warm: 'rest' }, retainFor: '30d' }),
    );
    mkdirSync(join(root, 'audit'), { recursive: true });
    writeFileSync(join(root, 'audit', 'pending'), 'not a directory');
    const before = await snapshot(repo.store);
    const r = await runCli(['--store', `file:${root}`, 'tier', '--policy', policy, '--settle', '0s']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the policy in force \(sha256:[0-9a-f]{64}\) is not recorded in the audit log/);
    expect(await snapshot(repo.store)).toEqual(before);
  });
});

describe('the record comes first', () => {
  test('a hold is recorded as started before it is written, then as done', async () => {
    const { repo } = await repoWith(1);
    const seen: Array<{ outcome: string; holdExists: boolean }> = [];
    const audit: AuditLog = {
      record: async (r) =>
        void seen.push({ outcome: r.outcome, holdExists: Boolean(await repo.store.head('holds/wf-0/h1.json')) }),
    };
    await new HoldRepository(repo.store, audit).setHold({
      workflowUid: 'wf-0',
      id: 'h1',
      actor: 'legal',
      reason: 'case',
      created: now,
    });
    expect(seen).toEqual([
      { outcome: 'started', holdExists: false },
      { outcome: 'ok', holdExists: true },
    ]);
  });
});
