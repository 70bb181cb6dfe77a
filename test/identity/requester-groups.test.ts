// A Strata step acting for its submitter asks SubjectAccessReview with the submitter's groups as admission checked
// them (the `requester-groups` parameter, templates/base/admission-policies.yaml), so Roles bound to groups apply.
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { archiveBundle } from '../../lib/archive/index.ts';
import { auditRecords as storedAuditRecords } from '../../lib/audit/store-log.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { bundleOf, tempRepository } from '../archive/fixtures.ts';
import { admissionDenials, strataAdmissionPolicies } from '../support/admission.ts';
import { FakeKubeApi } from '../support/fake-kube-api.ts';
import { runCli } from '../support/run-cli.ts';

const STRATA = 'strata.dev';
const UID_B = '22222222-bbbb-4bbb-8bbb-000000000002';

async function auditRecords(root: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const r of storedAuditRecords(new FileSystemStore(root)))
    out.push(r as unknown as Record<string, unknown>);
  return out;
}

describe('the requester’s groups', () => {
  const fake = new FakeKubeApi();
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let store: string[];

  beforeAll(async () => {
    await fake.start();
    fake.defaultUser = undefined;
    fake.addUser('t-operator', { username: 'system:serviceaccount:argo:strata-operator' });
    fake.grant({
      subject: { user: 'system:serviceaccount:argo:strata-operator' },
      verbs: ['create'],
      apiGroups: ['authorization.k8s.io'],
      resources: ['subjectaccessreviews'],
    });
    // Alice may restore in team-b only through her group's binding.
    fake.grant({
      subject: { group: 'restorers-b' },
      verbs: ['create'],
      apiGroups: [STRATA],
      resources: ['restores'],
      namespace: 'team-b',
    });
    repo = await tempRepository();
    store = ['--store', `file:${repo.root}`, '-o', 'json'];
    const b = bundleOf(UID_B, [{ path: 'logs/main.log', data: Buffer.from(`log of ${UID_B}\n`) }]);
    await archiveBundle(repo.repo, {
      ...b,
      namespace: 'team-b',
      workflow: { ...b.workflow, metadata: { name: b.name, namespace: 'team-b', uid: UID_B } },
    });
  });
  afterAll(async () => {
    await fake.stop();
    repo.cleanup();
  });
  afterEach(() => vi.unstubAllEnvs());

  async function as(token: string, args: string[], env: Record<string, string> = {}) {
    vi.stubEnv('STRATA_KUBE_SERVER', fake.url);
    vi.stubEnv('STRATA_KUBE_TOKEN', token);
    vi.stubEnv('STRATA_ACTOR', '');
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    return runCli([...args, ...store]);
  }

  test('the requester’s groups, as admission checked them, are asked along: a group RoleBinding applies', async () => {
    const trust = { STRATA_TRUST_REQUESTER_FROM: 'system:serviceaccount:argo:strata-operator' };
    const restoreB = ['restore', UID_B, '--path', 'logs/main.log', '--requester', 'alice@corp'];
    const withoutGroups = await as('t-operator', [...restoreB, '--requester-groups='], trust);
    expect(withoutGroups.code).not.toBe(0);
    expect(withoutGroups.err).toMatch(/alice@corp may not create restores\.strata\.dev in namespace team-b/);

    const before = fake.requests.length;
    const withGroups = await as('t-operator', [...restoreB, '--requester-groups=team-a,restorers-b'], trust);
    expect(withGroups.err).not.toMatch(/may not/);
    expect(withGroups.code).toBe(0);
    const reviews = fake.requests.slice(before).filter((r) => r.path.endsWith('/subjectaccessreviews'));
    expect(reviews.length).toBeGreaterThan(0);
    const restores = (await auditRecords(repo.root)).filter((r) => r.action === 'restore');
    expect(restores.at(-1)).toMatchObject({ actor: 'alice@corp', verified: true });

    // Groups belong to a requester: never on their own, never for the step's own account.
    const alone = await as('t-operator', [
      'restore',
      UID_B,
      '--path',
      'logs/main.log',
      '--requester-groups=restorers-b',
    ]);
    expect(alone.code).toBe(2);
    expect(alone.err).toMatch(/--requester-groups without --requester/);
  });

  test('thaw (the restore template’s first step, and a cost) needs the requester’s restore permission too', async () => {
    const trust = { STRATA_TRUST_REQUESTER_FROM: 'system:serviceaccount:argo:strata-operator' };
    const thaw = ['thaw', UID_B, '--requester', 'alice@corp'];
    const refused = await as('t-operator', [...thaw, '--requester-groups='], trust);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/alice@corp may not create restores\.strata\.dev in namespace team-b/);
    const allowed = await as('t-operator', [...thaw, '--requester-groups=restorers-b'], trust);
    expect(allowed.err).not.toMatch(/may not/);
    expect(allowed.code).toBe(0);
  });

  test('admission: requester-groups may name only the submitter’s own groups, and cannot change', () => {
    const workflows = strataAdmissionPolicies().find((p) => p.name === 'strata-workflows')!;
    const submit = (groups: string | undefined) => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'r', namespace: 'argo' },
      spec: {
        workflowTemplateRef: { name: 'strata-restore' },
        arguments: {
          parameters: [
            { name: 'requester', value: 'alice@corp' },
            ...(groups === undefined ? [] : [{ name: 'requester-groups', value: groups }]),
          ],
        },
      },
    });
    const alice = { username: 'alice@corp', groups: ['team-a', 'restorers-b', 'system:authenticated'] };
    const create = (groups: string | undefined) =>
      admissionDenials(workflows, {
        operation: 'CREATE',
        namespace: 'argo',
        object: submit(groups),
        oldObject: null,
        userInfo: alice,
      });
    expect(create(undefined)).toEqual([]);
    expect(create('')).toEqual([]);
    expect(create('restorers-b')).toEqual([]);
    expect(create('team-a,restorers-b')).toEqual([]);
    expect(create('legal').join('\n')).toMatch(/may name only your own groups/);
    expect(create('restorers-b,legal').join('\n')).toMatch(/may name only your own groups/);
    expect(create('team-a, restorers-b').join('\n')).toMatch(/may name only your own groups/);
    const update = admissionDenials(workflows, {
      operation: 'UPDATE',
      namespace: 'argo',
      object: submit('team-a,legal'),
      oldObject: submit('team-a'),
      userInfo: alice,
    });
    expect(update.join('\n')).toMatch(/requester-groups parameter of a Strata workflow cannot change/);
  });
});
