// Two-person approval under the real API server: the shipped admission policy (strata-approvals) pins an approval to
// whoever creates it, refuses self-approval (any case), approvals without the permission, edits, and other ConfigMaps
// from approvers; `strata approve` as bob is found by alice's emergency-delete. People are the static-token users.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempRepository } from '../../archive/fixtures.ts';
import { e2eCluster, run, strata, token, type E2eCluster } from '../support/cluster.ts';

const cluster = e2eCluster();
// A fresh uid each run: a reused cluster keeps the approvals of earlier runs.
const UID = randomUUID();
const REASON = 'E2E-1 leaked token';

function approvalManifest(over: Record<string, string>): string {
  const data = {
    action: 'emergency-delete',
    workflow: UID,
    namespace: 'argo',
    reason: REASON,
    requester: 'alice',
    approver: 'bob',
    breakGlass: 'false',
    expires: new Date(Date.now() + 3_600_000).toISOString(),
    ...over,
  };
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      generateName: 'strata-approval-e2e-',
      labels: { 'strata.dev/approval': '0123456789abcdef0123456789abcdef01234567' },
    },
    immutable: true,
    data,
  });
}

describe.skipIf(!cluster)('two-person approval under the real admission policy', () => {
  const c = cluster!;

  /** kubectl as one of the static-token users (no kubeconfig credentials). */
  const as = (c: E2eCluster, user: 'alice' | 'bob' | 'mallory', args: string[], input?: string) =>
    run(
      c,
      `${c.bin}/kubectl`,
      [
        '--kubeconfig=/dev/null',
        `--server=${c.apiServer}`,
        `--certificate-authority=${c.caFile}`,
        `--token=${token(c, user)}`,
        '-n',
        c.namespace,
        ...args,
      ],
      input === undefined ? undefined : { input },
    );
  // An empty repository of its own: the approval is what is under test, not the pipeline's store.
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  const strataAs = (user: 'alice' | 'bob', args: string[]) =>
    strata(c, args, {
      STRATA_KUBE_SERVER: c.apiServer,
      STRATA_KUBE_TOKEN: token(c, user),
      STRATA_IDENTITY: 'cluster',
      STRATA_STORE: `file:${repo.root}`,
    });
  afterAll(() => repo?.cleanup());

  beforeAll(async () => {
    repo = await tempRepository();
    const bind = async (args: string[]) => {
      const r = await run(c, `${c.bin}/kubectl`, args);
      if (r.code !== 0 && !/already exists/i.test(r.stderr)) throw new Error(r.stderr);
    };
    // Everyone may write ConfigMaps in Strata's namespace (Role strata-approver); only bob may approve there.
    await bind([
      '-n',
      c.namespace,
      'create',
      'rolebinding',
      'e2e-approver-cm',
      '--role=strata-approver',
      '--user=alice',
      '--user=bob',
      '--user=mallory',
    ]);
    await bind([
      '-n',
      c.namespace,
      'create',
      'rolebinding',
      'e2e-approver',
      '--clusterrole=strata-approver',
      '--user=bob',
    ]);
    await bind(['create', 'clusterrolebinding', 'e2e-alice-admin', '--clusterrole=strata-admin', '--user=alice']);
  });

  test('the requester cannot approve, in any case; nobody approves as someone else', async () => {
    const own = await as(
      c,
      'alice',
      ['create', '-f', '-'],
      approvalManifest({ requester: 'Alice', approver: 'alice' }),
    );
    expect(own.stderr).toMatch(/you cannot approve your own request/);
    const forged = await as(
      c,
      'alice',
      ['create', '-f', '-'],
      approvalManifest({ requester: 'carol', approver: 'bob' }),
    );
    expect(forged.stderr).toMatch(/the approver of an approval must be you, "alice"/);
  });

  test('without the permission to approve, nothing; and approvers write no other ConfigMap', async () => {
    const stranger = await as(c, 'mallory', ['create', '-f', '-'], approvalManifest({ approver: 'mallory' }));
    expect(stranger.stderr).toMatch(/you may not create approvals\.strata\.dev in namespace argo/);
    const policy = await as(c, 'mallory', ['create', 'configmap', 'strata-policy-evil', '--from-literal=retention=0']);
    expect(policy.stderr).toMatch(
      /only Strata's administrators and ServiceAccounts write ConfigMaps other than approvals/,
    );
  });

  test('bob approves alice’s request with strata approve; it cannot be edited; alice’s dry run finds it', async () => {
    const none = await strataAs('alice', ['emergency-delete', UID, '--reason', REASON, '--no-cluster', '--dry-run']);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stderr).toMatch(/needs an approval: no approval of emergency-delete/);

    const own = await strataAs('alice', [
      'approve',
      'emergency-delete',
      UID,
      '-n',
      'argo',
      '--requested-by',
      'alice',
      '--reason',
      REASON,
    ]);
    expect(own.code).toBe(4); // refused: the requester cannot approve their own request;

    const approved = await strataAs('bob', [
      'approve',
      'emergency-delete',
      UID,
      '-n',
      'argo',
      '--requested-by',
      'alice',
      '--reason',
      REASON,
    ]);
    expect(approved.code, approved.stderr).toBe(0);
    const name = (JSON.parse(approved.stdout) as { name: string }).name;
    const edit = await run(c, `${c.bin}/kubectl`, [
      '-n',
      c.namespace,
      'label',
      'configmap',
      name,
      'strata.dev/approval=other',
      '--overwrite',
    ]);
    expect(edit.stderr).toMatch(/an approval cannot be changed/);

    const found = await strataAs('alice', ['emergency-delete', UID, '--reason', REASON, '--no-cluster', '--dry-run']);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stderr).toMatch(/approved by bob/);
  });
});
