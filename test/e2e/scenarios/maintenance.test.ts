// The tiering and verify CronWorkflows run once each under the real controller, over an archive with something in it.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  controllerMetrics,
  e2eCluster,
  kubectl,
  metricSample,
  nodeOutput,
  submitAndWait,
  type Workflow,
} from '../support/cluster.ts';
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
    // Its metrics, as Argo's controller emits them from the steps' output parameters (docs/metrics.md).
    const created = new Date(tiering.metadata.creationTimestamp!).getTime() / 1000;
    const text = await controllerMetrics(c, 'argo_workflows_strata_last_success_timestamp_seconds', {
      workflowtemplate: 'strata-tiering',
    });
    expect(
      metricSample(text, 'argo_workflows_strata_last_success_timestamp_seconds', {
        workflowtemplate: 'strata-tiering',
      }),
    ).toBeGreaterThanOrEqual(created);
    expect(metricSample(text, 'argo_workflows_strata_holds_active')).toBeGreaterThanOrEqual(0);
    expect(metricSample(text, 'argo_workflows_strata_held_workflows')).toBeGreaterThanOrEqual(0);
    expect(
      metricSample(text, 'argo_workflows_strata_audit_write_failures_total', { workflowtemplate: 'strata-tiering' }),
    ).toBe(0);
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
    // The same as metrics at the controller (what the alerts in templates/components/alerts read).
    const text = await controllerMetrics(c, 'argo_workflows_strata_last_success_timestamp_seconds', {
      workflowtemplate: 'strata-verify',
    });
    expect(metricSample(text, 'argo_workflows_strata_scrub_coverage_ratio')).toBeGreaterThan(0);
    expect(metricSample(text, 'argo_workflows_strata_scrub_overdue_packs')).toBe(0);
    expect(metricSample(text, 'argo_workflows_strata_scrub_corrupt_packs')).toBe(0);
    expect(metricSample(text, 'argo_workflows_strata_verify_problems', { run: 'scrub' })).toBe(0);
    expect(metricSample(text, 'argo_workflows_strata_drill_passed_workflows')).toBe(1);
    expect(metricSample(text, 'argo_workflows_strata_drill_failed_workflows')).toBe(0);
    expect(
      metricSample(text, 'argo_workflows_strata_audit_write_failures_total', { workflowtemplate: 'strata-verify' }),
    ).toBe(0);
  });
});

function messages(wf: Workflow): string {
  return Object.values(wf.status?.nodes ?? {})
    .filter((n) => n.message)
    .map((n) => `${n.displayName}: ${n.message}`)
    .join('\n');
}
