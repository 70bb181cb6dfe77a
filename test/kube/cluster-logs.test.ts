// Logs come from wherever they are: the live pod, else the artifact repository's archived copy (moto S3 peer as
// Argo's bucket). A pod without a log answers 204 as a real API server does; only what neither has is missing.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { openEntry, openRepository, readManifest } from '../../lib/archive/index.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { extractNodes } from '../../lib/sources/argo-nodes.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { FakeKubeApi, loadSharedWorkflows, sharedWorkflowsDir } from '../support/fake-kube-api.ts';
import { runCli } from '../support/run-cli.ts';
import { createBucket, peerClient, s3PeerOrSkip } from '../support/s3-fixtures.ts';

const dir = sharedWorkflowsDir();
if (!dir) console.warn('skipping test/kube/cluster-logs.test.ts: ../shared/argo/workflows is absent');
const { peer, skip } = s3PeerOrSkip();
if (skip) console.warn(`skipping test/kube/cluster-logs.test.ts: ${skip}`);

describe.skipIf(!dir || !peer)('pod logs, else archived logs, against the fake API server and an S3 peer', () => {
  const fake = new FakeKubeApi();
  let tmp: string;
  let common: string[];
  let bucket: string;
  let wf: KubeObject;
  let pods: ReturnType<typeof extractNodes>;

  const putObject = async (key: string, body: string) => {
    const client = peerClient(peer!);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    client.destroy();
  };
  const pod = (name: string, containers: string[]) =>
    fake.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: wf.metadata.namespace,
        labels: { 'workflows.argoproj.io/workflow': wf.metadata.name },
      },
      spec: { containers: containers.map((c) => ({ name: c })) },
    });

  async function archive(workflow: KubeObject): Promise<{ id: string; code: number; err: string }> {
    const r = await runCli([
      'archive',
      ...common,
      '--workflows',
      `${workflow.metadata.namespace}/${workflow.metadata.name}`,
      '--uids',
      workflow.metadata.uid!,
    ]);
    const out = JSON.parse(r.out) as { manifests: string };
    return { id: out.manifests, code: r.code, err: r.err };
  }

  beforeAll(async () => {
    const url = await fake.start();
    tmp = mkdtempSync(join(tmpdir(), 'strata-cluster-logs-'));
    common = ['--store', `file:${join(tmp, 'repo')}`, '--kube-server', url, '--group', 'default', '-o', 'json'];
    // The workflow's own recorded artifact repository (as Argo writes it into status) is the moto bucket.
    bucket = await createBucket(peer!);
    vi.stubEnv('STRATA_S3_ACCESS_KEY_ID', peer!.accessKeyId);
    vi.stubEnv('STRATA_S3_SECRET_ACCESS_KEY', peer!.secretAccessKey);
    vi.stubEnv('STRATA_S3_REGION', peer!.region);
    // Strata reads only the artifact repositories its configuration trusts (a loopback endpoint may be plain HTTP).
    vi.stubEnv('STRATA_ARTIFACT_REPOSITORIES', JSON.stringify([{ bucket, endpoint: peer!.endpoint }]));
    const shared = loadSharedWorkflows(dir!).find((s) => s.workflow.metadata.name === 'dag-diamond-82q7s')!.workflow;
    const status = shared.status as { artifactRepositoryRef: { artifactRepository: { s3: Record<string, unknown> } } };
    status.artifactRepositoryRef.artifactRepository.s3 = {
      bucket,
      endpoint: peer!.endpoint.replace(/^http:\/\//, ''),
      insecure: true,
    };
    wf = fake.put(shared);
    pods = extractNodes(wf).filter((n) => n.type === 'Pod');
    expect(pods.length).toBe(4);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await fake.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('204 from the pod: the archived main-logs artifact is taken; missing only what neither has', async () => {
    const [fromArchive, inNeither, podGone, fromPod] = pods as [
      (typeof pods)[0],
      (typeof pods)[0],
      (typeof pods)[0],
      (typeof pods)[0],
    ];
    // 1: the pod exists but its main log is gone (204); Argo archived it.
    pod(fromArchive.podName!, ['wait', 'main']);
    fake.setLog('argo', fromArchive.podName!, 'wait', 'wait log 1\n');
    await putObject(fromArchive.mainLogs!.s3Key!, 'archived main log 1\n');
    // 2: the pod exists, its main log is gone, and the archived copy was garbage-collected.
    pod(inNeither.podName!, ['wait', 'main']);
    fake.setLog('argo', inNeither.podName!, 'wait', 'wait log 2\n');
    // 3: the pod is gone; Argo archived the main log.
    await putObject(podGone.mainLogs!.s3Key!, 'archived main log 3\n');
    // 4: the pod and its log exist (the live log wins over the archived copy).
    pod(fromPod.podName!, ['wait', 'main']);
    fake.setLog('argo', fromPod.podName!, 'wait', 'wait log 4\n');
    fake.setLog('argo', fromPod.podName!, 'main', 'live main log 4\n');
    await putObject(fromPod.mainLogs!.s3Key!, 'archived main log 4\n');

    const first = await archive(wf);
    expect(first.code).toBe(0);
    const repo = await openRepository(new FileSystemStore(join(tmp, 'repo')));
    const manifest = await readManifest(repo, first.id);
    const content = async (path: string) => text(await openEntry(repo, first.id, path));
    expect(await content(`logs/${fromArchive.id}/main.log`)).toBe('archived main log 1\n');
    expect(await content(`logs/${fromArchive.id}/wait.log`)).toBe('wait log 1\n');
    expect(await content(`logs/${podGone.id}/main.log`)).toBe('archived main log 3\n');
    expect(await content(`logs/${fromPod.id}/main.log`)).toBe('live main log 4\n');
    expect(await content(`logs/${inNeither.id}/wait.log`)).toBe('wait log 2\n');
    expect(manifest.incomplete).toBe(true);
    expect(manifest.missing.map((m) => m.path)).toEqual([`logs/${inNeither.id}/main.log`]);
    const reason = manifest.missing[0]!.reason;
    expect(reason).toBe(
      `pod ${inNeither.podName} has no log for container main (HTTP 204) and s3 key ${inNeither.mainLogs!.s3Key} ` +
        `is gone from s3://${bucket} (artifact GC or lifecycle rule)`,
    );
    expect(reason).not.toMatch(/unreadable/);

    // Once the archived copy is there, the same workflow archives complete.
    await putObject(inNeither.mainLogs!.s3Key!, 'archived main log 2\n');
    const second = await archive(wf);
    expect(second.code).toBe(0);
    const complete = await readManifest(repo, second.id);
    expect(complete.missing).toEqual([]);
    expect(complete.incomplete).toBe(false);
  });

  test('a pod that never started (its node never ran) logged nothing: no entry, nothing missing', async () => {
    const name = 'never-started';
    const node = `${name}-1`;
    const never = fake.put({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name, namespace: 'argo', annotations: { 'workflows.argoproj.io/pod-name-format': 'v1' } },
      spec: { entrypoint: 'main', templates: [{ name: 'main', container: { image: 'x' } }] },
      status: {
        phase: 'Error',
        startedAt: '2024-01-01T00:00:00Z',
        finishedAt: '2024-01-01T00:05:00Z',
        nodes: { [node]: { id: node, name: node, type: 'Pod', templateName: 'main', phase: 'Error' } },
      },
    });
    fake.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: node, namespace: 'argo', labels: { 'workflows.argoproj.io/workflow': name } },
      spec: { initContainers: [{ name: 'init' }], containers: [{ name: 'wait' }, { name: 'main' }] },
    });
    const r = await archive(never);
    expect(r.code).toBe(0);
    const repo = await openRepository(new FileSystemStore(join(tmp, 'repo')));
    const manifest = await readManifest(repo, r.id);
    expect(manifest.missing).toEqual([]);
    expect(manifest.entries.map((e) => e.path)).toEqual(['workflow.json']);
  });
});
