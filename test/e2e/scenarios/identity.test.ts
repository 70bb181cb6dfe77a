// Legal hold and emergency deletion through Argo, by people the API server authenticates (static tokens): admission
// pins the requester to the submitter, and Strata's steps ask the API server what that person may do.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  e2eCluster,
  finishedWorkflow,
  kubectl,
  nodeOutput,
  run,
  strata,
  submitAndWait,
  token,
  type E2eCluster,
  type Workflow,
} from '../support/cluster.ts';
import { E2E_POLICY, EXECUTOR_RBAC, runTag, workflows } from '../support/workflows.ts';

const cluster = e2eCluster();
type Person = 'alice' | 'bob' | 'carol' | 'mallory';

/** A kubeconfig that is the person: their bearer token from the API server's static token file. */
function kubeconfigOf(c: E2eCluster, who: Person): string {
  const file = join(c.state, `kubeconfig-${who}`);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: "${c.apiServer}", certificate-authority: "${c.caFile}"}}]
users: [{name: ${who}, user: {token: "${token(c, who)}"}}]
contexts: [{name: ${who}, context: {cluster: e2e, user: ${who}, namespace: ${c.namespace}}}]
current-context: ${who}
`,
  );
  return file;
}

/** What people need to submit Strata's templates at all (Argo's own RBAC), granting nothing on strata.dev. */
const SUBMITTERS = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: e2e-submitter}
rules:
  - apiGroups: [argoproj.io]
    resources: [workflows]
    verbs: [create, get, list, watch]
  - apiGroups: [argoproj.io]
    resources: [workflowtemplates]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: e2e-submitter}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: e2e-submitter}
subjects:
  - {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
  - {kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}
  - {kind: User, name: carol, apiGroup: rbac.authorization.k8s.io}
  - {kind: User, name: mallory, apiGroup: rbac.authorization.k8s.io}
---
# Restoring is granted to a group (every e2e person is in strata-e2e-users), never to carol by name.
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: e2e-group-restorer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: strata-restorer}
subjects: [{kind: Group, name: strata-e2e-users, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: e2e-alice-legal}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: strata-legal}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: e2e-bob-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: strata-admin}
subjects: [{kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: e2e-alice-approver}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: strata-approver}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: e2e-alice-approvals}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: strata-approver}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
`;

describe.skipIf(!cluster)('legal hold and emergency deletion, as people', () => {
  const c = cluster!;
  let archived: Workflow;
  let holdId: string;

  /** `argo submit --from workflowtemplate/<template>` as a person; the finished workflow, or the refusal. */
  async function submitAs(
    who: Person,
    template: string,
    params: Record<string, string>,
  ): Promise<{ refused?: string; workflow?: Workflow }> {
    const args = Object.entries(params).flatMap(([k, v]) => ['-p', `${k}=${v}`]);
    const env = { KUBECONFIG: kubeconfigOf(c, who) };
    const r = await run(
      c,
      join(c.bin, 'argo'),
      ['-n', c.namespace, 'submit', '-o', 'name', '--from', `workflowtemplate/${template}`, ...args],
      {
        env,
      },
    );
    if (r.code !== 0) return { refused: r.stderr };
    return { workflow: await finishedWorkflow(c, r.stdout.trim().split('/').pop()!) };
  }

  beforeAll(async () => {
    await kubectl(c, ['apply', '-n', c.namespace, '-f', '-'], {
      input: `${EXECUTOR_RBAC}\n---\n${E2E_POLICY}\n---\n${SUBMITTERS}`,
    });
    const tag = runTag('identity');
    const wf = await submitAndWait(c, { yaml: workflows(tag).failed! });
    const archive = await submitAndWait(c, { from: 'workflowtemplate/strata-archive' }, [
      '-p',
      `namespaces=${c.namespace}`,
      '-p',
      `selector=strata-e2e-run=${tag}`,
    ]);
    expect(archive.status?.phase, archive.status?.message).toBe('Succeeded');
    archived = wf;
  });

  test('admission refuses a requester other than the submitter', async () => {
    const r = await submitAs('mallory', 'strata-legal-hold', {
      action: 'set',
      uid: archived.metadata.uid,
      reason: 'pretending',
      requester: 'alice',
    });
    expect(r.refused).toMatch(/requester parameter of strata-legal-hold must be your own username, "mallory"/);
  });

  test('a refused hold is not retried: exit 4 ends the step at once (docs/e2e.md item 7)', async () => {
    const r = await submitAs('mallory', 'strata-legal-hold', {
      action: 'set',
      uid: archived.metadata.uid,
      reason: 'no grant',
      requester: 'mallory',
    });
    expect(r.workflow?.status?.phase).toBe('Failed');
    expect(messages(r.workflow)).toMatch(/mallory may not create holds\.strata\.dev/);
    const pods = Object.values(r.workflow?.status?.nodes ?? {}).filter((n) => n.type === 'Pod');
    expect(pods.map((n) => n.outputs?.exitCode)).toEqual(['4']);
  });

  test('a person without strata.dev permission is refused by the step (SubjectAccessReview), and it says so', async () => {
    const r = await submitAs('mallory', 'strata-emergency-delete', {
      uid: archived.metadata.uid,
      reason: 'no grant',
      requester: 'mallory',
      'dry-run': 'false',
    });
    expect(r.workflow?.status?.phase).toBe('Failed');
    expect(messages(r.workflow)).toMatch(/mallory may not create emergencydeletions\.strata\.dev/);
  });

  test('admission refuses requester-groups naming a group that is not the submitter’s', async () => {
    const r = await submitAs('carol', 'strata-restore', {
      workflow: archived.metadata.uid,
      requester: 'carol',
      'requester-groups': 'system:masters',
    });
    expect(r.refused).toMatch(/requester-groups parameter of strata-restore may name only your own groups/);
  });

  test('carol restores through her group’s RoleBinding: the step asks with the groups admission checked', async () => {
    const r = await submitAs('carol', 'strata-restore', {
      workflow: archived.metadata.uid,
      requester: 'carol',
      'requester-groups': 'strata-e2e-users',
    });
    expect(r.workflow?.status?.phase, messages(r.workflow)).toBe('Succeeded');
  });

  test('alice (strata-legal) sets a legal hold', async () => {
    const r = await submitAs('alice', 'strata-legal-hold', {
      action: 'set',
      uid: archived.metadata.uid,
      reason: 'case 2026-17',
      requester: 'alice',
    });
    const wf = r.workflow;
    expect(wf?.status?.phase, messages(wf)).toBe('Succeeded');
    holdId = nodeOutput(wf!, 'set', 'hold') ?? '';
    expect(holdId).not.toBe('');
  });

  test('bob (strata-admin) cannot emergency-delete a held workflow without break-glass', async () => {
    const r = await submitAs('bob', 'strata-emergency-delete', {
      uid: archived.metadata.uid,
      reason: 'INC-1 leaked token',
      requester: 'bob',
      'dry-run': 'false',
    });
    const wf = r.workflow;
    expect(wf?.status?.phase).toBe('Failed');
    expect(messages(wf)).toMatch(/hold/i);
    const still = await strata(c, ['restore', archived.metadata.uid, '--path', 'workflow.json']);
    expect(still.code, still.stderr).toBe(0);
  });

  test('alice releases the hold; then bob emergency-deletes the archive and the workflow', async () => {
    const released = await submitAs('alice', 'strata-legal-hold', {
      action: 'release',
      uid: archived.metadata.uid,
      hold: holdId,
      reason: 'case closed',
      requester: 'alice',
    });
    const rel = released.workflow;
    expect(rel?.status?.phase, messages(rel)).toBe('Succeeded');

    const unapproved = await submitAs('bob', 'strata-emergency-delete', {
      uid: archived.metadata.uid,
      reason: 'INC-1 leaked token',
      requester: 'bob',
      'dry-run': 'false',
    });
    expect(unapproved.workflow?.status?.phase).toBe('Failed');
    expect(messages(unapproved.workflow)).toMatch(/not approved/);

    // The second person approves as herself (docs/security.md): an approval admission pins to alice.
    const approved = await strata(
      c,
      [
        'approve',
        'emergency-delete',
        archived.metadata.uid,
        '-n',
        c.namespace,
        '--requested-by',
        'bob',
        '--reason',
        'INC-1 leaked token',
      ],
      { STRATA_KUBE_SERVER: c.apiServer, STRATA_KUBE_TOKEN: token(c, 'alice'), STRATA_IDENTITY: 'cluster' },
    );
    expect(approved.code, approved.stderr).toBe(0);

    const r = await submitAs('bob', 'strata-emergency-delete', {
      uid: archived.metadata.uid,
      reason: 'INC-1 leaked token',
      requester: 'bob',
      'dry-run': 'false',
    });
    const wf = r.workflow;
    expect(wf?.status?.phase, messages(wf)).toBe('Succeeded');
    const gone = await strata(c, ['restore', archived.metadata.uid, '--path', 'workflow.json']);
    expect(gone.code).not.toBe(0);
    const cluster = await run(c, join(c.bin, 'kubectl'), [
      '-n',
      c.namespace,
      'get',
      'workflow',
      archived.metadata.name,
    ]);
    expect(cluster.stderr).toMatch(/NotFound/);
  });
});

function messages(wf: Workflow | undefined): string {
  return Object.values(wf?.status?.nodes ?? {})
    .filter((n) => n.message)
    .map((n) => `${n.displayName}: ${n.message}`)
    .join('\n');
}
