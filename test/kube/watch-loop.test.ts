// The watch loop over the fake API server: handles each finished workflow once, relists after 410 Gone.
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { KubeClusterApi, plainKubeConfig } from '../../lib/kube/client.ts';
import { runWatchLoop } from '../../lib/pipeline/watch-loop.ts';
import type { WorkflowObject } from '../../lib/pipeline/workflow-state.ts';
import { FakeKubeApi } from '../support/fake-kube-api.ts';

const fake = new FakeKubeApi();
let api: KubeClusterApi;
beforeAll(async () => {
  api = new KubeClusterApi(plainKubeConfig(await fake.start()));
});
afterAll(() => fake.stop());

const wf = (name: string, phase: string, finishedAt?: string) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Workflow',
  metadata: { name, namespace: 'w' },
  status: { phase, ...(finishedAt ? { finishedAt } : {}) },
});

test('a stale resourceVersion (410 Gone) makes the loop list again; each finished workflow is handled once', async () => {
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
    lastListVersion: () => (first ? ((first = false), String(Number(staleVersion) - 1)) : api.lastListVersion()),
  };
  const handled: string[] = [];
  const logs: string[] = [];
  const loop = runWatchLoop(source, {
    namespace: 'w',
    maxEvents: 1,
    log: (m) => logs.push(m),
    handle: async (w: WorkflowObject) => {
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
