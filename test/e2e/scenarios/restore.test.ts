// strata-restore brings back a workflow that strata-archive archived and deleted, as an Argo output artifact; the
// restored workflow.resubmit.yaml is submitted with `argo submit` and runs to completion under the real controller.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  argo,
  e2eCluster,
  eventually,
  kubectl,
  kubectlJson,
  nodeOutput,
  run,
  submitAndWait,
  type Workflow,
} from '../support/cluster.ts';
import { E2E_POLICY, EXECUTOR_RBAC, runTag, workflows } from '../support/workflows.ts';

/** The user of the kubeconfig the scenarios submit with (hack/e2e/up.sh signs its certificate). */
const E2E_ADMIN = 'strata-e2e-admin';

const cluster = e2eCluster();

describe.skipIf(!cluster)('restore and resubmit under the real controller', () => {
  const c = cluster!;
  let original: Workflow;
  let archive: Workflow;

  beforeAll(async () => {
    await kubectl(c, ['apply', '-n', c.namespace, '-f', '-'], { input: EXECUTOR_RBAC + '\n---\n' + E2E_POLICY });
    const tag = runTag('restore');
    original = await submitAndWait(c, { yaml: workflows(tag).dag! });
    archive = await submitAndWait(c, { from: 'workflowtemplate/strata-archive' }, [
      '-p',
      `namespaces=${c.namespace}`,
      '-p',
      `selector=strata-e2e-run=${tag}`,
    ]);
  });

  test('strata-archive archives the workflow and deletes it (policy: delete)', async () => {
    expect(original.status?.phase).toBe('Succeeded');
    expect(archive.status?.phase, archive.status?.message).toBe('Succeeded');
    const r = await run(c, `${c.bin}/kubectl`, ['-n', c.namespace, 'get', 'workflow', original.metadata.name]);
    expect(r.stderr).toMatch(/NotFound/);
  });

  let resubmitFile: string;

  test('strata-restore restores it as an Argo output artifact with a workflow.resubmit.yaml', async () => {
    // The submitter is the requester (the admission policy pins it); the step checks their restores.strata.dev grant.
    const bound = await run(c, `${c.bin}/kubectl`, [
      '-n',
      c.namespace,
      'create',
      'rolebinding',
      'e2e-admin-restorer',
      '--clusterrole=strata-restorer',
      `--user=${E2E_ADMIN}`,
    ]);
    if (bound.code !== 0 && !/AlreadyExists/.test(bound.stderr)) throw new Error(bound.stderr);
    const restore = await submitAndWait(c, { from: 'workflowtemplate/strata-restore' }, [
      '-p',
      `workflow=${c.namespace}/${original.metadata.name}`,
      '-p',
      `requester=${E2E_ADMIN}`,
    ]);
    expect(restore.status?.phase, restore.status?.message).toBe('Succeeded');
    const node = Object.values(restore.status?.nodes ?? {}).find((n) => n.displayName === 'whole');
    const key = node?.outputs?.artifacts?.find((a) => a.name === 'restored')?.s3?.key;
    expect(key, JSON.stringify(node?.outputs)).toBeTruthy();

    const dir = join(c.state, 'restored', original.metadata.name);
    mkdirSync(dir, { recursive: true });
    const s3 = new S3Client({
      endpoint: c.s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' },
    });
    const res = await s3.send(new GetObjectCommand({ Bucket: 'argo-artifacts', Key: key! }));
    writeFileSync(join(dir, 'restored.tgz'), await res.Body!.transformToByteArray());
    s3.destroy();
    execFileSync('tar', ['-xzf', join(dir, 'restored.tgz'), '-C', dir]);
    resubmitFile = join(dir, 'restored', 'workflow.resubmit.yaml');
    expect(existsSync(resubmitFile)).toBe(true);
  });

  // Caught here first (issue 18 item 5): a resubmit file that kept workflows.argoproj.io/completed: "true" was
  // never picked up by the controller (no phase, no nodes).
  test('the resubmitted workflow runs to completion under the real controller', async () => {
    expect(resubmitFile).toBeTruthy();
    const out = await argo(c, ['submit', '-o', 'name', resubmitFile]);
    const name = out.trim().split('/').pop()!;
    const phase = await eventually(
      `a phase for the resubmitted ${name}`,
      async () => (await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', name])).status?.phase,
      60,
    ).catch((err: Error) => err.message);
    expect(phase).not.toMatch(/gave up/);
    const again = await eventually(`${name} to finish`, async () => {
      const wf = await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', name]);
      return wf.status?.phase === 'Running' || wf.status?.phase === 'Pending' ? undefined : wf;
    });
    expect(again.status?.phase, again.status?.message).toBe('Succeeded');
    expect(nodeOutput(again, 'report', 'said')).toBe(nodeOutput(original, 'report', 'said'));
  });
});
