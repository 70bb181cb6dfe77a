// A workflow's retention over REST: the policy engine's explanation, the tier timeline from the tier records and
// hold records, and the audit records about it from the store's log — for callers who may open it, never across tenants.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readManifest } from '../../lib/archive/manifest-lookup.ts';
import { openRepository } from '../../lib/archive/repository.ts';
import { loadPolicySet } from '../../lib/policy/index.ts';
import { writeTierRecord } from '../../lib/tier/placement.ts';
import { servedContract, type ServedContract } from './served-contract.ts';
import { sha, startFixture, type Fixture } from './fixture.ts';

const ACCESS = `
users:
  - { username: alice, tokenSha256: ${sha('alice-token')} }
  - { username: bob, groups: [finance-auditors], tokenSha256: ${sha('bob-token')} }
  - { username: carol, tokenSha256: ${sha('carol-token')} }
  - { username: lena, tokenSha256: ${sha('lena-token')} }
rules:
  - { user: alice, verbs: [get, list], namespaces: [agents] }
  - { group: finance-auditors, verbs: [list], namespaces: [finance] }
  - { user: lena, verbs: [get, list, hold, release-hold], namespaces: [agents] }
`;

const POLICY = `
apiVersion: strata.dev/v1alpha1
kind: RetentionPolicy
metadata: { name: test }
spec:
  rules:
    - name: gold
      priority: 10
      match: labels[?"tier"].orValue("") == "gold"
      timeline: { hot: 7d, warm: 30d, cold: rest }
      retainFor: 5y
`;

let f: Fixture;
let contract: ServedContract;
let wf: string;

beforeAll(async () => {
  const { policySet, problems } = loadPolicySet([{ name: 'policies/test.yaml', text: POLICY }]);
  expect(problems).toEqual([]);
  f = await startFixture({ policySet }, ACCESS, { storeAudit: true });
  contract = await servedContract(f.base);
  wf = f.ids['wf-1']!;
});
afterAll(async () => {
  await f?.close();
});

const get = (path: string, token: string) =>
  fetch(`${f.base}${path}`, { headers: { authorization: `Bearer ${token}` } });

const checked = (res: Response, route: string) => contract.checked(res, route);

const POLICY_ROUTE = '/api/v1/workflows/{manifestId}/policy';
const TIMELINE_ROUTE = '/api/v1/workflows/{manifestId}/timeline';
const AUDIT_ROUTE = '/api/v1/workflows/{manifestId}/audit';

async function hold(manifestId: string, id: string) {
  const res = await fetch(`${f.base}/api/v1/workflows/${manifestId}/holds`, {
    method: 'POST',
    headers: { authorization: 'Bearer lena-token', 'content-type': 'application/json' },
    body: JSON.stringify({ id, reason: `case ${id}` }),
  });
  expect(res.status).toBe(201);
}

describe('policy explain', () => {
  test("every rule's verdict, the winner with its file and line, the schedule; a hold in force shows", async () => {
    const before = await checked(await get(`/api/v1/workflows/${wf}/policy`, 'alice-token'), POLICY_ROUTE);
    expect(before).toMatchObject({
      workflow: { uid: '00000000-0000-0000-0000-000000000001', namespace: 'agents', name: 'wf-1' },
      policy: { valid: true, problems: [] },
      winningRule: 'gold',
      matchedRules: ['gold'],
      failedClosed: false,
      activeHolds: [],
    });
    expect(before.rules).toEqual([
      expect.objectContaining({ rule: 'gold', matched: true, at: 'policies/test.yaml:7:7' }),
    ]);
    expect(before.schedule).toMatchObject({ warmOn: expect.any(String), coldOn: expect.any(String) });
    expect(Date.parse(before.schedule.deleteOn)).toBeGreaterThan(Date.parse(before.schedule.coldOn));
    // wf-2 has no gold label: no rule matches and the built-in defaults keep it.
    const other = await checked(await get(`/api/v1/workflows/${f.ids['wf-2']}/policy`, 'alice-token'), POLICY_ROUTE);
    expect(other.rules).toEqual([expect.objectContaining({ rule: 'gold', matched: false })]);
    expect(other.winningRule).toBeUndefined();

    await hold(wf, 'case-1');
    const held = await checked(await get(`/api/v1/workflows/${wf}/policy`, 'alice-token'), POLICY_ROUTE);
    expect(held.activeHolds).toEqual(['case-1']);
    expect(held.reasons.join('\n')).toMatch(/case-1/);
  });
});

describe('timeline', () => {
  test('archived, the tier records of its packs, the hold; what the policy plans next comes after', async () => {
    const repo = await openRepository(f.store);
    const manifest = await readManifest(repo, wf);
    const movedAt = new Date('2026-11-09T00:00:00Z');
    for (const packId of manifest.packs)
      await writeTierRecord(repo, { group: manifest.group, packId, tier: 'warm', reason: 'test', at: movedAt });
    const t = await checked(await get(`/api/v1/workflows/${wf}/timeline`, 'alice-token'), TIMELINE_ROUTE);
    expect(t.tiers).toEqual({ warm: manifest.packs.length });
    const kinds = t.events.map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['archived', 'tier', 'hold-set', 'planned-tier']));
    expect(kinds).not.toContain('planned-delete'); // held: no expiry is planned
    expect(t.events.find((e: { kind: string }) => e.kind === 'tier')).toMatchObject({
      at: movedAt.toISOString(),
      tier: 'warm',
      packs: manifest.packs.length,
    });
    expect(t.events.find((e: { kind: string }) => e.kind === 'planned-tier')).toMatchObject({ tier: 'cold' });
    expect(t.events.find((e: { kind: string }) => e.kind === 'hold-set')).toMatchObject({
      id: 'case-1',
      actor: 'lena',
      detail: 'case case-1',
    });
    const times = t.events.map((e: { at: string }) => e.at);
    expect(times).toEqual([...times].sort());
    // Another workflow: the packs it shares with wf-1 (dedup) are warm, the rest hot; no hold, no plan beyond.
    const m3 = await readManifest(repo, f.ids['wf-3']!);
    const shared = m3.packs.filter((p) => manifest.packs.includes(p)).length;
    const other = await checked(
      await get(`/api/v1/workflows/${f.ids['wf-3']}/timeline`, 'alice-token'),
      TIMELINE_ROUTE,
    );
    expect(other.tiers).toEqual({
      ...(m3.packs.length > shared && { hot: m3.packs.length - shared }),
      ...(shared && { warm: shared }),
    });
    expect(other.events.map((e: { kind: string }) => e.kind)).not.toContain('hold-set');
  });
});

describe('audit events', () => {
  test("the store log's records about this workflow only, newest first, with the verified caller", async () => {
    expect((await get(`/api/v1/workflows/${wf}`, 'alice-token')).status).toBe(200);
    expect((await get(`/api/v1/workflows/${f.ids['wf-2']}`, 'alice-token')).status).toBe(200);
    const a = await checked(await get(`/api/v1/workflows/${wf}/audit`, 'alice-token'), AUDIT_ROUTE);
    const rows = a.items.map((r: { action: string; outcome: string; actor: string }) => [r.action, r.outcome, r.actor]);
    expect(rows).toEqual([
      ['read', 'ok', 'alice'],
      ['hold-set', 'ok', 'lena'],
      ['hold-set', 'started', 'lena'],
    ]);
    expect(a.items[0]).toMatchObject({ verified: true, subject: wf, details: { authenticatedBy: 'token-file' } });
    const one = await checked(await get(`/api/v1/workflows/${wf}/audit?limit=1`, 'alice-token'), AUDIT_ROUTE);
    expect(one.items).toEqual([a.items[0]]);
    const bad = await get(`/api/v1/workflows/${wf}/audit?limit=5000`, 'alice-token');
    expect(bad.status).toBe(400);
    expect((await checked(bad, AUDIT_ROUTE)).error.field).toBe('limit');
  });
});

describe('tenants', () => {
  test('no token: 401; a caller who may not open the workflow: 403 if they may list it, else the same 404', async () => {
    for (const route of ['policy', 'timeline', 'audit']) {
      expect((await fetch(`${f.base}/api/v1/workflows/${wf}/${route}`)).status).toBe(401);
      for (const token of ['carol-token', 'bob-token']) {
        const res = await get(`/api/v1/workflows/${wf}/${route}`, token);
        expect([route, token, res.status]).toEqual([route, token, 404]);
        expect(JSON.stringify(await res.json())).not.toMatch(/wf-1|gold|lena/);
      }
      const listed = await get(`/api/v1/workflows/${f.ids['wf-4']}/${route}`, 'bob-token');
      expect([route, listed.status]).toEqual([route, 403]);
      expect((await get(`/api/v1/workflows/${f.ids['wf-4']}/${route}`, 'alice-token')).status).toBe(404);
    }
  });
});
