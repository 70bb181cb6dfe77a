// The tiering and verify CronWorkflows run once each under the real controller, over an archive with something in it.
import { beforeAll, describe, expect, test } from 'vitest';
import { e2eCluster, kubectl, nodeOutput, submitAndWait, type Workflow } from '../support/cluster.ts';
import { E2E_POLICY, EXECUTOR_RBAC, runTag, workflows } from '../support/workflows.ts';

const cluster = e2eCluster();

describe.skipIf(!cluster)('maintenance CronWorkflows', () => {
  const c = cluster!;

  beforeAll(async () => {
    await kubectl(c, ['apply', '-n', c.namespace, '-f', '-'], { input: EXECUTOR_RBAC + '\n---\n' + E2E_POLICY });
    const tag = runTag('maintenance');
    const wf = await submitAndWait(c, { yaml: workflows(tag).failed! });
    expect(wf.status?.phase).toBe('Failed');
    const archive = await submitAndWait(c, { from: 'workflowtemplate/strata-archive' }, [
      '-p',
      `namespaces=${c.namespace}`,
      '-p',
      `selector=strata-e2e-run=${tag}`,
    ]);
    expect(archive.status?.phase, archive.status?.message).toBe('Succeeded');
  });

  test('strata-tiering (gc) succeeds', async () => {
    const tiering = await submitAndWait(c, { from: 'cronwf/strata-tiering' });
    expect(tiering.status?.phase, messages(tiering)).toBe('Succeeded');
  });

  test('strata-verify scrubs, picks an archived workflow and drills a restore of it', async () => {
    const verify = await submitAndWait(c, { from: 'cronwf/strata-verify' });
    expect(verify.status?.phase, messages(verify)).toBe('Succeeded');
    expect(nodeOutput(verify, 'pick', 'workflow')).toMatch(/^[0-9a-f]{64}$/);
    const drill = Object.values(verify.status?.nodes ?? {}).find((n) => n.displayName === 'drill');
    expect(drill?.phase).toBe('Succeeded');
  });
});

function messages(wf: Workflow): string {
  return Object.values(wf.status?.nodes ?? {})
    .filter((n) => n.message)
    .map((n) => `${n.displayName}: ${n.message}`)
    .join('\n');
}
