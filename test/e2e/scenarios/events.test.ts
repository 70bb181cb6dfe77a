// The WorkflowEventBinding path: an event posted to argo-server's events endpoint (`argo server`, client auth mode)
// submits strata-archive through the shipped binding `strata-archive-now`, with the caller's own token, and the
// finished workflow it names is archived and finalized.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  e2eCluster,
  finishedWorkflow,
  kubectl,
  kubectlJson,
  submitAndWait,
  token,
  type E2eCluster,
  type Workflow,
} from '../support/cluster.ts';
import { E2E_POLICY, EXECUTOR_RBAC, runTag, workflows } from '../support/workflows.ts';

const cluster = e2eCluster();

/** The caller: a service account bound to the Role the binding ships for its callers. */
const REQUESTER = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: e2e-events}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: e2e-events}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: strata-archive-requester}
subjects: [{kind: ServiceAccount, name: e2e-events}]
`;

interface WorkflowList {
  items: (Workflow & { spec?: { arguments?: { parameters?: { name: string; value?: string }[] } } })[];
}

/** POSTs an event as a bearer token; answers the HTTP status and body. */
async function postEvent(c: E2eCluster, bearer: string, discriminator: string, payload: unknown) {
  const res = await fetch(`${c.argoServer}/api/v1/events/${c.namespace}/${discriminator}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return { status: res.status, body: await res.text() };
}

/** The strata-archive workflows the binding submitted whose selector argument names this run. */
async function submittedFor(c: E2eCluster, tag: string): Promise<WorkflowList['items']> {
  const list = await kubectlJson<WorkflowList>(c, [
    '-n',
    c.namespace,
    'get',
    'workflows',
    '-l',
    'workflows.argoproj.io/workflow-event-binding=strata-archive-now',
  ]);
  return list.items.filter((wf) =>
    wf.spec?.arguments?.parameters?.some((p) => p.name === 'selector' && p.value === `strata-e2e-run=${tag}`),
  );
}

describe.skipIf(!cluster)('the strata-archive-now event binding, through argo-server', () => {
  const c = cluster!;
  let requester: string;

  beforeAll(async () => {
    await kubectl(c, ['apply', '-n', c.namespace, '-f', '-'], {
      input: [EXECUTOR_RBAC, E2E_POLICY, REQUESTER].join('\n---\n'),
    });
    requester = (await kubectl(c, ['-n', c.namespace, 'create', 'token', 'e2e-events'])).trim();
  });

  test('an event archives the finished workflow it names; the workflow is labelled archived', async () => {
    const tag = runTag('event');
    const wf = await submitAndWait(c, { yaml: workflows(tag).failed! });
    expect(wf.status?.phase).toBe('Failed');

    // argo-server dispatches synchronously (no --event-async-dispatch): a failed submission is the response.
    const sent = await postEvent(c, requester, 'strata-archive-now', {
      namespace: c.namespace,
      selector: `strata-e2e-run=${tag}`,
    });
    expect(sent.status, sent.body).toBe(200);
    const [archive, ...more] = await submittedFor(c, tag);
    expect(more).toEqual([]);
    expect(archive?.metadata.labels?.['strata.dev/trigger']).toBe('event');

    const done = await finishedWorkflow(c, archive!.metadata.name);
    expect(
      done.status?.phase,
      JSON.stringify(Object.values(done.status?.nodes ?? {}).map((n) => [n.displayName, n.phase, n.message])),
    ).toBe('Succeeded');
    const labelled = await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', wf.metadata.name]);
    expect(labelled.metadata.labels?.['strata.dev/archived']).toBeTruthy();
    expect(labelled.metadata.annotations?.['strata.dev/manifest']).toMatch(/^[0-9a-f]{64}$/);
  });

  test('an event without a namespace matches nothing and submits nothing', async () => {
    const tag = runTag('event-none');
    const sent = await postEvent(c, requester, 'strata-archive-now', { selector: `strata-e2e-run=${tag}` });
    expect(sent.status, sent.body).toBe(200);
    // Dispatch finished before the response: nothing can appear later.
    expect(await submittedFor(c, tag)).toEqual([]);
  });

  test('a caller without the requester Role is refused and submits nothing', async () => {
    const tag = runTag('event-refused');
    const sent = await postEvent(c, token(c, 'carol'), 'strata-archive-now', {
      namespace: c.namespace,
      selector: `strata-e2e-run=${tag}`,
    });
    expect(sent.status).toBe(403);
    expect(sent.body).toMatch(/forbidden/i);
    expect(await submittedFor(c, tag)).toEqual([]);
  });
});
