// `strata watch`, as the dev overlay's strata-watch Deployment runs it, archives and finalizes a workflow as soon as
// it completes under the real controller.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  e2eCluster,
  eventually,
  kubectl,
  kubectlJson,
  strata,
  submitAndWait,
  type Workflow,
} from '../support/cluster.ts';
import { E2E_POLICY, EXECUTOR_RBAC, runTag, workflows } from '../support/workflows.ts';

const cluster = e2eCluster();

interface PodList {
  items: { metadata: { name: string }; status?: { phase?: string } }[];
}

describe.skipIf(!cluster)('strata watch', () => {
  const c = cluster!;
  const watchPods = () =>
    kubectlJson<PodList>(c, ['-n', c.namespace, 'get', 'pods', '-l', 'app.kubernetes.io/component=watch']);

  beforeAll(async () => {
    await kubectl(c, ['apply', '-n', c.namespace, '-f', '-'], { input: EXECUTOR_RBAC + '\n---\n' + E2E_POLICY });
    await kubectl(c, ['-n', c.namespace, 'scale', 'deployment', 'strata-watch', '--replicas=1']);
    await eventually('the strata-watch pod to run', async () =>
      (await watchPods()).items.find((p) => p.status?.phase === 'Running'),
    );
  });

  afterAll(async () => {
    await kubectl(c, ['-n', c.namespace, 'scale', 'deployment', 'strata-watch', '--replicas=0']);
    await eventually('the strata-watch pod to go', async () => ((await watchPods()).items.length ? undefined : true));
  });

  test('a workflow is archived and labelled as soon as it finishes', async () => {
    const wf = await submitAndWait(c, { yaml: workflows(runTag('watch')).failed! });
    expect(wf.status?.phase).toBe('Failed');
    const labelled = await eventually(
      `${wf.metadata.name} to be labelled strata.dev/archived`,
      async () => {
        const now = await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', wf.metadata.name]);
        return now.metadata.labels?.['strata.dev/archived'] ? now : undefined;
      },
      90,
    );
    const manifest = labelled.metadata.annotations?.['strata.dev/manifest'];
    expect(manifest).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest!.startsWith(labelled.metadata.labels!['strata.dev/archived']!)).toBe(true);
    const restored = await strata(c, ['restore', manifest!, '--path', 'workflow.json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout).metadata.uid).toBe(wf.metadata.uid);
  });
});
