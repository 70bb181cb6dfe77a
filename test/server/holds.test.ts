// Legal holds and extensions through the REST API: the verified caller's act, allowed per namespace on the Strata
// verbs, written by the CLI's own core (records, store locks, approvals) and audited; never another tenant's data.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { readManifest } from '../../lib/archive/manifest-lookup.ts';
import { manifestKey, openRepository, packKey } from '../../lib/archive/repository.ts';
import { approvalDigest, type Approval, type ApprovalStore } from '../../lib/identity/approval.ts';
import { call as callApi, servedContract, type ServedContract } from './served-contract.ts';
import { sha, startFixture, type Fixture } from './fixture.ts';

const ACCESS = `
users:
  - { username: alice, tokenSha256: ${sha('alice-token')} }
  - { username: lena, groups: [legal], tokenSha256: ${sha('lena-token')} }
  - { username: mallory, tokenSha256: ${sha('mallory-token')} }
  - { username: carol, tokenSha256: ${sha('carol-token')} }
rules:
  - { user: alice, verbs: [get, list], namespaces: [agents] }
  - { group: legal, verbs: [get, list, hold, release-hold, extend], namespaces: [agents] }
  - { user: mallory, verbs: ["*"], namespaces: [finance] }
`;

/** Approvals kept in memory, as the cluster's ConfigMaps would be (found by digest). */
class MemoryApprovals implements ApprovalStore {
  readonly description = 'memory';
  readonly items: Approval[] = [];
  async find(digest: string) {
    return this.items.filter((a) => a.digest === digest);
  }
  async create(a: Omit<Approval, 'name' | 'created' | 'digest'>) {
    const approval = { ...a, name: `approval-${this.items.length}`, created: new Date(), digest: approvalDigest(a) };
    this.items.push(approval);
    return approval;
  }
}

let f: Fixture;
let contract: ServedContract;
const approvals = new MemoryApprovals();
let wf: string;
let uid: string;

beforeAll(async () => {
  f = await startFixture({ approvals: async () => approvals, extendApprovalBeyond: '1y' }, ACCESS);
  contract = await servedContract(f.base);
  wf = f.ids['wf-1']!;
  uid = '00000000-0000-0000-0000-000000000001';
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

const HOLDS = '/api/v1/workflows/{manifestId}/holds';
const RELEASE = '/api/v1/workflows/{manifestId}/holds/{holdId}/release';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are checked by schema elsewhere
const json = (res: Response): Promise<any> => res.json();
const EXTENSIONS = '/api/v1/workflows/{manifestId}/extensions';

async function lockedKeys(manifestId: string): Promise<Record<string, boolean>> {
  const repo = await openRepository(f.store);
  const m = await readManifest(repo, manifestId);
  const out: Record<string, boolean> = {};
  for (const key of [manifestKey(manifestId), ...m.packs.map((p) => packKey(m.group, p))])
    out[key] = Boolean((await f.store.head(key))?.legalHold);
  return out;
}

describe('holds over REST', () => {
  test('no token: 401; a body that is not the schema: 400 naming the field; not JSON: 415', async () => {
    expect((await call('POST', `/api/v1/workflows/${wf}/holds`, undefined, { id: 'x', reason: 'r' })).status).toBe(401);
    const bad = await call('POST', `/api/v1/workflows/${wf}/holds`, 'lena-token', { id: '../x', reason: 'r' });
    expect(bad.status).toBe(400);
    expect((await checked(bad, HOLDS, 'post')).error.field).toBe('id');
    const unknown = await call('POST', `/api/v1/workflows/${wf}/holds`, 'lena-token', {
      id: 'a',
      reason: 'r',
      actor: 'someone-else',
    });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(
      /unknown body parameter\(s\) actor/,
    );
    const text = await fetch(`${f.base}/api/v1/workflows/${wf}/holds`, {
      method: 'POST',
      headers: { authorization: 'Bearer lena-token', 'content-type': 'text/plain' },
      body: 'hold it',
    });
    expect(text.status).toBe(415);
    expect(f.audit).toEqual([]);
  });

  test('a hold is set as the verified caller, audited, locked in the store; the same request again is the same hold', async () => {
    const first = await call('POST', `/api/v1/workflows/${wf}/holds`, 'lena-token', {
      id: 'case-7',
      reason: 'litigation 7',
    });
    expect(first.status).toBe(201);
    const body = await checked(first, HOLDS, 'post');
    expect(body.hold).toMatchObject({ id: 'case-7', actor: 'lena', actorVerified: true, reason: 'litigation 7' });
    expect(body.storeLocks).toMatch(/^\d+ object\(s\) locked, 0 released$/);
    expect(Object.values(await lockedKeys(wf))).toEqual(expect.arrayContaining([true]));
    expect(Object.values(await lockedKeys(wf)).every(Boolean)).toBe(true);
    // Write-ahead: started before the record, ok after; the verified caller and who vouched for them on both.
    expect(f.audit.map((r) => [r.action, r.outcome, r.actor, r.verified, r.subject])).toEqual([
      ['hold-set', 'started', 'lena', true, uid],
      ['hold-set', 'ok', 'lena', true, uid],
    ]);
    expect(f.audit[1]!.details).toMatchObject({ hold: 'case-7', authenticatedBy: 'token-file', groups: ['legal'] });

    const again = await call('POST', `/api/v1/workflows/${wf}/holds`, 'lena-token', {
      id: 'case-7',
      reason: 'litigation 7',
    });
    expect(again.status).toBe(200);
    expect((await checked(again, HOLDS, 'post')).hold).toEqual(body.hold);
    expect(f.audit.filter((r) => r.outcome === 'ok')).toHaveLength(1);

    const other = await call('POST', `/api/v1/workflows/${wf}/holds`, 'lena-token', {
      id: 'case-7',
      reason: 'something else',
    });
    expect(other.status).toBe(409);
    await checked(other, HOLDS, 'post');

    // Everyone who may open the workflow sees the hold, in the detail and the list.
    const listed = await checked(await call('GET', `/api/v1/workflows/${wf}/holds`, 'alice-token'), HOLDS, 'get');
    expect(listed.holds).toEqual([body.hold]);
    const detail = (await (await call('GET', `/api/v1/workflows/${wf}`, 'alice-token')).json()) as {
      holds: unknown[];
    };
    expect(detail.holds).toEqual([body.hold]);
  });

  test('who may see the workflow but not hold it: 403, and the refusal is audited', async () => {
    const res = await call('POST', `/api/v1/workflows/${f.ids['wf-2']}/holds`, 'alice-token', {
      id: 'mine',
      reason: 'r',
    });
    expect(res.status).toBe(403);
    expect((await checked(res, HOLDS, 'post')).error.message).toBe('alice may not hold archives in namespace agents');
    expect(f.audit).toMatchObject([{ action: 'hold-set', outcome: 'refused', actor: 'alice', verified: true }]);
    expect((await call('GET', `/api/v1/workflows/${f.ids['wf-2']}/holds`, 'alice-token')).status).toBe(200);
  });

  test("another tenant's workflow: 404 alike whether it exists, for every hold route, and nothing is written", async () => {
    const missing = 'f'.repeat(64);
    for (const token of ['mallory-token', 'carol-token']) {
      for (const id of [wf, missing]) {
        const answers = [
          await call('GET', `/api/v1/workflows/${id}/holds`, token),
          await call('POST', `/api/v1/workflows/${id}/holds`, token, { id: 'm', reason: 'r' }),
          await call('POST', `/api/v1/workflows/${id}/holds/case-7/release`, token, { reason: 'r' }),
          await call('POST', `/api/v1/workflows/${id}/extensions`, token, {
            id: 'm',
            reason: 'r',
            until: '2099-01-01T00:00:00Z',
          }),
        ];
        for (const a of answers) {
          expect([token, id, a.status]).toEqual([token, id, 404]);
          expect(((await a.json()) as { error: { message: string } }).error.message).toBe(
            `no archived workflow with manifest id ${id}`,
          );
        }
      }
    }
    const listed = await checked(await call('GET', `/api/v1/workflows/${wf}/holds`, 'lena-token'), HOLDS, 'get');
    expect(listed.holds.map((h: { id: string }) => h.id)).toEqual(['case-7']);
    expect(listed.extensions).toEqual([]);
    expect(f.audit.every((r) => r.outcome === 'refused')).toBe(true);
  });

  test('a release is the verified caller’s record beside the hold; the store lock goes with it; idempotent', async () => {
    const denied = await call('POST', `/api/v1/workflows/${wf}/holds/case-7/release`, 'alice-token', { reason: 'x' });
    expect(denied.status).toBe(403);
    const res = await call('POST', `/api/v1/workflows/${wf}/holds/case-7/release`, 'lena-token', {
      reason: 'case closed',
    });
    expect(res.status).toBe(200);
    const body = await checked(res, RELEASE, 'post');
    expect(body.hold).toMatchObject({
      id: 'case-7',
      actor: 'lena',
      released: { actor: 'lena', actorVerified: true, reason: 'case closed' },
    });
    expect(Object.values(await lockedKeys(wf)).some(Boolean)).toBe(false);
    expect(f.audit.map((r) => [r.action, r.outcome, r.actor])).toEqual([
      ['hold-release', 'refused', 'alice'],
      ['hold-release', 'started', 'lena'],
      ['hold-release', 'ok', 'lena'],
    ]);
    const again = await call('POST', `/api/v1/workflows/${wf}/holds/case-7/release`, 'lena-token', {
      reason: 'case closed',
    });
    expect(again.status).toBe(200);
    expect((await checked(again, RELEASE, 'post')).hold).toEqual(body.hold);
    expect(
      (await call('POST', `/api/v1/workflows/${wf}/holds/case-7/release`, 'lena-token', { reason: 'other' })).status,
    ).toBe(409);
    const none = await call('POST', `/api/v1/workflows/${wf}/holds/case-8/release`, 'lena-token', { reason: 'x' });
    expect(none.status).toBe(404);
    expect((await checked(none, RELEASE, 'post')).error.message).toBe('workflow agents/wf-1 has no hold case-8');
  });
});

describe('extensions over REST', () => {
  const soon = () => new Date(Date.now() + 30 * 86_400_000).toISOString();

  test('within the limit: written as the verified caller and audited; the same id and date again: 200', async () => {
    const until = soon();
    const res = await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', {
      id: 'ext-1',
      reason: 'audit season',
      until,
    });
    expect(res.status).toBe(201);
    const body = await checked(res, EXTENSIONS, 'post');
    expect(body.extension).toMatchObject({ id: 'ext-1', actor: 'lena', actorVerified: true, until });
    expect(f.audit.map((r) => [r.action, r.outcome, r.actor, r.verified])).toEqual([
      ['extend', 'started', 'lena', true],
      ['extend', 'ok', 'lena', true],
    ]);
    const again = await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', {
      id: 'ext-1',
      reason: 'audit season',
      until,
    });
    expect(again.status).toBe(200);
    expect((await checked(again, EXTENSIONS, 'post')).extension).toEqual(body.extension);
    const moved = await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', {
      id: 'ext-1',
      reason: 'audit season',
      until: soon().replace(/^\d{4}/, '2098'),
    });
    expect(moved.status).toBe(409);
  });

  test('a date in the past is a 400; who may not extend: 403', async () => {
    const past = await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', {
      id: 'ext-past',
      reason: 'r',
      until: '2020-01-01T00:00:00Z',
    });
    expect(past.status).toBe(400);
    expect((await checked(past, EXTENSIONS, 'post')).error.field).toBe('until');
    const denied = await call('POST', `/api/v1/workflows/${wf}/extensions`, 'alice-token', {
      id: 'ext-a',
      reason: 'r',
      until: soon(),
    });
    expect(denied.status).toBe(403);
  });

  test("beyond the limit only with another person's approval of exactly it; until then a pending request", async () => {
    const until = new Date(Date.now() + 3 * 365 * 86_400_000).toISOString();
    const request = { id: 'ext-long', reason: 'regulator asked', until };
    const pending = await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', request);
    expect(pending.status).toBe(202);
    const asked = await checked(pending, EXTENSIONS, 'post');
    expect(asked.extension).toBeUndefined();
    expect(asked.pending).toMatchObject({ id: 'ext-long', requester: 'lena', state: 'pending', until });
    expect(asked.pending.needs).toMatch(/beyond 1y from now needs another person's approval: no approval of extend/);
    expect(f.audit).toMatchObject([
      { action: 'extend-request', outcome: 'started', actor: 'lena', verified: true },
      { action: 'extend-request', outcome: 'ok', actor: 'lena' },
    ]);
    // Nothing is kept by a request: no extension is in force.
    expect((await json(await call('GET', `/api/v1/workflows/${wf}/holds`, 'lena-token'))).extensions).not.toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'ext-long' })]),
    );

    // Her own approval does not count; another person's does.
    const subject = { action: 'extend' as const, workflow: uid, reason: 'regulator asked', requester: 'lena' };
    const expires = new Date(Date.now() + 86_400_000);
    await approvals.create({ ...subject, approver: 'lena', namespace: 'agents', expires, until: new Date(until) });
    expect((await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', request)).status).toBe(200);
    await approvals.create({ ...subject, approver: 'judge', namespace: 'agents', expires, until: new Date(until) });
    const ok = await call('POST', `/api/v1/workflows/${wf}/extensions`, 'lena-token', request);
    expect(ok.status).toBe(201);
    expect((await checked(ok, EXTENSIONS, 'post')).extension).toMatchObject({
      id: 'ext-long',
      approval: { approver: 'judge' },
    });
    expect(f.audit.at(-1)).toMatchObject({ action: 'extend', outcome: 'ok', actor: 'lena', approver: 'judge' });
  });
});
