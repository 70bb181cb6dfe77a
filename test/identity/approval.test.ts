// Two-person approval as a second authenticated act: the approver creates an approval object as themselves, admission
// (Strata's shipped policy, enforced by the fake API server) pins it to them, and the act checks it is bound to the
// exact request, by someone else, unexpired. Before: `--approver` was a string compared to the requester.
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { archiveBundle } from '../../lib/archive/index.ts';
import { auditRecords as storedAuditRecords } from '../../lib/audit/store-log.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { approvalDigest, approvalProblem, samePerson, type Approval } from '../../lib/identity/approval.ts';
import { approvalConfigMap } from '../../lib/identity/kube-approvals.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { bundleOf, tempRepository } from '../archive/fixtures.ts';
import { admissionDenials, enforceStrataAdmission, strataAdmissionPolicies } from '../support/admission.ts';
import { FakeKubeApi, type FakeRule } from '../support/fake-kube-api.ts';
import { runCli } from '../support/run-cli.ts';

const UID_A = '33333333-aaaa-4aaa-8aaa-000000000003';
const UID_B = '44444444-bbbb-4bbb-8bbb-000000000004';
const UID_C = '55555555-cccc-4ccc-8ccc-000000000005';
const REASON = 'INC-42 leaked token';
const HOUR = 3_600_000;

const approvalsPolicy = strataAdmissionPolicies().find((p) => p.name === 'strata-approvals')!;

function rule(
  user: string,
  verbs: string[],
  resources: string[],
  namespace?: string,
  apiGroup = 'strata.dev',
): FakeRule {
  return { subject: { user }, verbs, apiGroups: [apiGroup], resources, namespace };
}

/** An approval as `approver` would store it, for the pure checks. */
function approval(over: Partial<Approval> = {}): Approval {
  const a = {
    action: 'emergency-delete' as const,
    workflow: UID_A,
    reason: REASON,
    requester: 'oncall@corp',
    approver: 'ciso@corp',
    namespace: 'team-a',
    breakGlass: false,
    created: new Date('2026-01-01T00:00:00Z'),
    expires: new Date('2026-01-01T04:00:00Z'),
    name: 'strata-approval-x',
    ...over,
  };
  return { ...a, digest: over.digest ?? approvalDigest(a) };
}

const request = { action: 'emergency-delete' as const, workflow: UID_A, reason: REASON, requester: 'oncall@corp' };
const AT = new Date('2026-01-01T01:00:00Z');

describe('an approval approves one request, by someone else, until it expires', () => {
  test('a valid approval', () => {
    expect(approvalProblem(approval(), { ...request, namespace: 'team-a' }, AT)).toBeUndefined();
  });

  test.each([
    ['another reason', { reason: 'other' }, /different request/],
    ['another workflow', { workflow: UID_B }, /different request/],
    ['break-glass not approved', { breakGlass: true }, /different request/],
    ['another requester', { requester: 'mallory@corp' }, /different request/],
  ])('refused: %s', (_what, change, message) => {
    expect(approvalProblem(approval(), { ...request, ...change }, AT)).toMatch(message);
  });

  test('refused: expired, lasting more than 7 days, another namespace, the label not the content', () => {
    expect(approvalProblem(approval(), request, new Date('2026-01-01T04:00:00Z'))).toMatch(/expired/);
    expect(approvalProblem(approval({ expires: new Date('2026-01-09T00:00:00Z') }), request, AT)).toMatch(
      /more than 7 days/,
    );
    expect(approvalProblem(approval(), { ...request, namespace: 'team-b' }, AT)).toMatch(/namespace team-a/);
    expect(approvalProblem(approval({ digest: approvalDigest({ ...request, reason: 'x' }) }), request, AT)).toMatch(
      /different request/,
    );
  });

  test('refused: self-approval, in any case', () => {
    const self = approval({ approver: 'OnCall@Corp' });
    expect(approvalProblem(self, request, AT)).toMatch(/by the requester/);
  });
});

/** The admission request of `username` creating this approval ConfigMap in Strata's namespace. */
function creating(username: string, cm: object) {
  return {
    operation: 'CREATE' as const,
    namespace: 'argo',
    object: cm,
    oldObject: null,
    userInfo: { username },
  };
}

/** Usernames that differ from each other ignoring case are different people. */
const username = fc.stringMatching(/^[A-Za-z][A-Za-z0-9.@:-]{0,20}$/);
const caseVariant = (name: string, flips: boolean[]) =>
  [...name].map((c, i) => (flips[i % Math.max(flips.length, 1)] ? c.toUpperCase() : c.toLowerCase())).join('');

describe('property: no single identity both requests and approves', () => {
  const mayApprove = () => true; // the authorizer allows: only identity decides below

  fcTest.prop([username, fc.array(fc.boolean(), { minLength: 1 }), fc.string({ minLength: 1, maxLength: 30 })])(
    'an approval of your own request is refused by admission and on use, whatever the case',
    (who, flips, reason) => {
      const requester = caseVariant(who, flips);
      const body = approvalConfigMap(
        { ...approval(), requester, approver: who, reason, expires: new Date(Date.now() + HOUR) },
        'argo',
      );
      expect(admissionDenials(approvalsPolicy, creating(who, body), mayApprove)).toContain(
        'you cannot approve your own request; another person approves',
      );
      const stored = approval({ requester, approver: who, reason });
      expect(approvalProblem(stored, { ...request, requester, reason }, AT)).toMatch(/by the requester/);
    },
  );

  fcTest.prop([username, username])(
    'an approval naming someone else than its creator as approver is refused by admission',
    (creator, named) => {
      fc.pre(creator !== named);
      const body = approvalConfigMap(
        { ...approval(), requester: 'oncall@corp', approver: named, expires: new Date(Date.now() + HOUR) },
        'argo',
      );
      expect(admissionDenials(approvalsPolicy, creating(creator, body), mayApprove).join('\n')).toMatch(
        /the approver of an approval must be you/,
      );
    },
  );

  fcTest.prop([username, username])('a different person who may approve is admitted', (requester, approver) => {
    fc.pre(!samePerson(requester, approver) && !approver.startsWith('system:serviceaccount:argo:strata-'));
    const body = approvalConfigMap(
      { ...approval(), requester, approver, expires: new Date(Date.now() + HOUR) },
      'argo',
    );
    expect(admissionDenials(approvalsPolicy, creating(approver, body), mayApprove)).toEqual([]);
  });
});

describe('approvals on the (fake) cluster, through the CLI', () => {
  const fake = new FakeKubeApi();
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let store: string[];

  beforeAll(async () => {
    await fake.start();
    fake.defaultUser = undefined;
    fake.clock = () => new Date();
    enforceStrataAdmission(fake);
    fake.addUser('t-oncall', { username: 'oncall@corp' });
    fake.addUser('t-oncall-upper', { username: 'OnCall@corp' });
    fake.addUser('t-ciso', { username: 'ciso@corp' });
    fake.addUser('t-mallory', { username: 'mallory@corp' });
    fake.addUser('t-legal', { username: 'legal@corp' });
    fake.addUser('t-archiver', { username: 'system:serviceaccount:argo:strata-archiver' });
    fake.grant(rule('oncall@corp', ['create'], ['emergencydeletions'], 'team-a'));
    fake.grant(rule('legal@corp', ['create'], ['extensions'], 'team-a'));
    for (const approver of ['ciso@corp', 'OnCall@corp']) {
      fake.grant(rule(approver, ['create'], ['approvals'], 'team-a'));
      // Role strata-approver in Strata's namespace: create ConfigMaps (admission lets only approvals through).
      fake.grant(rule(approver, ['create'], ['configmaps'], 'argo', ''));
    }
    fake.grant(rule('mallory@corp', ['create'], ['configmaps'], 'argo', ''));
    fake.grant(rule('oncall@corp', ['create'], ['configmaps'], 'argo', ''));
    fake.grant(
      rule(
        'system:serviceaccount:argo:strata-archiver',
        ['create'],
        ['subjectaccessreviews'],
        undefined,
        'authorization.k8s.io',
      ),
    );
    repo = await tempRepository();
    store = ['--store', `file:${repo.root}`, '-o', 'json'];
    for (const uid of [UID_A, UID_B, UID_C]) {
      const b = bundleOf(uid, [{ path: 'logs/main.log', data: Buffer.from(`log of ${uid}\n`) }]);
      await archiveBundle(repo.repo, {
        ...b,
        namespace: 'team-a',
        workflow: { ...b.workflow, metadata: { name: b.name, namespace: 'team-a', uid } },
      });
    }
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
    vi.stubEnv('STRATA_NAMESPACE', 'argo');
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    return runCli([...args, ...store]);
  }

  const approve = (token: string, uid: string, extra: string[] = [], reason = REASON) =>
    as(token, [
      'approve',
      'emergency-delete',
      uid,
      '-n',
      'team-a',
      '--requested-by',
      'oncall@corp',
      '--reason',
      reason,
      ...extra,
    ]);
  const deleteAs = (token: string, uid: string, extra: string[] = []) =>
    as(token, ['emergency-delete', uid, '--reason', REASON, '--no-cluster', '--settle', '0s', ...extra]);

  /** Creates an object as the token's user, straight through the API (what kubectl create would do). */
  async function createAs(token: string, body: object): Promise<{ status: number; message: string }> {
    const res = await fetch(`${fake.url}/api/v1/namespaces/argo/configmaps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, message: ((await res.json()) as { message?: string }).message ?? '' };
  }

  const approvalFor = (approver: string, over: Partial<Approval> = {}) =>
    approvalConfigMap(
      {
        action: 'emergency-delete',
        workflow: UID_A,
        namespace: 'team-a',
        reason: REASON,
        requester: 'oncall@corp',
        approver,
        breakGlass: false,
        expires: new Date(Date.now() + HOUR),
        ...over,
      },
      'argo',
    );

  test('without an approval the deletion is refused, and --approver is refused on a cluster', async () => {
    const none = await deleteAs('t-oncall', UID_A);
    expect(none.code).toBe(4);
    expect(none.err).toMatch(/not approved: no approval of emergency-delete/);
    expect(none.err).toMatch(/strata approve emergency-delete/);

    const named = await deleteAs('t-oncall', UID_A, ['--approver', 'ciso@corp']);
    expect(named.code).toBe(2);
    expect(named.err).toMatch(/--approver "ciso@corp": under a cluster identity/);

    const records: Record<string, unknown>[] = [];
    for await (const r of storedAuditRecords(new FileSystemStore(repo.root))) records.push(r as never);
    expect(records).toContainEqual(
      expect.objectContaining({ action: 'emergency-delete', actor: 'oncall@corp', outcome: 'refused' }),
    );
  });

  test('the requester cannot approve, in any case, through the CLI or the API', async () => {
    const own = await approve('t-oncall', UID_A);
    expect(own.code).toBe(4);
    expect(own.err).toMatch(/oncall@corp cannot approve their own request/);

    const upper = await approve('t-oncall-upper', UID_A);
    expect(upper.code).toBe(4);
    expect(upper.err).toMatch(/cannot approve their own request/);

    const direct = await createAs('t-oncall-upper', approvalFor('OnCall@corp'));
    expect(direct.status).toBe(403);
    expect(direct.message).toMatch(/you cannot approve your own request/);
  });

  test('nobody approves in someone else’s name, nor without the permission to approve', async () => {
    const forged = await createAs('t-oncall', approvalFor('ciso@corp'));
    expect(forged.status).toBe(403);
    expect(forged.message).toMatch(/the approver of an approval must be you, "oncall@corp"/);

    const stranger = await approve('t-mallory', UID_A);
    expect(stranger.code).toBe(4);
    expect(stranger.err).toMatch(/mallory@corp may not create approvals\.strata\.dev in namespace team-a/);
    const strangerDirect = await createAs('t-mallory', approvalFor('mallory@corp'));
    expect(strangerDirect.status).toBe(403);
    expect(strangerDirect.message).toMatch(/may not create approvals\.strata\.dev in namespace team-a/);

    const notApproval = await createAs('t-mallory', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'strata-policy-evil', labels: { 'strata.dev/policy': 'x' } },
      data: { retention: '0' },
    });
    expect(notApproval.status).toBe(403);
    expect(notApproval.message).toMatch(/ConfigMaps other than approvals/);
    expect((await deleteAs('t-oncall', UID_A)).code).toBe(4);
  });

  test('an approval of another request, or an expired one, approves nothing; an approval cannot be edited', async () => {
    const other = await approve('t-ciso', UID_A, [], 'something else');
    expect(other.code).toBe(0);
    expect((await deleteAs('t-oncall', UID_A)).err).toMatch(/no approval of emergency-delete/);

    // Made earlier (put straight into the store, as if created two hours ago) and expired since.
    const old = approvalFor('ciso@corp', { expires: new Date(Date.now() - HOUR) });
    fake.put({
      ...(old as KubeObject),
      metadata: {
        ...(old.metadata as KubeObject['metadata']),
        name: old.metadata!.generateName! + 'old',
        creationTimestamp: new Date(Date.now() - 2 * HOUR).toISOString(),
      },
    });
    const expired = await deleteAs('t-oncall', UID_A);
    expect(expired.code).toBe(4);
    expect(expired.err).toMatch(/expired at/);

    const name = old.metadata!.generateName! + 'old';
    const edit = await fetch(`${fake.url}/api/v1/namespaces/argo/configmaps/${name}`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer t-ciso', 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ data: { expires: new Date(Date.now() + HOUR).toISOString() } }),
    });
    expect(edit.status).toBe(422); // immutable; and admission refuses any change to an approval
    const relabel = await fetch(`${fake.url}/api/v1/namespaces/argo/configmaps/${name}`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer t-ciso', 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { labels: { 'strata.dev/approval': 'another-request' } } }),
    });
    expect(relabel.status).toBe(403);
  });

  test('another person’s approval of exactly this request lets it through, audited with the verified approver', async () => {
    const ok = await approve('t-ciso', UID_A, ['--expires-in', '2h']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ approver: 'ciso@corp', requester: 'oncall@corp', workflow: UID_A });

    const glass = await deleteAs('t-oncall', UID_A, ['--break-glass']);
    expect(glass.code).toBe(4); // break-glass is a different request (and a permission oncall lacks)

    const done = await deleteAs('t-oncall', UID_A);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.out)).toMatchObject({ refused: false, deletedManifests: 1 });
    const records: Record<string, unknown>[] = [];
    for await (const r of storedAuditRecords(new FileSystemStore(repo.root))) records.push(r as never);
    expect(records).toContainEqual(
      expect.objectContaining({
        action: 'emergency-delete',
        actor: 'oncall@corp',
        verified: true,
        outcome: 'ok',
        approver: 'ciso@corp',
        details: expect.objectContaining({
          approverVerified: true,
          approval: expect.stringMatching(/^strata-approval-/),
        }),
      }),
    );
  });

  test('a Strata step acting for its submitter finds the approval of the submitter’s request', async () => {
    const trust = { STRATA_TRUST_REQUESTER_FROM: 'system:serviceaccount:argo:strata-archiver' };
    const before = await deleteAs('t-archiver', UID_B, ['--requester', 'oncall@corp']);
    expect(before.code).toBe(2); // not trusted without configuration
    const refused = await as(
      't-archiver',
      ['emergency-delete', UID_B, '--reason', REASON, '--no-cluster', '--settle', '0s', '--requester', 'oncall@corp'],
      trust,
    );
    expect(refused.code).toBe(4);
    expect(refused.err).toMatch(/not approved/);
    expect((await approve('t-ciso', UID_B)).code).toBe(0);
    const done = await as(
      't-archiver',
      ['emergency-delete', UID_B, '--reason', REASON, '--no-cluster', '--settle', '0s', '--requester', 'oncall@corp'],
      trust,
    );
    expect(done.code).toBe(0);
  });

  test('an extension beyond the limit needs an approval of at least that long; a shorter one does not', async () => {
    const extend = (dur: string) =>
      as('t-legal', ['extend', UID_C, '--for', dur, '--reason', 'litigation'], { STRATA_EXTEND_APPROVAL_BEYOND: '1y' });
    expect((await extend('6mo')).code).toBe(0);
    const long = await extend('3y');
    expect(long.code).toBe(4);
    expect(long.err).toMatch(/beyond 1y from now needs another person's approval/);

    const approveExtend = (dur: string) =>
      as('t-ciso', [
        'approve',
        'extend',
        UID_C,
        '-n',
        'team-a',
        '--requested-by',
        'legal@corp',
        '--reason',
        'litigation',
        '--for',
        dur,
      ]);
    expect((await approveExtend('2y')).code).toBe(0);
    expect((await extend('3y')).code).toBe(4); // approved until 2y only
    expect((await approveExtend('4y')).code).toBe(0);
    const ok = await extend('3y');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ approval: { approver: 'ciso@corp' } });
    const exts = await new HoldRepository(new FileSystemStore(repo.root)).listExtensions(UID_C);
    expect(exts.some((e) => e.approval?.approver === 'ciso@corp')).toBe(true);
  });
});
