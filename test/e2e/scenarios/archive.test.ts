// Real workflows finish under the real Argo controller, then strata-sweep (the CronWorkflow users install) archives,
// indexes, verifies and finalizes them: labelled, and deleted only where policy says so, only after verification.
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  argo,
  e2eCluster,
  eventually,
  kubectl,
  kubectlJson,
  controllerMetrics,
  metricSample,
  nodeOutput,
  run,
  strata,
  submitAndWait,
  workflowOutput,
  type Workflow,
} from '../support/cluster.ts';
import { E2E_POLICY, EXECUTOR_RBAC, runTag, workflows } from '../support/workflows.ts';

const cluster = e2eCluster();

describe.skipIf(!cluster)('archive under the real controller', () => {
  const c = cluster!;
  const tag = runTag('archive');
  const finished: Record<string, Workflow> = {};
  let sweep: Workflow;

  beforeAll(async () => {
    await kubectl(c, ['apply', '-n', c.namespace, '-f', '-'], { input: EXECUTOR_RBAC + '\n---\n' + E2E_POLICY });
    const all = await Promise.all(
      Object.entries(workflows(tag)).map(async ([key, yaml]) => [key, await submitAndWait(c, { yaml })] as const),
    );
    for (const [key, wf] of all) finished[key] = wf;
  });

  test('a DAG passes parameters between tasks and succeeds', () => {
    const wf = finished.dag!;
    expect(wf.status?.phase, wf.status?.message).toBe('Succeeded');
    expect(nodeOutput(wf, 'report', 'said')).toBe('report after build and test');
  });

  test('steps retry a failing attempt and succeed', () => {
    const wf = finished.retries!;
    expect(wf.status?.phase, wf.status?.message).toBe('Succeeded');
    const attempts = Object.values(wf.status?.nodes ?? {}).filter(
      (n) => n.type === 'Pod' && n.templateName === 'flaky',
    );
    expect(attempts.map((n) => n.phase).sort()).toEqual(['Failed', 'Succeeded']);
  });

  test('a failing step fails the workflow with its exit code', () => {
    const wf = finished.failed!;
    expect(wf.status?.phase).toBe('Failed');
    const node = Object.values(wf.status?.nodes ?? {}).find((n) => n.type === 'Pod');
    expect(node?.message).toMatch(/exit code 3/);
  });

  test('an artifact passes from one step to the next through the artifact repository', () => {
    const wf = finished.artifacts!;
    expect(wf.status?.phase, wf.status?.message).toBe('Succeeded');
    expect(nodeOutput(wf, 'consume', 'seen')).toBe('report line 1');
  });

  describe('strata-sweep', () => {
    beforeAll(async () => {
      // The artifacts workflow's pods are gone (podGC) before it is archived.
      await eventually(`the pods of ${finished.artifacts!.metadata.name} to be deleted`, async () => {
        const selector = `workflows.argoproj.io/workflow=${finished.artifacts!.metadata.name}`;
        const pods = await kubectlJson<{ items: unknown[] }>(c, ['-n', c.namespace, 'get', 'pods', '-l', selector]);
        return pods.items.length === 0 ? true : undefined;
      });
      sweep = await submitAndWait(c, { from: 'cronwf/strata-sweep' }, [], 300);
    });

    test('the sweep succeeds and archives every finished e2e workflow', async () => {
      expect(sweep.status?.phase, JSON.stringify(sweep.status?.nodes, null, 1)?.slice(0, 4000)).toBe('Succeeded');
      const manifests = JSON.parse(workflowOutput(sweep, 'manifests') ?? '[]') as unknown[];
      expect(manifests.length).toBeGreaterThan(0);
    });

    test("the sweep's metrics: its steps write the output parameters, the controller emits argo_workflows_strata_*", async () => {
      // The sweep found the e2e workflows due (archiveAfter 0s) and waiting; its archive pods archived them.
      expect(Number(nodeOutput(sweep, 'assess', 'due-unarchived'))).toBeGreaterThan(0);
      expect(nodeOutput(sweep, 'assess', 'oldest-unarchived-age-seconds')).toMatch(/^\d+$/);
      expect(nodeOutput(sweep, 'verify', 'problems')).toBe('0');
      const manifests = (JSON.parse(workflowOutput(sweep, 'manifests') ?? '[]') as unknown[]).length;
      const text = await controllerMetrics(c, 'argo_workflows_strata_last_success_timestamp_seconds', {
        workflowtemplate: 'strata-archive',
      });
      expect(metricSample(text, 'argo_workflows_strata_archived_workflows_total'), text).toBeGreaterThanOrEqual(
        manifests,
      );
      expect(metricSample(text, 'argo_workflows_strata_archived_bytes_total')).toBeGreaterThan(0);
      expect(metricSample(text, 'argo_workflows_strata_archive_failed_workflows_total')).toBe(0);
      expect(metricSample(text, 'argo_workflows_strata_sweep_due_unarchived_workflows')).toBeGreaterThan(0);
      expect(metricSample(text, 'argo_workflows_strata_sweep_oldest_unarchived_age_seconds')).toBeGreaterThanOrEqual(0);
      expect(metricSample(text, 'argo_workflows_strata_verify_problems', { run: 'sweep' })).toBe(0);
      expect(
        metricSample(text, 'argo_workflows_strata_audit_write_failures_total', { workflowtemplate: 'strata-archive' }),
      ).toBe(0);
      const created = new Date(sweep.metadata.creationTimestamp!).getTime() / 1000;
      expect(
        metricSample(text, 'argo_workflows_strata_last_success_timestamp_seconds', {
          workflowtemplate: 'strata-archive',
        }),
      ).toBe(created);
    });

    test('workflows whose policy deletes the source are gone; the others are labelled archived', async () => {
      for (const key of ['dag', 'artifacts']) {
        const r = await run(c, `${c.bin}/kubectl`, [
          '-n',
          c.namespace,
          'get',
          'workflow',
          finished[key]!.metadata.name,
        ]);
        expect(r.stderr, key).toMatch(/NotFound/);
      }
      for (const key of ['retries', 'failed']) {
        const wf = await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', finished[key]!.metadata.name]);
        expect(wf.metadata.labels?.['strata.dev/archived'], key).toBeTruthy();
      }
    });

    test("a deleted workflow's originals are gone from the artifact repository; a kept one's stay", async () => {
      const s3 = new S3Client({
        endpoint: c.s3Endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' },
      });
      const exists = async (key: string) =>
        s3.send(new HeadObjectCommand({ Bucket: 'argo-artifacts', Key: key })).then(
          () => true,
          (err: { name?: string }) => (err.name === 'NotFound' ? false : Promise.reject(err)),
        );
      const keysOf = (wf: Workflow) =>
        Object.values(wf.status?.nodes ?? {}).flatMap((n) =>
          (n.type === 'Pod' ? (n.outputs?.artifacts ?? []) : []).flatMap((a) => (a.s3?.key ? [a.s3.key] : [])),
        );
      try {
        // Output artifact and archived logs, all read from the bucket (its pods were gone), so all listed.
        const deleted = keysOf(finished.artifacts!);
        expect(deleted.length).toBeGreaterThanOrEqual(3);
        for (const key of deleted) expect(await exists(key), key).toBe(false);
        const kept = keysOf(finished.failed!);
        expect(kept.length).toBeGreaterThan(0);
        for (const key of kept) expect(await exists(key), key).toBe(true);
      } finally {
        s3.destroy();
      }
    });

    test('the archive verifies and the catalog finds every e2e workflow with its logs', async () => {
      const verify = await strata(c, ['verify']);
      expect(verify.code, verify.stderr).toBe(0);
      const index = await strata(c, ['index', '--catalog', `${c.state}/host-catalog.db`]);
      expect(index.code, index.stderr).toBe(0);
      const query = await strata(c, [
        'query',
        '--catalog',
        `${c.state}/host-catalog.db`,
        '--label',
        `strata-e2e-run=${tag}`,
      ]);
      expect(query.code, query.stderr).toBe(0);
      const rows = JSON.parse(query.stdout) as { name: string; incomplete?: boolean }[];
      const found = rows.map((w) => w.name).sort();
      // Its pods were gone: its logs came from the artifact repository Strata's configuration trusts (dev overlay).
      expect(rows.find((w) => w.name === finished.artifacts!.metadata.name)?.incomplete).toBe(false);
      expect(found).toEqual(
        Object.values(finished)
          .map((w) => w.metadata.name)
          .sort(),
      );
      const hit = await strata(c, [
        'search',
        '--catalog',
        `${c.state}/host-catalog.db`,
        '--literal',
        'report after build and test',
      ]);
      expect(hit.code, hit.stderr).toBe(0);
      expect(hit.stdout).toContain(finished.dag!.metadata.name);
    });

    test('a second sweep finds nothing new to archive', async () => {
      const again = await submitAndWait(c, { from: 'cronwf/strata-sweep' }, [], 300);
      expect(again.status?.phase).toBe('Succeeded');
      expect(nodeOutput(again, 'assess', 'selected')).toBe('0');
      await argo(c, ['delete', again.metadata.name]);
    });
  });
});
