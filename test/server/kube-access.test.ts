// The query service in a cluster: callers' tokens checked by TokenReview and every namespace by SubjectAccessReview
// (with the caller's groups) on the (fake) API server — a reader sees only namespaces they may read archives in.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KubeReviewAccess } from '../../server/auth/kube-review.ts';
import { FakeKubeApi, type FakeRule } from '../support/fake-kube-api.ts';
import { startFixture, type Fixture } from './fixture.ts';

const SERVER_ACCOUNT = 'system:serviceaccount:argo:strata-server';

function archives(subject: FakeRule['subject'], verbs: string[], namespace: string): FakeRule {
  return { subject, verbs, apiGroups: ['strata.dev'], resources: ['archives'], namespace };
}

describe('strata serve with TokenReview and SubjectAccessReview', () => {
  const fake = new FakeKubeApi();
  let fx: Fixture;
  let denied: Fixture;

  beforeAll(async () => {
    await fake.start();
    fake.defaultUser = undefined;
    fake.addUser('t-server', { username: SERVER_ACCOUNT });
    fake.addUser('t-unprivileged', { username: 'system:serviceaccount:argo:default' });
    fake.addUser('t-alice', { username: 'alice@corp', groups: ['team-agents'] });
    fake.addUser('t-bob', { username: 'bob@corp', groups: ['finance-auditors'] });
    fake.addUser('t-carol', { username: 'carol@corp' });
    fake.addUser('t-lena', { username: 'lena@corp', groups: ['legal'] });
    // The server's own account may ask who a token is and what its user may do; nothing else.
    fake.grant({
      subject: { user: SERVER_ACCOUNT },
      verbs: ['create'],
      apiGroups: ['authentication.k8s.io'],
      resources: ['tokenreviews'],
    });
    fake.grant({
      subject: { user: SERVER_ACCOUNT },
      verbs: ['create'],
      apiGroups: ['authorization.k8s.io'],
      resources: ['subjectaccessreviews'],
    });
    // alice through her group (strata-viewer bound to a group in agents), bob's group may only list finance.
    fake.grant(archives({ group: 'team-agents' }, ['get', 'list'], 'agents'));
    fake.grant(archives({ group: 'finance-auditors' }, ['list'], 'finance'));
    // The strata-legal ClusterRole bound in agents: holds get/list/create/delete, extensions create.
    fake.grant(archives({ group: 'legal' }, ['get', 'list'], 'agents'));
    fake.grant({ ...archives({ group: 'legal' }, ['create', 'delete'], 'agents'), resources: ['holds'] });
    fake.grant({ ...archives({ group: 'legal' }, ['create'], 'agents'), resources: ['extensions'] });
    const access = new KubeReviewAccess({ server: fake.url, token: 't-server' });
    fx = await startFixture({ authenticator: access, authorizer: access });
    const unprivileged = new KubeReviewAccess({ server: fake.url, token: 't-unprivileged' });
    denied = await startFixture({ authenticator: unprivileged, authorizer: unprivileged, onInternalError: () => {} });
  });
  afterAll(async () => {
    await fx.close();
    await denied.close();
    await fake.stop();
  });

  const get = (f: Fixture, path: string, token: string) =>
    fetch(`${f.base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const json = async (res: Response) =>
    (await res.json()) as Record<string, unknown> & {
      items?: { namespace: string; name: string }[];
      hits?: { namespace: string }[];
    };

  test('an unknown token is 401: the API server, not the request, says who it is', async () => {
    expect((await get(fx, '/api/v1/workflows', 'forged')).status).toBe(401);
  });

  test('a reader sees only namespaces their groups may read archives in', async () => {
    const alice = await json(await get(fx, '/api/v1/workflows', 't-alice'));
    expect(alice.items!.map((w) => w.namespace)).toEqual(['agents', 'agents', 'agents']);
    const bob = await json(await get(fx, '/api/v1/workflows', 't-bob'));
    expect(bob.items!.map((w) => w.name)).toEqual(['wf-4']);
    const carol = await json(await get(fx, '/api/v1/workflows', 't-carol'));
    expect(carol.items).toEqual([]);
    expect((await get(fx, '/api/v1/workflows?namespace=finance', 't-alice')).status).toBe(403);
    // The reviews asked were about the caller, with their groups.
    const reviews = fake.requests.filter((r) => r.path.endsWith('/subjectaccessreviews'));
    expect(reviews.every((r) => r.user === SERVER_ACCOUNT)).toBe(true);
  });

  test("search never returns another tenant's hits; a workflow outside the reader's namespaces is 404 (403 if they may list it)", async () => {
    const alice = await json(await get(fx, '/api/v1/search?q=segfault', 't-alice'));
    expect(alice.hits!.length).toBeGreaterThan(0);
    expect(alice.hits!.every((h) => h.namespace === 'agents')).toBe(true);
    const carol = await json(await get(fx, '/api/v1/search?q=segfault', 't-carol'));
    expect(carol.hits).toEqual([]);
    expect((await get(fx, `/api/v1/workflows/${fx.ids['wf-4']}`, 't-alice')).status).toBe(404);
    expect((await get(fx, `/api/v1/workflows/${fx.ids['wf-4']}`, 't-bob')).status).toBe(403);
    expect((await get(fx, `/api/v1/workflows/${fx.ids['wf-1']}`, 't-alice')).status).toBe(200);
  });

  test('a server whose account may not ask shows nothing (fails closed)', async () => {
    const res = await get(denied, '/api/v1/workflows', 't-alice');
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(JSON.stringify(await res.json())).not.toContain('wf-');
  });

  test('holds are asked as the CLI asks: create/delete holds, create extensions, in the workflow namespace', async () => {
    const post = (path: string, token: string, body: unknown) =>
      fetch(`${fx.base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const wf = fx.ids['wf-3']!;
    expect((await post(`/api/v1/workflows/${wf}/holds`, 't-alice', { id: 'k1', reason: 'r' })).status).toBe(403);
    expect((await post(`/api/v1/workflows/${wf}/holds`, 't-lena', { id: 'k1', reason: 'r' })).status).toBe(201);
    expect((await post(`/api/v1/workflows/${wf}/holds/k1/release`, 't-alice', { reason: 'done' })).status).toBe(403);
    expect((await post(`/api/v1/workflows/${wf}/holds/k1/release`, 't-lena', { reason: 'done' })).status).toBe(200);
    const until = new Date(Date.now() + 86_400_000).toISOString();
    expect((await post(`/api/v1/workflows/${wf}/extensions`, 't-alice', { id: 'e1', reason: 'r', until })).status).toBe(
      403,
    );
    expect((await post(`/api/v1/workflows/${wf}/extensions`, 't-lena', { id: 'e1', reason: 'r', until })).status).toBe(
      201,
    );
    // Nothing granted in finance: the same 404 as a workflow that is not there.
    expect((await post(`/api/v1/workflows/${fx.ids['wf-4']}/holds`, 't-lena', { id: 'k2', reason: 'r' })).status).toBe(
      404,
    );
  });
});
