// The Kubernetes adapter against the fake API server, loaded with the real Argo Workflow objects.
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KubeClusterApi, plainKubeConfig } from '../../lib/kube/client.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { ClusterStatusError, WatchExpiredError } from '../../lib/kube/errors.ts';
import { FakeKubeApi, loadSharedWorkflows, matchesSelector, sharedWorkflowsDir } from '../support/fake-kube-api.ts';

const dir = sharedWorkflowsDir();
if (!dir) console.warn('skipping test/kube/client.test.ts: ../shared/argo/workflows is absent');

describe.skipIf(!dir)('KubeClusterApi against the fake API server', () => {
  const fake = new FakeKubeApi();
  let api: KubeClusterApi;
  let shared: KubeObject[];

  beforeAll(async () => {
    api = new KubeClusterApi(plainKubeConfig(await fake.start()));
    shared = loadSharedWorkflows(dir!).map((s) => fake.put(s.workflow));
  });
  afterAll(() => fake.stop());

  async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const x of it) out.push(x);
    return out;
  }

  test('lists every workflow across namespaces, paging with continue tokens', async () => {
    fake.requests.length = 0;
    const got = await all(api.listWorkflows({}, 4));
    expect(got.map((w) => w.metadata.uid).sort()).toEqual(shared.map((w) => w.metadata.uid).sort());
    const pages = fake.requests.filter((r) => r.path === '/apis/argoproj.io/v1alpha1/workflows');
    expect(pages.length).toBe(Math.ceil(shared.length / 4));
    expect(pages.slice(1).every((p) => p.query.continue)).toBe(true);
    expect(api.lastListVersion()).toBe(fake.resourceVersion);
  });

  test('lists by namespace and label selector', async () => {
    const inArgo = await all(
      api.listWorkflows({ namespaces: ['argo'], labelSelector: 'workflows.argoproj.io/completed=true' }),
    );
    expect(inArgo.length).toBeGreaterThan(0);
    for (const w of inArgo) {
      expect(w.metadata.namespace).toBe('argo');
      expect(w.metadata.labels?.['workflows.argoproj.io/completed']).toBe('true');
    }
    const expected = shared.filter(
      (w) => w.metadata.namespace === 'argo' && w.metadata.labels?.['workflows.argoproj.io/completed'] === 'true',
    );
    expect(inArgo.length).toBe(expected.length);
  });

  test('a continue token that expired mid-list fails loudly with 410', async () => {
    const it = api.listWorkflows({}, 2)[Symbol.asyncIterator]();
    await it.next();
    fake.compact();
    await expect(async () => {
      for (let r = await it.next(); !r.done; r = await it.next());
    }).rejects.toMatchObject({ status: 410 });
  });

  test('getWorkflow returns undefined for 404', async () => {
    expect(await api.getWorkflow('argo', 'no-such-workflow')).toBeUndefined();
    const one = shared[0]!;
    expect((await api.getWorkflow(one.metadata.namespace!, one.metadata.name))?.metadata.uid).toBe(one.metadata.uid);
  });

  test('patches labels and annotations with a merge patch, guarded by uid (409 for a namesake)', async () => {
    const wf = shared.find((w) => w.metadata.name === 'dag-diamond-82q7s')!;
    const patched = await api.patchWorkflowMetadata('argo', wf.metadata.name, wf.metadata.uid!, {
      labels: { 'strata.dev/archived': 'm-1' },
      annotations: { 'strata.dev/manifest': 'm-1-full' },
    });
    expect(patched.metadata.labels?.['strata.dev/archived']).toBe('m-1');
    expect(patched.metadata.annotations?.['strata.dev/manifest']).toBe('m-1-full');
    expect(patched.metadata.labels?.['workflows.argoproj.io/phase']).toBe('Succeeded');
    expect(fake.requests.at(-1)?.contentType).toBe('application/merge-patch+json');
    await expect(
      api.patchWorkflowMetadata('argo', wf.metadata.name, 'other-uid', { labels: { x: 'y' } }),
    ).rejects.toMatchObject({ status: 409 });
    await api.patchWorkflowMetadata('argo', wf.metadata.name, wf.metadata.uid!, {
      labels: { 'strata.dev/archived': null },
      annotations: { 'strata.dev/manifest': null },
    });
    const after = fake.get('Workflow', 'argo', wf.metadata.name)!;
    expect(after.metadata.labels?.['strata.dev/archived']).toBeUndefined();
    expect(after.metadata.annotations?.['strata.dev/manifest']).toBeUndefined();
  });

  test('a label value the real API server refuses is a 422 Invalid naming the field, and nothing changes', async () => {
    const wf = shared.find((w) => w.metadata.name === 'dag-diamond-82q7s')!;
    const id = 'f'.repeat(64);
    const err = await api
      .patchWorkflowMetadata('argo', wf.metadata.name, wf.metadata.uid!, { labels: { 'strata.dev/archived': id } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterStatusError);
    expect((err as ClusterStatusError).status).toBe(422);
    expect((err as Error).message).toContain(
      `Workflow.argoproj.io "dag-diamond-82q7s" is invalid: metadata.labels: Invalid value: "${id}": must be no more than 63 characters`,
    );
    expect(fake.get('Workflow', 'argo', wf.metadata.name)?.metadata.labels?.['strata.dev/archived']).toBeUndefined();
  });

  test('delete respects finalizers: pending until Argo clears them, never stripped', async () => {
    const wf = fake.put({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'with-artifact-gc', namespace: 'agents', finalizers: ['workflows.argoproj.io/artifact-gc'] },
      status: { phase: 'Succeeded' },
    });
    expect(await api.deleteWorkflow('agents', wf.metadata.name, wf.metadata.uid!)).toBe('pending');
    const still = fake.get('Workflow', 'agents', wf.metadata.name)!;
    expect(still.metadata.deletionTimestamp).toBeDefined();
    expect(still.metadata.finalizers).toEqual(['workflows.argoproj.io/artifact-gc']);
    fake.clearFinalizers('agents', wf.metadata.name);
    expect(fake.get('Workflow', 'agents', wf.metadata.name)).toBeUndefined();
    expect(await api.deleteWorkflow('agents', wf.metadata.name, wf.metadata.uid!)).toBe('absent');
  });

  test('delete refuses a namesake with another uid (409)', async () => {
    const wf = fake.put({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'namesake', namespace: 'agents' },
    });
    const err = await api.deleteWorkflow('agents', 'namesake', 'not-' + wf.metadata.uid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterStatusError);
    expect((err as ClusterStatusError).status).toBe(409);
    expect(fake.get('Workflow', 'agents', 'namesake')).toBeDefined();
    expect(await api.deleteWorkflow('agents', 'namesake', wf.metadata.uid!)).toBe('deleted');
  });

  test('streams pod logs per container; a gone pod is a 404', async () => {
    fake.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1', namespace: 'argo', labels: { 'workflows.argoproj.io/workflow': 'w' } },
    });
    fake.setLog('argo', 'p1', 'main', 'hello\nworld\n');
    fake.setLog('argo', 'p1', 'wait', 'waited\n');
    expect(await text(await api.podLogs('argo', 'p1', 'main'))).toBe('hello\nworld\n');
    expect(await text(await api.podLogs('argo', 'p1', 'wait'))).toBe('waited\n');
    await expect(api.podLogs('argo', 'gone', 'main')).rejects.toMatchObject({ status: 404 });
    expect((await api.listPods('argo', 'workflows.argoproj.io/workflow=w')).map((p) => p.metadata.name)).toEqual([
      'p1',
    ]);
  });

  test('lists agents.platform CRs, Jobs and ConfigMaps by label; writes a ConfigMap twice', async () => {
    fake.put({
      apiVersion: 'agents.platform/v1',
      kind: 'CodeRun',
      metadata: { name: 'cr-1', namespace: 'agents', labels: { run: 'a' } },
      spec: { taskId: 1 },
    });
    fake.put({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'job-1', namespace: 'agents', labels: { run: 'a' } },
    });
    const crs = await api.listResources(
      { group: 'agents.platform', version: 'v1', plural: 'coderuns' },
      'agents',
      'run=a',
    );
    expect(crs.map((c) => c.spec?.taskId)).toEqual([1]);
    const jobs = await api.listResources({ group: 'batch', version: 'v1', plural: 'jobs' }, 'agents', 'run=a');
    expect(jobs.map((j) => j.metadata.name)).toEqual(['job-1']);
    await api.writeConfigMap('argo', 'strata-watermark', { since: 'a' }, { 'strata.dev/watermark': 'true' });
    await api.writeConfigMap('argo', 'strata-watermark', { since: 'b' });
    expect((await api.readConfigMap('argo', 'strata-watermark'))?.data).toEqual({ since: 'b' });
    expect((await api.listConfigMaps('argo', 'strata.dev/watermark')).length).toBe(0); // replaced without labels
    expect(await api.readConfigMap('argo', 'absent')).toBeUndefined();
  });

  test('watch streams changes after a version and reports 410 Gone for a compacted one', async () => {
    const from = fake.resourceVersion;
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const ev of api.watchWorkflows({ namespace: 'agents', resourceVersion: from, signal: ac.signal })) {
        seen.push(`${ev.type} ${ev.object.metadata.name}`);
        if (seen.length === 2) ac.abort();
      }
    })();
    fake.put({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'w-new', namespace: 'agents' },
    });
    fake.put({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'w-other', namespace: 'elsewhere' },
    });
    fake.put({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'w-new', namespace: 'agents' },
      status: { phase: 'Succeeded' },
    });
    await done;
    expect(seen).toEqual(['ADDED w-new', 'MODIFIED w-new']);

    fake.compact();
    fake.put({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'w-later', namespace: 'agents' },
    });
    const err = await (async () => {
      for await (const _ of api.watchWorkflows({ resourceVersion: from })) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchExpiredError);
  });
});

test('label selectors match as the API server does', () => {
  const l = { app: 'strata', tier: 'hot' };
  expect(matchesSelector(l, 'app=strata,tier in (hot,warm)')).toBe(true);
  expect(matchesSelector(l, 'app!=strata')).toBe(false);
  expect(matchesSelector(l, '!archived')).toBe(true);
  expect(matchesSelector(l, 'tier notin (hot)')).toBe(false);
  expect(matchesSelector(l, 'archived')).toBe(false);
});
