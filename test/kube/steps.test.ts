// assess → archive --workflows → finalize, and the watch loop, run through the real CLI against the fake API server.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { approvalConfigMap } from '../../lib/identity/kube-approvals.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { runCli } from '../support/run-cli.ts';
import { FakeKubeApi, loadSharedWorkflows, sharedWorkflowsDir } from '../support/fake-kube-api.ts';

const dir = sharedWorkflowsDir();
if (!dir) console.warn('skipping test/kube/steps.test.ts: ../shared/argo/workflows is absent');

const POLICY = `apiVersion: strata.dev/v1alpha1
kind: RetentionPolicy
metadata:
  name: test
spec:
  defaults:
    archiveAfter: 1m
    timeline: { hot: 7d }
    retainFor: 1y
    deleteSource: true
  rules:
    - name: keep-source
      priority: 10
      match: labels[?"test/keep"].orValue("") == "true"
      deleteSource: false
`;

/** Runs the CLI in-process; returns the exit code and what it printed as JSON. */
async function strata(args: string[]): Promise<{ code: number; out: Record<string, unknown>; err: string }> {
  const { code, out, err } = await runCli(args);
  return { code, out: out.trim().startsWith('{') ? (JSON.parse(out) as Record<string, unknown>) : {}, err };
}

function completeWorkflow(name: string, labels: Record<string, string> = {}, finalizers?: string[]): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name, namespace: 'agents', labels, ...(finalizers ? { finalizers } : {}) },
    spec: { entrypoint: 'main' },
    status: {
      phase: 'Succeeded',
      startedAt: '2024-01-01T00:00:00Z',
      finishedAt: '2024-01-01T00:05:00Z',
      nodes: {
        [name]: {
          id: name,
          name,
          displayName: name,
          type: 'Pod',
          templateName: 'main',
          phase: 'Succeeded',
          startedAt: '2024-01-01T00:00:00Z',
        },
      },
    },
  };
}

describe.skipIf(!dir)('pipeline steps against the fake API server', () => {
  const fake = new FakeKubeApi();
  let tmp: string;
  let common: string[];
  let archiveArgs: string[];

  beforeAll(async () => {
    const url = await fake.start();
    tmp = mkdtempSync(join(tmpdir(), 'strata-steps-'));
    writeFileSync(join(tmp, 'policy.yaml'), POLICY);
    common = [
      '--store',
      `file:${join(tmp, 'repo')}`,
      '--kube-server',
      url,
      '--policy',
      join(tmp, 'policy.yaml'),
      '-o',
      'json',
    ];
    // The real Argo objects name MinIO at minio:9000 in status.artifactRepositoryRef: no network in tests.
    archiveArgs = ['--no-artifacts'];
    for (const s of loadSharedWorkflows(dir!)) fake.put(s.workflow);
    // Complete workflows: their one pod still exists with its logs (v2 pod name of a node named like the workflow = workflow name).
    for (const [name, labels, fin] of [
      ['agent-done', {}, undefined],
      ['agent-keep', { 'test/keep': 'true' }, undefined],
      ['agent-artgc', {}, ['workflows.argoproj.io/artifact-gc']],
    ] as const) {
      fake.put(completeWorkflow(name, labels, fin ? [...fin] : undefined));
      fake.put({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'agents', labels: { 'workflows.argoproj.io/workflow': name } },
        spec: { containers: [{ name: 'wait' }, { name: 'main' }] },
      });
      fake.setLog('agents', name, 'main', `log of ${name}\n`);
      fake.setLog('agents', name, 'wait', '');
    }
  });
  afterAll(async () => {
    await fake.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('assess → archive batches → finalize: complete ones deleted (finalizers respected), incomplete and kept ones stay', async () => {
    const outputs = join(tmp, 'outputs');
    const assess = await strata(['assess', ...common, '--batch-size', '3', '--outputs-dir', outputs]);
    expect(assess.code).toBe(0);
    const batches = JSON.parse(readFileSync(join(outputs, 'batches'), 'utf8')) as {
      workflows: string;
      uids: string;
      group: string;
    }[];
    const selected = batches.flatMap((b) => b.workflows.split(','));
    expect(selected.sort()).toEqual(
      [
        'agents/agent-artgc',
        'agents/agent-done',
        'agents/agent-keep',
        'argo/dag-diamond-82q7s',
        'argo/retry-workflow-with-failed-exit-handler',
        'argo/steps-4k5vn',
        'default/steps-9fkqc',
        'default/workflow-template-hello-world-jdkdw',
      ].sort(),
    );
    expect(readFileSync(join(outputs, 'selected'), 'utf8')).toBe('8');
    // Running, suspended and status-less workflows are never selected.
    const skipped = (assess.out.skippedWorkflows as { workflow: string; reason: string }[]).map((s) => s.workflow);
    expect(skipped).toContain('default/suspend-template');
    expect(skipped).toContain('argo/dag-containerset-qlmzl');

    const manifests: string[] = [];
    for (const b of batches) {
      const r = await strata([
        'archive',
        ...common,
        ...archiveArgs,
        '--workflows',
        b.workflows,
        '--uids',
        b.uids,
        '--group',
        b.group,
      ]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      manifests.push(...String(r.out.manifests).split(','));
    }
    expect(manifests.length).toBe(8);

    const fin = await strata(['finalize', ...common, '--manifest', manifests.join(',')]);
    expect(fin.code).toBe(0);
    const results = fin.out.results as { workflow: string; source: string; labelled: boolean; reasons: string[] }[];
    const by = Object.fromEntries(results.map((r) => [r.workflow, r]));
    expect(by['agents/agent-done']?.source).toBe('deleted');
    expect(fake.get('Workflow', 'agents', 'agent-done')).toBeUndefined();
    expect(by['agents/agent-artgc']?.source).toBe('pending');
    const artgc = fake.get('Workflow', 'agents', 'agent-artgc')!;
    expect(artgc.metadata.finalizers).toEqual(['workflows.argoproj.io/artifact-gc']);
    // The label holds a valid label value (the short id); the full manifest id is in the annotation.
    const artgcManifest = artgc.metadata.annotations?.['strata.dev/manifest'];
    expect(artgcManifest).toMatch(/^[0-9a-f]{64}$/);
    expect(manifests).toContain(artgcManifest);
    expect(artgc.metadata.labels?.['strata.dev/archived']).toBe(artgcManifest!.slice(0, 12));
    expect(by['agents/agent-keep']?.source).toBe('kept');
    expect(fake.get('Workflow', 'agents', 'agent-keep')?.metadata.labels?.['strata.dev/archived']).toBeDefined();
    // The real Argo objects have no pods here: archived as incomplete, labelled, never deleted.
    const diamond = by['argo/dag-diamond-82q7s']!;
    expect(diamond.source).toBe('kept');
    expect(diamond.reasons.join(' ')).toMatch(/incomplete/);
    expect(fake.get('Workflow', 'argo', 'dag-diamond-82q7s')).toBeDefined();

    // A second sweep selects nothing that was archived.
    const again = await strata(['assess', ...common]);
    expect((again.out.batches as unknown[]).length).toBe(0);
  });

  test('finalize refuses an unknown manifest and a workflow recreated under the same name', async () => {
    const bogus = 'f'.repeat(64);
    const r = await strata(['finalize', ...common, '--manifest', bogus]);
    expect(r.code).toBe(1);
    expect((r.out.results as { reasons: string[] }[])[0]?.reasons[0]).toMatch(/does not exist/);

    fake.put(completeWorkflow('agent-reborn'));
    fake.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'agent-reborn',
        namespace: 'agents',
        labels: { 'workflows.argoproj.io/workflow': 'agent-reborn' },
      },
      spec: { containers: [{ name: 'main' }] },
    });
    fake.setLog('agents', 'agent-reborn', 'main', 'first life\n');
    const wf = fake.get('Workflow', 'agents', 'agent-reborn')!;
    const archived = await strata([
      'archive',
      ...common,
      '--workflows',
      'agents/agent-reborn',
      '--uids',
      wf.metadata.uid!,
    ]);
    const id = String(archived.out.manifests);
    // Deleted by someone and submitted again: same name, new uid.
    fake.clearFinalizers('agents', 'agent-reborn');
    const reborn = completeWorkflow('agent-reborn');
    reborn.metadata.uid = 'another-uid';
    fake.put(reborn);
    const fin = await strata(['finalize', ...common, '--manifest', id]);
    expect(fin.code).toBe(1);
    expect(fake.get('Workflow', 'agents', 'agent-reborn')?.metadata.uid).toBe('another-uid');
    expect(fake.get('Workflow', 'agents', 'agent-reborn')?.metadata.labels?.['strata.dev/archived']).toBeUndefined();
  });

  test('watch archives a workflow when it finishes, and not while it runs', async () => {
    const running = completeWorkflow('agent-live');
    running.status = { phase: 'Running', startedAt: '2024-01-01T00:00:00Z' };
    fake.put(running);
    fake.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'agent-live', namespace: 'agents', labels: { 'workflows.argoproj.io/workflow': 'agent-live' } },
      spec: { containers: [{ name: 'main' }] },
    });
    fake.setLog('agents', 'agent-live', 'main', 'live\n');
    const watching = strata([
      'watch',
      ...common,
      ...archiveArgs,
      '--namespace',
      'agents',
      '--max-events',
      '2',
      '--no-finalize',
    ]);
    await vi.waitFor(() => expect(fake.requests.some((r) => r.query.watch === 'true')).toBe(true), { timeout: 20_000 });
    expect(fake.get('Workflow', 'agents', 'agent-live')?.metadata.labels?.['strata.dev/archived']).toBeUndefined();
    fake.put(completeWorkflow('agent-live'));
    fake.put({ ...completeWorkflow('agent-other'), status: { phase: 'Running' } });
    const r = await watching;
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ events: 2, failed: 0 });
    expect(r.err).toMatch(/archived: agents\/agent-live/);
    expect(r.err).not.toMatch(/agent-other/);
    expect(fake.get('Workflow', 'agents', 'agent-live')?.metadata.labels?.['strata.dev/archived']).toBeUndefined(); // --no-finalize
  });

  test('a legal hold stops finalize from deleting and refuses emergency-delete unless break-glass', async () => {
    fake.put(completeWorkflow('agent-held'));
    fake.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'agent-held', namespace: 'agents', labels: { 'workflows.argoproj.io/workflow': 'agent-held' } },
      spec: { containers: [{ name: 'main' }] },
    });
    fake.setLog('agents', 'agent-held', 'main', 'evidence\n');
    const uid = fake.get('Workflow', 'agents', 'agent-held')!.metadata.uid!;
    const store = common.slice(0, 2);
    expect((await strata(['hold', 'set', uid, '--reason', 'case 17', '--actor', 'legal', ...store])).code).toBe(0);
    const archived = await strata([
      'archive',
      ...common,
      ...archiveArgs,
      '--workflows',
      'agents/agent-held',
      '--uids',
      uid,
    ]);
    const fin = await strata(['finalize', ...common, '--manifest', String(archived.out.manifests)]);
    const result = (fin.out.results as { source: string; reasons: string[] }[])[0]!;
    expect(result.source).toBe('kept');
    expect(result.reasons.join(' ')).toMatch(/legal hold/);
    expect(fake.get('Workflow', 'agents', 'agent-held')).toBeDefined();

    const base = [
      'emergency-delete',
      uid,
      '--reason',
      'leaked token',
      '--settle',
      '0s',
      ...common.slice(0, 4),
      '-o',
      'json',
    ];
    // Another person approved the break-glass deletion (as themselves: an approval ConfigMap in Strata's namespace).
    const approval = approvalConfigMap(
      {
        action: 'emergency-delete',
        workflow: uid,
        namespace: 'agents',
        reason: 'leaked token',
        requester: 'system:admin',
        approver: 'ciso@corp',
        breakGlass: true,
        expires: new Date(Date.now() + 3_600_000),
      },
      'argo',
    );
    fake.put({
      ...(approval as KubeObject),
      metadata: {
        ...(approval.metadata as KubeObject['metadata']),
        name: 'strata-approval-ciso',
        creationTimestamp: new Date().toISOString(),
      },
    });
    const refused = await strata(base);
    expect(refused.code).toBe(4); // refused under the hold
    expect(refused.err).toMatch(/legal hold/);
    expect(fake.get('Workflow', 'agents', 'agent-held')).toBeDefined();
    const forced = await strata([...base, '--break-glass']);
    expect(forced.code).toBe(0);
    expect(forced.out).toMatchObject({ deletedManifests: 1, cluster: 'deleted' });
    expect(fake.get('Workflow', 'agents', 'agent-held')).toBeUndefined();
  });

  test('assess takes comma-separated namespaces and policy ConfigMaps read from the cluster', async () => {
    fake.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'strata-policy-slow', namespace: 'policies', labels: { 'strata.dev/policy': 'true' } },
      data: { 'slow.yaml': POLICY.replace('archiveAfter: 1m', 'archiveAfter: 100000d') },
    });
    const [store, storeUrl, server, url] = common;
    const fromCluster = [store!, storeUrl!, server!, url!, '-o', 'json', '--policy-from-cluster', 'policies'];
    for (const ns of ['ns-a', 'ns-b', 'ns-c'])
      fake.put({ ...completeWorkflow('fresh'), metadata: { name: 'fresh', namespace: ns } });
    const r = await strata(['assess', ...fromCluster, '--namespace', 'ns-a,ns-b']);
    expect(r.code).toBe(0);
    expect(r.out.selected).toBe(0);
    const deferred = r.out.deferredWorkflows as { workflow: string; reason: string }[];
    expect(deferred.map((d) => d.workflow)).toEqual(['ns-a/fresh', 'ns-b/fresh']);
    expect(deferred.every((d) => /archive due/.test(d.reason))).toBe(true);
    const withFile = await strata(['assess', ...common, '--namespace', 'ns-a,ns-b']);
    expect(withFile.out.selected).toBe(2);
  });

  test('a sweep lists only unarchived workflows (server-side selector) and records its watermark in a ConfigMap', async () => {
    const wm = ['--watermark', 'configmap:argo/strata-watermark', '--namespace', 'agents,argo,default'];
    fake.requests.length = 0;
    const first = await strata(['assess', ...common, ...wm]);
    expect(first.code).toBe(0);
    const lists = fake.requests.filter((r) => r.path.endsWith('/workflows') && r.method === 'GET');
    expect(lists.map((r) => r.query.labelSelector)).toEqual(Array(3).fill('!strata.dev/archived'));
    const all = await strata(['assess', ...common, ...wm, '--include-archived']);
    const alreadyArchived = (r: typeof all) =>
      (r.out.skippedWorkflows as { reason: string }[]).filter((x) => /already archived/.test(x.reason)).length;
    expect(alreadyArchived(first)).toBe(0);
    expect(alreadyArchived(all)).toBeGreaterThan(3);
    // (a labelled workflow whose deletion waits on finalizers is reported as "being deleted" instead)
    expect(Number(all.out.listed)).toBeGreaterThanOrEqual(Number(first.out.listed) + alreadyArchived(all));
    expect(all.out.selected).toBe(first.out.selected); // labelled ones are still never selected
    const cm = fake.get('ConfigMap', 'argo', 'strata-watermark');
    expect(cm?.data).toBeDefined();
  });

  test('a batch where a workflow vanished since assess archives the rest and succeeds', async () => {
    fake.put(completeWorkflow('agent-stays'));
    const uid = fake.get('Workflow', 'agents', 'agent-stays')!.metadata.uid!;
    const r = await strata([
      'archive',
      ...common,
      '--workflows',
      'agents/agent-stays,agents/agent-ttl-deleted',
      '--uids',
      `${uid},gone-uid`,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ archived: 1, skipped: 1, failed: 0 });
    expect(r.err).toMatch(/agent-ttl-deleted: workflow is no longer in the cluster/);
  });
});
