// A second person's approval through the API in embedded mode (token file, ABAC `approve`): an extension past the
// limit waits as a pending request until another verified caller approves it as their own act; the approval is
// stored where the core's findApproval finds it, the extension is then in force and the policy's schedule follows.
// The requester cannot approve themselves, and another tenant's approver sees nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { findApproval } from '../../lib/identity/approval.ts';
import { APPROVALS_PREFIX, StoreApprovals } from '../../lib/identity/store-approvals.ts';
import { loadPolicySet } from '../../lib/policy/index.ts';
import { call as callApi, servedContract, type ServedContract } from './served-contract.ts';
import { sha, startFixture, type Fixture } from './fixture.ts';

const ACCESS = `
users:
  - { username: lena, tokenSha256: ${sha('lena-token')} }
  - { username: judge, tokenSha256: ${sha('judge-token')} }
  - { username: alice, tokenSha256: ${sha('alice-token')} }
  - { username: mallory, tokenSha256: ${sha('mallory-token')} }
rules:
  - { user: lena, verbs: [get, list, extend, approve], namespaces: [agents] }
  - { user: judge, verbs: [get, approve], namespaces: [agents] }
  - { user: alice, verbs: [get, list], namespaces: [agents] }
  - { user: mallory, verbs: ["*"], namespaces: [finance] }
`;

const POLICY = `
apiVersion: strata.dev/v1alpha1
kind: RetentionPolicy
metadata: { name: short }
spec:
  rules:
    - { name: all, priority: 1, match: "true", timeline: { hot: 7d, cold: rest }, retainFor: 30d }
`;

let f: Fixture;
let wf: string;
let uid: string;
let contract: ServedContract;

beforeAll(async () => {
  // No `approvals` given: the server keeps approvals in the archive store, as `strata serve --access-file` does.
  f = await startFixture(
    { policySet: loadPolicySet([{ name: 'p.yaml', text: POLICY }]).policySet, extendApprovalBeyond: '1y' },
    ACCESS,
  );
  contract = await servedContract(f.base);
  wf = f.ids['wf-2']!;
  uid = '00000000-0000-0000-0000-000000000002';
});
afterAll(async () => {
  await f?.close();
});
beforeEach(() => {
  f.audit.length = 0;
});

const call = (method: 'GET' | 'POST', path: string, token?: string, body?: unknown) =>
  callApi(f.base, method, path, token, body);

const checked = (res: Response, route: string, method: 'get' | 'post') => contract.checked(res, route, method);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are checked by schema elsewhere
const json = (res: Response): Promise<any> => res.json();
const EXTENSIONS = '/api/v1/workflows/{manifestId}/extensions';
const APPROVE = '/api/v1/workflows/{manifestId}/extensions/{extensionId}/approve';
const REJECT = '/api/v1/workflows/{manifestId}/extensions/{extensionId}/reject';
const APPROVALS = '/api/v1/approvals';

const until = new Date(Date.now() + 3 * 365 * 86_400_000);
until.setUTCMilliseconds(0);
const UNTIL = until.toISOString();

async function explained(token = 'lena-token') {
  const res = await call('GET', `/api/v1/workflows/${wf}/policy`, token);
  expect(res.status).toBe(200);
  return (await json(res)) as { extendedUntil?: string; schedule: { deleteOn: string }; reasons: string[] };
}

async function storedApprovals(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of f.store.list(APPROVALS_PREFIX)) keys.push(o.key);
  return keys;
}

describe('approving an extension past the limit (embedded mode)', () => {
  test('pending until another verified caller approves it; then in force, and the schedule follows', async () => {
    const before = await explained();
    expect(before.extendedUntil).toBeUndefined();
    expect(Date.parse(before.schedule.deleteOn)).toBeLessThan(Date.parse(UNTIL));

    const asked = await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', {
      id: 'ext-court',
      reason: 'court order 12',
      until: UNTIL,
    });
    expect(asked.status).toBe(202);
    expect((await checked(asked, EXTENSIONS, 'post')).pending).toMatchObject({
      id: 'ext-court',
      requester: 'lena',
      state: 'pending',
      namespace: 'agents',
      manifestId: wf,
    });
    // The id is the request's: the same again is a 200, another reason under it a 409.
    const same = { id: 'ext-court', reason: 'court order 12', until: UNTIL };
    expect((await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', same)).status).toBe(200);
    const other = { ...same, reason: 'court order 13' };
    expect((await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', other)).status).toBe(409);
    // A pending request keeps nothing.
    expect((await explained()).extendedUntil).toBeUndefined();

    // Approvers of the namespace see it; a caller who may not approve there sees nothing, and naming it is a 403.
    const listed = await checked(await call('GET', `${APPROVALS}?namespace=agents`, 'judge-token'), APPROVALS, 'get');
    expect(listed.items).toEqual([
      expect.objectContaining({ id: 'ext-court', workflowUid: uid, requester: 'lena', until: UNTIL, state: 'pending' }),
    ]);
    expect((await json(await call('GET', APPROVALS, 'alice-token'))).items).toEqual([]);
    expect((await call('GET', `${APPROVALS}?namespace=agents`, 'alice-token')).status).toBe(403);
    expect((await json(await call('GET', APPROVALS, 'mallory-token'))).items).toEqual([]);

    // The requester approving their own request: 403, audited, nothing stored.
    f.audit.length = 0;
    const own = await call('POST', `/api/v1/workflows/${wf}/extensions/ext-court/approve`, 'lena-token');
    expect(own.status).toBe(403);
    expect((await checked(own, APPROVE, 'post')).error.message).toBe(
      'lena requested extension ext-court: another person approves it',
    );
    expect(f.audit).toMatchObject([{ action: 'approve', outcome: 'refused', actor: 'lena', verified: true }]);
    expect(await storedApprovals()).toEqual([]);

    // Another tenant's approver: the same 404 as a workflow that does not exist; a reader who may not approve: 403.
    const foreign = await call('POST', `/api/v1/workflows/${wf}/extensions/ext-court/approve`, 'mallory-token');
    const missingId = `${wf.slice(0, -4)}0000` === wf ? `${wf.slice(0, -4)}1111` : `${wf.slice(0, -4)}0000`;
    const missing = await call('POST', `/api/v1/workflows/${missingId}/extensions/ext-court/approve`, 'mallory-token');
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect((await json(foreign)).error.message).toBe(
      ((await json(missing)).error.message as string).replace(missingId, wf),
    );
    expect((await call('POST', `/api/v1/workflows/${wf}/extensions/ext-court/approve`, 'alice-token')).status).toBe(
      403,
    );
    expect((await call('POST', `/api/v1/workflows/${wf}/extensions/no-such/approve`, 'judge-token')).status).toBe(404);
    expect(await storedApprovals()).toEqual([]);

    f.audit.length = 0;
    const approved = await call('POST', `/api/v1/workflows/${wf}/extensions/ext-court/approve`, 'judge-token');
    expect(approved.status).toBe(201);
    expect((await checked(approved, APPROVE, 'post')).extension).toMatchObject({
      id: 'ext-court',
      actor: 'lena',
      actorVerified: true,
      until: UNTIL,
      approval: { approver: 'judge' },
    });
    // The approver's act and the extension it allowed, each audited with its own verified actor.
    expect(f.audit.map((r) => [r.action, r.outcome, r.actor, r.approver])).toEqual([
      ['approve', 'started', 'judge', undefined],
      ['approve', 'ok', 'judge', undefined],
      ['extend', 'started', 'lena', 'judge'],
      ['extend', 'ok', 'lena', 'judge'],
    ]);
    expect(f.audit[1]).toMatchObject({ verified: true, details: { authenticatedBy: 'token-file' } });

    // Stored where the core looks for approvals, and it approves exactly this request by the core's own rule.
    expect(await storedApprovals()).toHaveLength(1);
    const found = await findApproval(
      new StoreApprovals(f.store),
      { action: 'extend', workflow: uid, reason: 'court order 12', requester: 'lena', namespace: 'agents', until },
      new Date(),
    );
    expect(found).toMatchObject({ approval: { approver: 'judge', requester: 'lena' } });

    // Idempotent: approving again is the same extension, and no second approval.
    const again = await call('POST', `/api/v1/workflows/${wf}/extensions/ext-court/approve`, 'judge-token');
    expect(again.status).toBe(200);
    expect((await json(again)).extension.approval.approver).toBe('judge');
    expect(await storedApprovals()).toHaveLength(1);
    expect((await json(await call('GET', APPROVALS, 'judge-token'))).items).toEqual([]);

    // The retention outcome: kept until the approved date.
    const after = await explained();
    expect(after.extendedUntil).toBe(UNTIL);
    expect(Date.parse(after.schedule.deleteOn)).toBeGreaterThanOrEqual(Date.parse(UNTIL));
    // The requester sending the same request again now gets the extension in force.
    const resent = await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', {
      id: 'ext-court',
      reason: 'court order 12',
      until: UNTIL,
    });
    expect(resent.status).toBe(200);
    expect((await json(resent)).extension.approval.approver).toBe('judge');
  });

  test('a rejected request can no longer be approved; rejecting is audited and idempotent', async () => {
    const later = new Date(until.getTime() + 86_400_000).toISOString();
    const request = { id: 'ext-maybe', reason: 'just in case', until: later };
    expect((await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', request)).status).toBe(202);
    const rejected = await call('POST', `/api/v1/workflows/${wf}/extensions/ext-maybe/reject`, 'judge-token', {
      reason: 'no case number',
    });
    expect(rejected.status).toBe(200);
    expect(await checked(rejected, REJECT, 'post')).toMatchObject({
      state: 'rejected',
      rejection: { by: 'judge', reason: 'no case number' },
    });
    expect(f.audit.at(-1)).toMatchObject({ action: 'reject', outcome: 'ok', actor: 'judge', verified: true });
    const twice = await call('POST', `/api/v1/workflows/${wf}/extensions/ext-maybe/reject`, 'judge-token', {
      reason: 'no case number',
    });
    expect(twice.status).toBe(200);
    const approve = await call('POST', `/api/v1/workflows/${wf}/extensions/ext-maybe/approve`, 'judge-token');
    expect(approve.status).toBe(409);
    expect((await json(approve)).error.message).toMatch(/rejected by judge/);
    expect((await json(await call('GET', APPROVALS, 'judge-token'))).items).toEqual([]);
    const resent = await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', request);
    expect(resent.status).toBe(200);
    expect((await json(resent)).pending).toMatchObject({ state: 'rejected' });
    expect((await explained()).extendedUntil).toBe(UNTIL);
  });
});
