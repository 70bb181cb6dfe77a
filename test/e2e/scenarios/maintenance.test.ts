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

  test('strata-verify scrubs its share of packs and drills a restore of an archived workflow', async () => {
    const verify = await submitAndWait(c, { from: 'cronwf/strata-verify' });
    expect(verify.status?.phase, messages(verify)).toBe('Succeeded');
    // The output parameters metrics read: a first scrub reads its share (at least one pack), none overdue.
    expect(Number(nodeOutput(verify, 'scrub', 'packs-read'))).toBeGreaterThan(0);
    expect(Number(nodeOutput(verify, 'scrub', 'scrub-coverage'))).toBeGreaterThan(0);
    expect(nodeOutput(verify, 'scrub', 'scrub-overdue')).toBe('0');
    expect(nodeOutput(verify, 'scrub', 'corrupt-packs')).toBe('0');
    const drill = Object.values(verify.status?.nodes ?? {}).find((n) => n.displayName === 'drill');
    expect(drill?.phase).toBe('Succeeded');
    expect(nodeOutput(verify, 'drill', 'drill-passed')).toBe('1');
    expect(nodeOutput(verify, 'drill', 'drill-failed')).toBe('0');
  });
});

function messages(wf: Workflow): string {
  return Object.values(wf.status?.nodes ?? {})
    .filter((n) => n.message)
    .map((n) => `${n.displayName}: ${n.message}`)
    .join('\n');
}
