// The watch loop over the fake API server with a clock the test moves: a workflow not due yet is archived when its
// due time comes (also after a restart), policy changes apply without a restart, errors are retried, 410 relists.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { initRepository, type Repository } from '../../lib/archive/index.ts';
import { createStoreAuditLog } from '../../lib/audit/store-audit.ts';
import type { AuditLog, AuditRecord } from '../../lib/audit/audit.ts';
import { recordPolicyInForce } from '../../lib/audit/policy-in-force.ts';
import { AuditError, AuditRefusal } from '../../lib/errors.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { KubeClusterApi, plainKubeConfig } from '../../lib/kube/client.ts';
import { loadStepPolicy } from '../../lib/kube/policy-sources.ts';
import { PolicyRefresher, type RecordPolicy } from '../../lib/pipeline/policy-refresh.ts';
import { runWatchLoop } from '../../lib/pipeline/watch-loop.ts';
import { renderMetrics } from '../../lib/metrics/prometheus.ts';
import { watchMetrics } from '../../lib/metrics/watch.ts';
import { runWatch, type WatchGauges, type WatchOptions, type WatchStats } from '../../lib/pipeline/watch-run.ts';
import type { WorkflowObject } from '../../lib/pipeline/workflow-state.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { FakeKubeApi } from '../support/fake-kube-api.ts';

const fake = new FakeKubeApi();
let api: KubeClusterApi;
let tmp: string;
let repo: Repository;
let store: FileSystemStore;
beforeAll(async () => {
  api = new KubeClusterApi(plainKubeConfig(await fake.start()));
  tmp = mkdtempSync(join(tmpdir(), 'strata-watch-loop-'));
  store = new FileSystemStore(join(tmp, 'repo'));
  repo = await initRepository(store);
});
afterAll(async () => {
  await fake.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const T0 = new Date('2026-03-02T12:00:00Z');
const MINUTE = 60_000;

const wf = (name: string, phase: string, finishedAt?: string) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Workflow',
  metadata: { name, namespace: 'w' },
  status: { phase, ...(finishedAt ? { finishedAt } : {}) },
});

test('a stale resourceVersion (410 Gone) makes the loop list again; each finished workflow is archived once', async () => {
  fake.put(wf('early', 'Succeeded', '2024-01-01T00:00:00Z'));
  fake.put(wf('late', 'Running'));
  const staleVersion = fake.resourceVersion;
  fake.put(wf('noise', 'Running'));
  fake.compact();
  let first = true;
  // The first watch starts from a version the server has compacted away, as after a long disconnect.
  const source = {
    listWorkflows: api.listWorkflows.bind(api),
    watchWorkflows: api.watchWorkflows.bind(api),
    getWorkflow: api.getWorkflow.bind(api),
    lastListVersion: () => (first ? ((first = false), String(Number(staleVersion) - 1)) : api.lastListVersion()),
  };
  const handled: string[] = [];
  const logs: string[] = [];
  const loop = runWatchLoop(source, {
    namespaces: ['w'],
    maxEvents: 1,
    log: (m) => logs.push(m),
    decide: () => ({ archive: true, reason: 'test', group: 'g', deleteSourceAfterArchive: false }),
    archive: async (w: WorkflowObject) => {
      handled.push(w.metadata.name);
    },
  });
  // Wait for the second watch (after the relist) before the workflow finishes.
  await vi.waitFor(() => expect(fake.requests.filter((r) => r.query.watch === 'true').length).toBe(2), {
    timeout: 20_000,
  });
  fake.put(wf('late', 'Succeeded', '2024-01-02T00:00:00Z'));
  const stats = await loop;
  expect(logs.join('\n')).toMatch(/410 Gone/);
  expect(stats.relists).toBe(1);
  expect(handled).toEqual(['early', 'late']);
});

test('stopping a watch on a quiet cluster returns at once (aborted before the API server sent anything)', async () => {
  const ac = new AbortController();
  const seen: string[] = [];
  const watching = (async () => {
    const from = fake.resourceVersion;
    for await (const ev of api.watchWorkflows({ namespace: 'quiet', resourceVersion: from, signal: ac.signal }))
      seen.push(ev.type);
  })();
  await vi.waitFor(() =>
    expect(fake.requests.some((r) => r.query.watch === 'true' && r.path.includes('/namespaces/quiet/'))).toBe(true),
  );
  ac.abort();
  await watching;
  expect(seen).toEqual([]);
});

test('an audit record that cannot be written when a due workflow is archived stops the watch', async () => {
  const clock = new FakeClock(T0);
  fake.put({ ...wf('due-later', 'Succeeded', T0.toISOString()), metadata: { name: 'due-later', namespace: 'aud' } });
  const loop = runWatchLoop(api, {
    namespaces: ['aud'],
    clock,
    log: () => {},
    decide: (_w, now) =>
      now.getTime() >= T0.getTime() + MINUTE
        ? { archive: true, reason: 'due', group: 'g', deleteSourceAfterArchive: false }
        : {
            archive: false,
            reason: 'not yet',
            group: 'g',
            deleteSourceAfterArchive: false,
            dueAt: new Date(T0.getTime() + MINUTE),
          },
    archive: () => Promise.reject(new AuditError('audit record of archive x not written: disk full')),
  });
  await vi.waitFor(() => expect(clock.waiting).toBe(1), { timeout: 20_000 });
  clock.advance(MINUTE);
  await expect(loop).rejects.toBeInstanceOf(AuditError);
});

/** A RetentionPolicy ConfigMap in `namespace` (what `--policy-from-cluster` reads). */
function putPolicy(namespace: string, defaults: string, rules = '') {
  fake.put({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'strata-policy', namespace, labels: { 'strata.dev/policy': 'true' } },
    data: {
      'policy.yaml': `apiVersion: strata.dev/v1alpha1
kind: RetentionPolicy
metadata: { name: test }
spec:
  defaults: { ${defaults}, timeline: { hot: 7d }, retainFor: 1y }
${rules}`,
    },
  });
}

/** A workflow that finished at T0 with its one pod and log still there. */
function putFinished(namespace: string, name: string, uid?: string): KubeObject {
  const w: KubeObject = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name, namespace, ...(uid ? { uid } : {}) },
    spec: { entrypoint: 'main' },
    status: {
      phase: 'Succeeded',
      startedAt: new Date(T0.getTime() - MINUTE).toISOString(),
      finishedAt: T0.toISOString(),
      nodes: { [name]: { id: name, name, type: 'Pod', templateName: 'main', phase: 'Succeeded' } },
    },
  };
  const stored = fake.put(w);
  fake.put({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { 'workflows.argoproj.io/workflow': name } },
    spec: { containers: [{ name: 'main' }] },
  });
  fake.setLog(namespace, name, 'main', `log of ${name}\n`);
  return stored;
}

const archivedLabel = (namespace: string, name: string) =>
  fake.get('Workflow', namespace, name)?.metadata.labels?.['strata.dev/archived'];

/** Runs `strata watch`'s loop (archive + finalize) on the fake API server with the test's clock. */
async function startWatch(
  clock: FakeClock,
  policyNamespace: string,
  opts: WatchOptions,
  audited: { record?: RecordPolicy; audit?: AuditLog } = {},
) {
  const load = () => loadStepPolicy(api, [], [policyNamespace]);
  const logs: string[] = [];
  const controller = new AbortController();
  const running = runWatch(
    {
      cluster: api,
      repo,
      policy: new PolicyRefresher(load, await load(), (l) => logs.push(l), audited.record),
      audit: audited.audit ?? createStoreAuditLog(store),
      holdsFor: (uid) => new HoldRepository(store).forWorkflow(uid),
      clock,
      log: (l) => logs.push(l),
    },
    { signal: controller.signal, ...opts },
  );
  const stop = async (): Promise<WatchStats> => {
    controller.abort();
    return running;
  };
  /** Waits until the loop went back to sleep on the clock (it has handled everything due so far). */
  const idle = () => vi.waitFor(() => expect(clock.waiting).toBe(1), { timeout: 20_000 });
  const logged = (re: RegExp) => vi.waitFor(() => expect(logs.join('\n')).toMatch(re), { timeout: 20_000 });
  running.catch(() => {}); // awaited by the test through stop() or ended
  return { logs, stop, idle, logged, ended: running };
}

describe('workflows not due yet are archived when they are due', () => {
  test('the metrics say how many are pending and when the oldest is due, as the queue changes', async () => {
    putPolicy('pol-m', 'archiveAfter: 10m');
    putFinished('wm', 'metered');
    const clock = new FakeClock(T0);
    let read: (() => WatchGauges) | undefined;
    const scrape = () => renderMetrics(watchMetrics(() => read?.()));
    // Before the loop runs there is nothing to report: metadata only, no samples.
    expect(scrape()).not.toMatch(/^strata_watch_pending_workflows /m);
    const watch = await startWatch(clock, 'pol-m', { namespaces: ['wm'], expose: (r) => (read = r) });
    await watch.logged(/not now: wm\/metered/);
    await watch.idle();
    expect(scrape()).toMatch(/^strata_watch_pending_workflows 1$/m);
    expect(scrape()).toMatch(
      new RegExp(`^strata_watch_oldest_due_timestamp_seconds ${(T0.getTime() + 10 * MINUTE) / 1000}$`, 'm'),
    );
    expect(scrape()).toMatch(/^strata_watch_archived_total 0$/m);
    expect(scrape()).toMatch(/^strata_watch_archived_bytes_total 0$/m);
    clock.advance(10 * MINUTE);
    await vi.waitFor(() => expect(archivedLabel('wm', 'metered')).toBeDefined(), { timeout: 20_000 });
    await watch.idle();
    expect(scrape()).toMatch(/^strata_watch_pending_workflows 0$/m);
    expect(scrape()).not.toMatch(/^strata_watch_oldest_due_timestamp_seconds /m);
    expect(scrape()).toMatch(/^strata_watch_archived_total 1$/m);
    // The archived workflow's bytes (its object and log at least) and what its new packs took in the store.
    const bytes = Number(/^strata_watch_archived_bytes_total (\d+)$/m.exec(scrape())?.[1]);
    expect(bytes).toBeGreaterThan('log of metered\n'.length);
    expect(Number(/^strata_watch_archived_stored_bytes_total (\d+)$/m.exec(scrape())?.[1])).toBeGreaterThan(0);
    await watch.stop();
  });

  test('due in 10 minutes: archived at 10 minutes, not a second before', async () => {
    putPolicy('pol-1', 'archiveAfter: 10m');
    putFinished('w1', 'soon');
    const clock = new FakeClock(T0);
    const watch = await startWatch(clock, 'pol-1', { namespaces: ['w1'] });
    await watch.logged(/not now: w1\/soon: .*queued for 2026-03-02T12:10:00.000Z/);
    await watch.logged(/pending: 1 workflow, oldest due 2026-03-02T12:10:00.000Z/);
    await watch.idle();
    clock.advance(10 * MINUTE - 1000);
    await watch.idle();
    expect(archivedLabel('w1', 'soon')).toBeUndefined();
    clock.advance(1000);
    await vi.waitFor(() => expect(archivedLabel('w1', 'soon')).toBeDefined(), { timeout: 20_000 });
    const stats = await watch.stop();
    expect(stats).toMatchObject({ archived: 1, pending: 0, failed: 0 });
  });

  test('a restarted watch finds the pending workflow in its first list and archives it when due', async () => {
    putPolicy('pol-2', 'archiveAfter: 10m');
    putFinished('w2', 'later');
    const clock = new FakeClock(T0);
    const first = await startWatch(clock, 'pol-2', { namespaces: ['w2'] });
    await first.logged(/not now: w2\/later/);
    const before = await first.stop();
    expect(before).toMatchObject({ archived: 0, pending: 1, oldestDue: '2026-03-02T12:10:00.000Z' });

    clock.advance(5 * MINUTE);
    const second = await startWatch(clock, 'pol-2', { namespaces: ['w2'] });
    await second.logged(/not now: w2\/later/);
    await second.idle();
    clock.advance(5 * MINUTE);
    await vi.waitFor(() => expect(archivedLabel('w2', 'later')).toBeDefined(), { timeout: 20_000 });
    expect((await second.stop()).archived).toBe(1);
  });

  test('a policy change in the ConfigMap applies without a restart: pending workflows are decided again', async () => {
    putPolicy('pol-3', 'archiveAfter: 100d');
    putFinished('w3', 'slow');
    const clock = new FakeClock(T0);
    const watch = await startWatch(clock, 'pol-3', { namespaces: ['w3'], policyRefreshMs: 30_000 });
    await watch.logged(/not now: w3\/slow: .*queued for 2026-06-10/);
    await watch.idle();
    putPolicy('pol-3', 'archiveAfter: 10s');
    clock.advance(30_000);
    await vi.waitFor(() => expect(archivedLabel('w3', 'slow')).toBeDefined(), { timeout: 20_000 });
    expect(watch.logs.join('\n')).toMatch(/policy changed: pending workflows are decided again/);
    await watch.stop();
  });

  test('a policy that cannot decide is retried with backoff, and a fix is picked up', async () => {
    // A missing map key is a CEL error: the decision fails closed.
    putPolicy(
      'pol-4',
      'archiveAfter: 1m',
      '  rules:\n    - { name: broken, match: \'labels["absent"] == "x"\', retainFor: 2y }\n',
    );
    putFinished('w4', 'undecided');
    const clock = new FakeClock(T0);
    const watch = await startWatch(clock, 'pol-4', { namespaces: ['w4'], policyRefreshMs: 60 * MINUTE });
    await watch.logged(/retry: w4\/undecided: policy cannot decide: .*attempt 1, next at 2026-03-02T12:00:30.000Z/);
    await watch.idle();
    clock.advance(30_000);
    await watch.logged(/attempt 2, next at 2026-03-02T12:01:30.000Z/);
    await watch.idle();
    putPolicy('pol-4', 'archiveAfter: 1m');
    clock.advance(60 * MINUTE);
    await vi.waitFor(() => expect(archivedLabel('w4', 'undecided')).toBeDefined(), { timeout: 20_000 });
    await watch.stop();
  });

  test('deleted or recreated before the due time: dropped (the new one waits for its own due time)', async () => {
    putPolicy('pol-5', 'archiveAfter: 10m');
    const gone = putFinished('w5', 'gone');
    const old = putFinished('w5', 'reborn');
    const clock = new FakeClock(T0);
    const watch = await startWatch(clock, 'pol-5', { namespaces: ['w5'] });
    await watch.logged(/pending: 2 workflows/);
    await api.deleteWorkflow('w5', 'gone', gone.metadata.uid!);
    // Deleted and submitted again under the same name: a new uid.
    const reborn = putFinished('w5', 'reborn', 'new-uid-0000');
    expect(reborn.metadata.uid).not.toBe(old.metadata.uid);
    await watch.idle();
    clock.advance(10 * MINUTE);
    await vi.waitFor(() => expect(archivedLabel('w5', 'reborn')).toBeDefined(), { timeout: 20_000 });
    const stats = await watch.stop();
    expect(stats.archived).toBe(1);
    expect(fake.get('Workflow', 'w5', 'reborn')?.metadata.uid).toBe('new-uid-0000');
    expect(watch.logs.join('\n')).not.toMatch(/archived: w5\/gone/);
    expect(watch.logs.join('\n')).toMatch(/dropped: w5\/reborn: recreated \(uid new-uid-0000\) before it was due/);
  });

  test('the pending limit: beyond it a workflow is not queued, with a line saying the sweep archives it', async () => {
    putPolicy('pol-6', 'archiveAfter: 10m');
    putFinished('w6', 'a');
    putFinished('w6', 'b');
    const clock = new FakeClock(T0);
    const watch = await startWatch(clock, 'pol-6', { namespaces: ['w6'], maxPending: 1, once: true });
    const stats = await watch.stop();
    expect(stats).toMatchObject({ pending: 1, notQueued: 1 });
    expect(watch.logs.join('\n')).toMatch(/pending limit 1 reached: w6\/b .* the sweep \(strata-sweep\) archives it/);
  });
});

describe('the policy in force is on the audit record before the watch decides under it', () => {
  /** An audit log that keeps its records in order (and refuses once `failFrom` records were written). */
  function auditLog(failFrom = Infinity) {
    const records: AuditRecord[] = [];
    const audit: AuditLog = {
      record: async (r) => {
        if (records.length >= failFrom) throw new Error('audit store unreachable');
        records.push(r);
      },
    };
    return { records, audit };
  }
  /** recordPolicyInForce as `strata watch` calls it, its state in a store of the test's own. */
  const recorder = (audit: AuditLog, name: string): RecordPolicy => {
    const own = new FileSystemStore(join(tmp, `policy-state-${name}`));
    return (digest) => recordPolicyInForce(own, audit, digest, 'strata/watch');
  };

  test('recorded at start, again when a ConfigMap changes (before anything is decided under it), not when unchanged', async () => {
    putPolicy('pol-r', 'archiveAfter: 100d');
    putFinished('wr', 'recorded');
    const clock = new FakeClock(T0);
    const { records, audit } = auditLog();
    const watch = await startWatch(
      clock,
      'pol-r',
      { namespaces: ['wr'], policyRefreshMs: 30_000 },
      {
        record: recorder(audit, 'r'),
        audit,
      },
    );
    await watch.logged(/not now: wr\/recorded/);
    await watch.idle();
    expect(records.map((r) => r.action)).toEqual(['policy-change']);
    expect(records[0]).toMatchObject({ actor: 'strata/watch', reason: 'policy in force first recorded' });
    const first = records[0]!.hashes![0]!;
    expect(first).toMatch(/^sha256:[0-9a-f]{64}$/);
    clock.advance(30_000); // re-read, unchanged: no record
    await watch.idle();
    expect(records).toHaveLength(1);
    putPolicy('pol-r', 'archiveAfter: 10s');
    clock.advance(30_000);
    await vi.waitFor(() => expect(archivedLabel('wr', 'recorded')).toBeDefined(), { timeout: 20_000 });
    await watch.stop();
    const changes = records.filter((r) => r.action === 'policy-change');
    expect(changes).toHaveLength(2);
    expect(changes[1]).toMatchObject({ details: { previous: first } });
    expect(changes[1]!.hashes![0]).not.toBe(first);
    // The change is on the record before the archive it allowed.
    expect(records.indexOf(changes[1]!)).toBeLessThan(records.findIndex((r) => r.action === 'archive'));
    expect(watch.logs.join('\n')).toContain(
      `policy changed: pending workflows are decided again (policy ${changes[1]!.hashes![0]})`,
    );
  });

  test('a policy change that cannot be recorded stops the watch: nothing is archived under it', async () => {
    putPolicy('pol-rf', 'archiveAfter: 100d');
    putFinished('wrf', 'kept');
    const clock = new FakeClock(T0);
    const { records, audit } = auditLog(1); // the first policy record is written, nothing after it
    const watch = await startWatch(
      clock,
      'pol-rf',
      { namespaces: ['wrf'], policyRefreshMs: 30_000 },
      {
        record: recorder(audit, 'rf'),
        audit,
      },
    );
    await watch.logged(/not now: wrf\/kept/);
    await watch.idle();
    putPolicy('pol-rf', 'archiveAfter: 10s');
    clock.advance(30_000);
    await expect(watch.ended).rejects.toBeInstanceOf(AuditRefusal);
    expect(records.map((r) => r.action)).toEqual(['policy-change']);
    expect(archivedLabel('wrf', 'kept')).toBeUndefined();
    expect(watch.logs.join('\n')).not.toMatch(/policy changed/);
  });

  test('a policy that cannot be recorded at start: the watch does not start, nothing is archived', async () => {
    putPolicy('pol-rs', 'archiveAfter: 0s');
    putFinished('wrs', 'due-now');
    const clock = new FakeClock(T0);
    const { audit } = auditLog(0);
    const watch = await startWatch(clock, 'pol-rs', { namespaces: ['wrs'] }, { record: recorder(audit, 'rs'), audit });
    await expect(watch.ended).rejects.toThrow(/policy in force .* is not recorded in the audit log/);
    expect(archivedLabel('wrs', 'due-now')).toBeUndefined();
  });
});
