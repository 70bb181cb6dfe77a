// A second person's approval through the API on a cluster: the approver is who TokenReview says, their permission is
// asked by SubjectAccessReview (`create approvals.strata.dev` in the workflow's namespace), and the approval ConfigMap
// is created with the approver's own token, so Strata's admission policy (enforced by the fake API server) pins it to
// them and refuses the requester; the extension is written once the core finds the approval among the ConfigMaps.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { APPROVAL_LABEL, KubeApprovals, kubeConfigAs } from '../../lib/identity/kube-approvals.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { plainKubeConfig } from '../../lib/kube/client.ts';
import { presentedTokens } from '../../server/auth/access.ts';
import { KubeReviewAccess } from '../../server/auth/kube-review.ts';
import { enforceStrataAdmission } from '../support/admission.ts';
import { FakeKubeApi, type FakeRule } from '../support/fake-kube-api.ts';
import { startFixture, type Fixture } from './fixture.ts';

const SERVER_ACCOUNT = 'system:serviceaccount:argo:strata-server';

function rule(
  user: string,
  verbs: string[],
  resources: string[],
  namespace: string | undefined,
  apiGroup = 'strata.dev',
): FakeRule {
  return { subject: { user }, verbs, apiGroups: [apiGroup], resources, ...(namespace !== undefined && { namespace }) };
}

describe('approving a pending extension through the API on a cluster', () => {
  const fake = new FakeKubeApi();
  let fx: Fixture;
  let wf: string;

  beforeAll(async () => {
    await fake.start();
    fake.defaultUser = undefined;
    fake.clock = () => new Date();
    enforceStrataAdmission(fake);
    fake.enforceRbac = true;
    fake.addUser('t-server', { username: SERVER_ACCOUNT });
    fake.addUser('t-lena', { username: 'lena@corp' });
    fake.addUser('t-judge', { username: 'judge@corp' });
    fake.addUser('t-mallory', { username: 'mallory@corp' });
    fake.addUser('t-newbie', { username: 'newbie@corp' });
    for (const [group, resource] of [
      ['authentication.k8s.io', 'tokenreviews'],
      ['authorization.k8s.io', 'subjectaccessreviews'],
    ] as const)
      fake.grant(rule(SERVER_ACCOUNT, ['create'], [resource], undefined, group));
    fake.grant(rule(SERVER_ACCOUNT, ['get', 'list'], ['configmaps'], 'argo', ''));
    // The requester: may read and extend in agents, and may approve there too (but never her own request).
    fake.grant(rule('lena@corp', ['get', 'list'], ['archives'], 'agents'));
    fake.grant(rule('lena@corp', ['create'], ['extensions', 'approvals'], 'agents'));
    fake.grant(rule('lena@corp', ['create'], ['configmaps'], 'argo', ''));
    // The approver (strata-approver bound in agents, and its Role in Strata's namespace).
    fake.grant(rule('judge@corp', ['get'], ['archives'], 'agents'));
    fake.grant(rule('judge@corp', ['create'], ['approvals'], 'agents'));
    fake.grant(rule('judge@corp', ['create'], ['configmaps'], 'argo', ''));
    // An approver bound in agents but without the Role in Strata's namespace: the cluster refuses their ConfigMap.
    fake.grant(rule('newbie@corp', ['get'], ['archives'], 'agents'));
    fake.grant(rule('newbie@corp', ['create'], ['approvals'], 'agents'));
    // Another tenant's approver.
    fake.grant(rule('mallory@corp', ['get', 'list'], ['archives'], 'finance'));
    fake.grant(rule('mallory@corp', ['create'], ['approvals'], 'finance'));
    fake.grant(rule('mallory@corp', ['create'], ['configmaps'], 'argo', ''));

    const access = new KubeReviewAccess({ server: fake.url, token: 't-server' });
    const serverConfig = plainKubeConfig(fake.url, 't-server');
    fx = await startFixture({
      authenticator: access,
      authorizer: access,
      extendApprovalBeyond: '1y',
      approvals: async () => new KubeApprovals(serverConfig, 'argo'),
      approvalsAs: async (approver) =>
        new KubeApprovals(kubeConfigAs(serverConfig, presentedTokens.get(approver)!), 'argo'),
    });
    wf = fx.ids['wf-1']!;
  });
  afterAll(async () => {
    await fx?.close();
    await fake.stop();
  });

  const call = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${fx.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  /** The approval ConfigMaps in Strata's namespace, as the server's account lists them. */
  const approvalConfigMaps = async () => {
    const res = await fetch(`${fake.url}/api/v1/namespaces/argo/configmaps`, {
      headers: { authorization: 'Bearer t-server' },
    });
    const list = (await res.json()) as { items: KubeObject[] };
    return list.items.filter((cm) => cm.metadata.labels?.[APPROVAL_LABEL] !== undefined);
  };

  test('created as the approver (admission pins them); never by the requester; another tenant gets a 404', async () => {
    const until = new Date(Date.now() + 2 * 365 * 86_400_000).toISOString();
    const asked = await call('POST', `/api/v1/workflows/${wf}/extensions`, 't-lena', {
      id: 'ext-audit',
      reason: 'SOX audit 2027',
      until,
    });
    expect(asked.status).toBe(202);
    const approve = (token: string) => call('POST', `/api/v1/workflows/${wf}/extensions/ext-audit/approve`, token);

    const own = await approve('t-lena');
    expect(own.status).toBe(403);
    expect(((await own.json()) as { error: { message: string } }).error.message).toMatch(/another person approves/);
    expect((await approve('t-mallory')).status).toBe(404);
    const refused = await approve('t-newbie');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /the cluster refused newbie@corp's approval: .*HTTP 403/,
    );
    expect(await approvalConfigMaps()).toEqual([]);

    const approved = await approve('t-judge');
    expect(approved.status).toBe(201);
    const { extension } = (await approved.json()) as {
      extension: { actor: string; approval: { name: string; approver: string } };
    };
    expect(extension).toMatchObject({ actor: 'lena@corp', approval: { approver: 'judge@corp' } });
    const [cm, ...more] = await approvalConfigMaps();
    expect(more).toEqual([]);
    expect(cm!.metadata.name).toBe(extension.approval.name);
    expect(cm!.data).toMatchObject({ approver: 'judge@corp', requester: 'lena@corp', namespace: 'agents' });
    // Again: the same extension, no second ConfigMap.
    expect((await approve('t-judge')).status).toBe(200);
    expect(await approvalConfigMaps()).toHaveLength(1);
  });

  test("the server's own account cannot make an approval: admission refuses it", async () => {
    const asServer = new KubeApprovals(plainKubeConfig(fake.url, 't-server'), 'argo');
    await expect(
      asServer.create({
        action: 'extend',
        workflow: '00000000-0000-0000-0000-000000000001',
        namespace: 'agents',
        reason: 'x',
        requester: 'lena@corp',
        approver: 'judge@corp',
        expires: new Date(Date.now() + 3_600_000),
        until: new Date(Date.now() + 3 * 365 * 86_400_000),
      }),
    ).rejects.toThrow(/403|Forbidden|forbidden|approver/);
  });
});
