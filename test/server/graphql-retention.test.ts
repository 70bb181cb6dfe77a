// GraphQL over a workflow's retention: hold/extension mutations as the verified caller's audited act, and the
// Workflow.policy, .timeline, .auditEvents and .holds relations — the same checks as REST, never another tenant's data.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { loadPolicySet } from '../../lib/policy/index.ts';
import { sha, startFixture, type Fixture } from './fixture.ts';

const ACCESS = `
users:
  - { username: alice, tokenSha256: ${sha('alice-token')} }
  - { username: lena, tokenSha256: ${sha('lena-token')} }
  - { username: judge, tokenSha256: ${sha('judge-token')} }
  - { username: mallory, tokenSha256: ${sha('mallory-token')} }
  - { username: bob, groups: [finance-auditors], tokenSha256: ${sha('bob-token')} }
rules:
  - { user: alice, verbs: [get, list], namespaces: [agents] }
  - { user: lena, verbs: [get, list, hold, release-hold, extend, approve], namespaces: [agents] }
  - { user: judge, verbs: [get, approve], namespaces: [agents] }
  - { user: mallory, verbs: ["*"], namespaces: [finance] }
  - { group: finance-auditors, verbs: [list], namespaces: [agents] }
`;

const POLICY = `
apiVersion: strata.dev/v1alpha1
kind: RetentionPolicy
metadata: { name: test }
spec:
  rules:
    - { name: all, priority: 1, match: "true", timeline: { hot: 7d, cold: rest }, retainFor: 5y }
`;

let f: Fixture;
let wf: string;
beforeAll(async () => {
  f = await startFixture({ policySet: loadPolicySet([{ name: 'p.yaml', text: POLICY }]).policySet }, ACCESS, {
    storeAudit: true,
  });
  wf = f.ids['wf-1']!;
});
afterAll(() => f.close());
beforeEach(() => {
  f.audit.length = 0;
});

interface GqlBody {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- shapes are the query's
  data?: any;
  errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown[] }>;
}

async function gql(query: string, token: string) {
  const res = await fetch(`${f.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as GqlBody };
}

const setHold = (manifestId: string, id: string, reason = 'litigation') =>
  `mutation { setHold(manifestId: "${manifestId}", id: "${id}", reason: "${reason}") {
     created storeLocks hold { id actor actorVerified reason releasedBy } } }`;

describe('hold mutations', () => {
  test('401 without a token; setHold as the verified caller, audited, idempotent; 409 for another reason', async () => {
    expect((await gql(setHold(wf, 'g1'), '')).status).toBe(401);
    const first = await gql(setHold(wf, 'g1'), 'lena-token');
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.setHold).toMatchObject({
      created: true,
      hold: { id: 'g1', actor: 'lena', actorVerified: true, reason: 'litigation', releasedBy: null },
    });
    expect(f.audit.map((r) => [r.action, r.outcome, r.actor, r.verified])).toEqual([
      ['hold-set', 'started', 'lena', true],
      ['hold-set', 'ok', 'lena', true],
    ]);
    const again = await gql(setHold(wf, 'g1'), 'lena-token');
    expect(again.body.data.setHold).toMatchObject({ created: false, hold: first.body.data.setHold.hold });
    const conflict = await gql(setHold(wf, 'g1', 'other'), 'lena-token');
    expect(conflict.body.errors?.[0]?.extensions).toMatchObject({ status: 409 });
  });

  test('403 (audited) for who sees but may not hold; the same 404 across tenants; bad ids are 400', async () => {
    const denied = await gql(setHold(wf, 'g2'), 'alice-token');
    expect(denied.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(f.audit).toMatchObject([{ action: 'hold-set', outcome: 'refused', actor: 'alice' }]);
    const hidden = await gql(setHold(wf, 'g2'), 'mallory-token');
    expect(hidden.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(hidden.body.errors?.[0]?.message).toBe(`no archived workflow with manifest id ${wf}`);
    const bad = await gql(setHold(wf, '../g'), 'lena-token');
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ status: 400 });
    const badId = await gql(setHold('nope', 'g'), 'lena-token');
    expect(badId.body.errors?.[0]?.extensions).toMatchObject({ status: 400 });
  });

  test('releaseHold and addExtension', async () => {
    const release = await gql(
      `mutation { releaseHold(manifestId: "${wf}", holdId: "g1", reason: "closed") { created hold { releasedBy releaseReason } } }`,
      'lena-token',
    );
    expect(release.body.data.releaseHold).toEqual({
      created: null,
      hold: { releasedBy: 'lena', releaseReason: 'closed' },
    });
    const until = new Date(Date.now() + 86_400_000).toISOString();
    const ext = await gql(
      `mutation { addExtension(manifestId: "${wf}", id: "x1", reason: "audit", until: "${until}") { created extension { id actor until approver } } }`,
      'lena-token',
    );
    expect(ext.body.data.addExtension).toEqual({
      created: true,
      extension: { id: 'x1', actor: 'lena', until, approver: null },
    });
    const far = await gql(
      `mutation { addExtension(manifestId: "${wf}", id: "x2", reason: "audit", until: "2099-01-01T00:00:00Z") { created extension { id } pending { id state needs requester } } }`,
      'lena-token',
    );
    expect(far.body.data.addExtension).toMatchObject({
      created: true,
      extension: null,
      pending: {
        id: 'x2',
        state: 'pending',
        requester: 'lena',
        needs: expect.stringMatching(/another person's approval/),
      },
    });
  });

  test('a pending extension: listed for approvers, approved by another person, never by its requester', async () => {
    const wf = f.ids['wf-3']!;
    const far = await gql(
      `mutation { addExtension(manifestId: "${wf}", id: "x3", reason: "litigation", until: "2098-01-01T00:00:00Z") { pending { state } } }`,
      'lena-token',
    );
    expect(far.body.data.addExtension.pending).toEqual({ state: 'pending' });
    const listed = await gql(
      `{ pendingApprovals(namespaces: ["agents"]) { id manifestId requester until } }`,
      'judge-token',
    );
    expect(listed.body.data.pendingApprovals).toContainEqual({
      id: 'x3',
      manifestId: wf,
      requester: 'lena',
      until: '2098-01-01T00:00:00.000Z',
    });
    const own = await gql(
      `mutation { approveExtension(manifestId: "${wf}", extensionId: "x3") { created } }`,
      'lena-token',
    );
    expect(own.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(own.body.errors?.[0]?.message).toMatch(/lena requested extension x3: another person approves it/);
    const approve = `mutation { approveExtension(manifestId: "${wf}", extensionId: "x3") { created extension { id actor approver until } } }`;
    const approved = await gql(approve, 'judge-token');
    expect(approved.body.data.approveExtension).toEqual({
      created: true,
      extension: { id: 'x3', actor: 'lena', approver: 'judge', until: '2098-01-01T00:00:00.000Z' },
    });
    expect((await gql(approve, 'judge-token')).body.data.approveExtension.created).toBe(false);
    const after = await gql(`{ pendingApprovals { id } }`, 'judge-token');
    expect(after.body.data.pendingApprovals).not.toContainEqual({ id: 'x3' });
    const hidden = await gql(
      `mutation { approveExtension(manifestId: "${wf}", extensionId: "x3") { created } }`,
      'mallory-token',
    );
    expect(hidden.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });
});

describe('Workflow relations', () => {
  test('holds, policy, timeline and audit events of a workflow the caller may open', async () => {
    const q = await gql(
      `{ workflow(manifestId: "${wf}") {
          holds { id releasedBy }
          extensions { id }
          policy { winningRule failedClosed activeHolds schedule { coldOn deleteOn } rules { rule matched at } }
          timeline { tiers { tier packs } events { kind id } }
          auditEvents(first: 3) { action outcome actor verified }
      } }`,
      'alice-token',
    );
    expect(q.body.errors).toBeUndefined();
    const w = q.body.data.workflow;
    expect(w.holds).toEqual([{ id: 'g1', releasedBy: 'lena' }]);
    expect(w.extensions).toEqual([{ id: 'x1' }]);
    expect(w.policy).toMatchObject({ winningRule: 'all', failedClosed: false, activeHolds: [] });
    expect(w.policy.rules).toEqual([{ rule: 'all', matched: true, at: expect.stringMatching(/^p\.yaml:\d+:\d+$/) }]);
    expect(w.timeline.events.map((e: { kind: string }) => e.kind)).toEqual(
      expect.arrayContaining(['archived', 'hold-set', 'hold-released', 'extended']),
    );
    expect(w.timeline.tiers).toEqual([{ tier: 'hot', packs: expect.any(Number) }]);
    expect(w.auditEvents).toHaveLength(3);
    expect(w.auditEvents[0]).toMatchObject({ verified: true });
  });

  test('another tenant: not found; list-only: forbidden; a costly audit walk over a list is refused', async () => {
    const hidden = await gql(`{ workflow(manifestId: "${wf}") { policy { action } } }`, 'mallory-token');
    expect(hidden.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    expect(JSON.stringify(hidden.body)).not.toMatch(/lena|g1/);
    const listOnly = await gql(
      `{ workflows { nodes { name timeline { events { kind } } auditEvents { actor } } } }`,
      'bob-token',
    );
    expect(listOnly.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(JSON.stringify(listOnly.body)).not.toMatch(/lena/);
    const costly = await gql(
      `{ workflows(first: 500) { nodes { auditEvents(first: 1000) { actor } } } }`,
      'alice-token',
    );
    expect(costly.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY' });
  });
});
