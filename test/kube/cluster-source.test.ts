// The live-cluster source over the fake API server: logs of pods that exist, missing ones recorded, artifacts, related CRs.
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseArtifactRepository, endpointUrl } from '../../lib/sources/argo-artifact-repository.ts';
import { KubeClusterApi, plainKubeConfig } from '../../lib/kube/client.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { extractNodes } from '../../lib/sources/argo-nodes.ts';
import type { ArtifactReader } from '../../lib/sources/artifact-reader.ts';
import { openClusterSource } from '../../lib/sources/cluster.ts';
import { isSourceProblem } from '../../lib/bundle/bundle.ts';
import { FakeKubeApi, loadSharedWorkflows, sharedWorkflowsDir } from '../support/fake-kube-api.ts';

const dir = sharedWorkflowsDir();
if (!dir) console.warn('skipping test/kube/cluster-source.test.ts: ../shared/argo/workflows is absent');

/** An in-memory artifact repository: keys present are readable, the rest were garbage-collected. */
function memoryArtifacts(objects: Record<string, string>): ArtifactReader {
  return {
    description: 'memory://artifacts',
    size: async (_b, key) => (key in objects ? Buffer.byteLength(objects[key]!) : undefined),
    open: async (_b, key) => Readable.from([Buffer.from(objects[key]!)]),
  };
}

describe.skipIf(!dir)('cluster source', () => {
  const fake = new FakeKubeApi();
  let api: KubeClusterApi;
  let wf: KubeObject;

  beforeAll(async () => {
    api = new KubeClusterApi(plainKubeConfig(await fake.start()));
    const shared = loadSharedWorkflows(dir!).find((s) => s.workflow.metadata.name === 'dag-diamond-82q7s')!;
    wf = fake.put(shared.workflow);
    const pods = extractNodes(wf).filter((n) => n.type === 'Pod');
    // The first pod still exists (main + wait containers); the others were garbage-collected.
    const first = pods[0]!;
    fake.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: first.podName!,
        namespace: 'argo',
        labels: { 'workflows.argoproj.io/workflow': wf.metadata.name },
      },
      spec: { initContainers: [{ name: 'init' }], containers: [{ name: 'wait' }, { name: 'main' }] },
    });
    for (const c of ['init', 'wait', 'main']) fake.setLog('argo', first.podName!, c, `${c} log of ${first.podName}\n`);
    // A CodeRun created by a resource template, its Job and the Job's pod.
    const cr = fake.put({
      apiVersion: 'agents.platform/v1',
      kind: 'CodeRun',
      metadata: { name: 'coderun-7-svc-abcde', namespace: 'argo', labels: { 'workflow-name': wf.metadata.name } },
      spec: { taskId: 7 },
      status: { phase: 'Succeeded' },
    });
    const job = fake.put({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'coderun-7-job',
        namespace: 'argo',
        ownerReferences: [
          { apiVersion: 'agents.platform/v1', kind: 'CodeRun', name: cr.metadata.name, uid: cr.metadata.uid! },
        ],
      },
    });
    fake.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'coderun-7-job-xyz', namespace: 'argo', labels: { 'job-name': job.metadata.name } },
      spec: { containers: [{ name: 'claude' }] },
    });
    fake.setLog('argo', 'coderun-7-job-xyz', 'claude', 'agent output\n');
    // Unrelated CodeRun: must not be picked up.
    fake.put({
      apiVersion: 'agents.platform/v1',
      kind: 'CodeRun',
      metadata: { name: 'other', namespace: 'argo', labels: { 'workflow-name': 'someone-else' } },
    });
  });
  afterAll(() => fake.stop());

  test('collects the workflow, logs of existing pods (all containers), related CR and its job pod logs', async () => {
    const source = openClusterSource(api, {
      refs: [{ namespace: 'argo', name: 'dag-diamond-82q7s', uid: wf.metadata.uid }],
    });
    const ids = [];
    for await (const x of source.list()) if (!isSourceProblem(x)) ids.push(x);
    expect(ids).toEqual([{ uid: wf.metadata.uid, namespace: 'argo', name: 'dag-diamond-82q7s' }]);
    const bundle = await source.load(ids[0]!);
    const paths = bundle.entries.map((e) => e.path);
    const first = extractNodes(wf).find((n) => n.type === 'Pod')!;
    expect(paths).toContain('workflow.json');
    for (const c of ['init', 'wait', 'main']) expect(paths).toContain(`logs/${first.id}/${c}.log`);
    const main = bundle.entries.find((e) => e.path === `logs/${first.id}/main.log`)!;
    expect(await text(await main.open())).toBe(`main log of ${first.podName}\n`);
    // The key of Argo's archived copy of the same log (main-logs): finalize deletes it only if the bytes match.
    expect(first.mainLogs?.s3Key).toBeTruthy();
    expect(main.meta).toEqual({ podName: first.podName, s3Key: first.mainLogs!.s3Key });
    const wait = bundle.entries.find((e) => e.path === `logs/${first.id}/wait.log`)!;
    expect(wait.meta).toEqual({ podName: first.podName });
    expect(paths).toContain('resources/CodeRun/coderun-7-svc-abcde.json');
    expect(paths).not.toContain('resources/CodeRun/other.json');
    const agentLog = bundle.entries.find(
      (e) => e.path === 'resources/CodeRun/coderun-7-svc-abcde/logs/coderun-7-job-xyz/claude.log',
    )!;
    expect(await text(await agentLog.open())).toBe('agent output\n');
    const obj = JSON.parse(
      await text(await bundle.entries.find((e) => e.path === 'workflow.json')!.open()),
    ) as KubeObject;
    expect(obj.metadata.uid).toBe(wf.metadata.uid);
  });

  test('a gone pod log comes from the artifact repository; GC-ed or unconfigured ones are missing with a reason', async () => {
    const nodes = extractNodes(wf).filter((n) => n.type === 'Pod' && n.ran);
    const [, second, ...rest] = nodes;
    expect(rest.length).toBeGreaterThan(0);
    const source = openClusterSource(api, {
      artifacts: memoryArtifacts({ [second!.mainLogs!.s3Key!]: 'archived bytes' }),
    });
    const bundle = await source.load({ uid: wf.metadata.uid!, namespace: 'argo', name: 'dag-diamond-82q7s' });
    const fromRepo = bundle.entries.find((e) => e.path === `logs/${second!.id}/main.log`)!;
    expect(await text(await fromRepo.open())).toBe('archived bytes');
    for (const n of rest) {
      expect(bundle.entries.some((e) => e.path === `logs/${n.id}/main.log`)).toBe(false);
      expect(bundle.missing.find((m) => m.path === `logs/${n.id}/main.log`)?.reason).toMatch(
        /gone from memory:\/\/artifacts \(artifact GC/,
      );
    }
    const noRepo = await openClusterSource(api).load({
      uid: wf.metadata.uid!,
      namespace: 'argo',
      name: 'dag-diamond-82q7s',
    });
    expect(noRepo.missing.filter((m) => /no artifact repository configured/.test(m.reason)).length).toBe(
      nodes.length - 1,
    );
  });

  test('a recreated namesake and a vanished workflow are problems, not bundles', async () => {
    const source = openClusterSource(api, {
      refs: [
        { namespace: 'argo', name: 'dag-diamond-82q7s', uid: 'old-uid' },
        { namespace: 'argo', name: 'vanished', uid: 'u' },
      ],
    });
    const problems = [];
    for await (const x of source.list()) if (isSourceProblem(x)) problems.push(x.message);
    expect(problems).toEqual([expect.stringMatching(/recreated/), 'workflow is no longer in the cluster']);
    await expect(source.load({ uid: 'old-uid', namespace: 'argo', name: 'dag-diamond-82q7s' })).rejects.toThrow(
      /expected old-uid/,
    );
  });
});

test('artifact repository config: S3 with archiveLogs, endpoint scheme from insecure', () => {
  const repo = parseArtifactRepository(
    'archiveLogs: true\ns3:\n  bucket: argo-artifacts\n  endpoint: minio:9000\n  insecure: true\n',
    'argo/artifact-repositories#default-v1',
  );
  expect(repo).toMatchObject({ bucket: 'argo-artifacts', archiveLogs: true });
  expect(endpointUrl(repo)).toBe('http://minio:9000');
  expect(() => parseArtifactRepository('gcs:\n  bucket: x\n', 'k')).toThrow(/only S3-compatible/);
});

test('artifact repository per workflow: recorded in status first, else the namespace ConfigMap (read once)', async () => {
  const { artifactReaderFor } = await import('../../lib/sources/argo-artifact-repository.ts');
  const { FileSystemStore } = await import('../../lib/store/fs.ts');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const fake = new FakeKubeApi();
  const api = new KubeClusterApi(plainKubeConfig(await fake.start()));
  const root = mkdtempSync(join(tmpdir(), 'strata-artifacts-'));
  try {
    fake.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'artifact-repositories', namespace: 'agents' },
      data: {
        'default-v1': 'archiveLogs: true\ns3:\n  bucket: ns-bucket\n  endpoint: minio.argo:9000\n  insecure: true\n',
      },
    });
    const opened: string[] = [];
    const readerFor = artifactReaderFor(
      api,
      (bucket, repo) => {
        opened.push(`${bucket}@${repo.endpoint}`);
        return new FileSystemStore(join(root, bucket));
      },
      [
        { namespaces: ['agents'], bucket: 'rec-bucket', endpoint: 'minio:9000', insecure: true },
        { namespaces: ['*'], bucket: 'ns-bucket', endpoint: 'minio.argo:9000', insecure: true },
      ],
    );
    const recorded = {
      metadata: { namespace: 'agents' },
      status: {
        artifactRepositoryRef: { artifactRepository: { s3: { bucket: 'rec-bucket', endpoint: 'minio:9000' } } },
      },
    };
    await (await readerFor(recorded))!.size(undefined, 'k');
    await (await readerFor({ metadata: { namespace: 'agents' } }))!.size(undefined, 'k');
    await (await readerFor({ metadata: { namespace: 'agents' } }))!.size(undefined, 'k');
    expect(opened).toEqual(['rec-bucket@minio:9000', 'ns-bucket@minio.argo:9000']);
    expect(await readerFor({ metadata: { namespace: 'elsewhere' } })).toBeUndefined();
    expect(fake.requests.filter((r) => r.path.endsWith('/configmaps/artifact-repositories')).length).toBe(2); // agents once, elsewhere once
  } finally {
    await fake.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
