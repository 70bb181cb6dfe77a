// The dashboard's status routes: storage and cost per tier and policy (a caller's share of each group, never another
// tenant's totals), and verify/scrub/drill status from the audit records and scrub state those runs write.
import { afterEach, describe, expect, test } from 'vitest';
import { packKey } from '../../lib/archive/repository.ts';
import { recordScrubReads } from '../../lib/archive/scrub-state.ts';
import { recentAuditRecords } from '../../lib/audit/recent-records.ts';
import { createStoreAuditLog } from '../../lib/audit/store-audit.ts';
import { sealLog } from '../../lib/audit/store-log.ts';
import type { CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import type { ObjectInfo, ObjectStore, StorageClass } from '../../lib/store/store.ts';
import { monthlyCost } from '../../lib/tier/cost.ts';
import { BUILT_IN_PRICES, PACK_LISTING_TTL_MS, StorageUsage } from '../../server/service/storage-usage.ts';
import { startFixture, type Fixture } from './fixture.ts';

const hex = (n: number) => n.toString(16).padStart(64, '0');

function row(i: number, namespace: string, group: string, bytes: number): CatalogWorkflow {
  return {
    manifestId: hex(i),
    uid: `uid-${i}`,
    namespace,
    name: `wf-${i}`,
    labels: {},
    group,
    incomplete: false,
    entries: 1,
    bytes,
  };
}

/** Just enough of a store to be listed: packs with sizes and storage classes. */
function listedStore(objects: Array<{ key: string; size: number; storageClass?: StorageClass }>) {
  return {
    objects,
    list: async function* (prefix: string): AsyncIterable<ObjectInfo> {
      for (const o of objects) if (o.key.startsWith(prefix)) yield { ...o, lastModified: new Date(0) } as ObjectInfo;
    },
  } as unknown as ObjectStore & { objects: typeof objects };
}

describe('StorageUsage', () => {
  async function setup() {
    const { catalog } = openSqliteCatalog(':memory:');
    const none = (async function* () {})();
    await catalog.upsertManifest(row(1, 'agents', 'standard-2026-10', 200), [], none);
    await catalog.upsertManifest(row(2, 'agents', 'standard-2026-10', 100), [], (async function* () {})());
    await catalog.upsertManifest(row(3, 'finance', 'standard-2026-10', 100), [], (async function* () {})());
    await catalog.upsertManifest(row(4, 'agents', 'debug-2026-11', 50), [], (async function* () {})());
    const store = listedStore([
      { key: packKey('standard-2026-10', hex(11)), size: 400_000, storageClass: 'STANDARD_IA' },
      { key: packKey('standard-2026-10', hex(12)), size: 400_000, storageClass: 'GLACIER_IR' },
      { key: packKey('debug-2026-11', hex(13)), size: 200_000 },
      { key: 'archive/manifests/whatever', size: 5 },
    ]);
    let now = 1_000_000;
    const usage = new StorageUsage({
      catalog,
      store: async () => store,
      prices: () => BUILT_IN_PRICES,
      now: () => now,
    });
    return { catalog, store, usage, tick: (ms: number) => (now += ms) };
  }

  test("a caller sees their namespaces' share of each group's stored bytes and cost, by tier and policy", async () => {
    const { usage, catalog } = await setup();
    const r = await usage.report(['agents']);
    expect(r.currency).toBe('USD');
    expect(r.pricing.source).toMatch(/policies\/pricing\.yaml/);
    expect(r.pricing.tiers.cold).toMatchObject({ storageClass: 'GLACIER_IR', perGBMonth: 0.004 });
    // agents hold 300 of the group's 400 original bytes: 3/4 of its packs.
    const standard = r.policies.find((p) => p.name === 'standard')!;
    expect(standard).toMatchObject({
      manifests: 2,
      originalBytes: 300,
      storedBytes: 600_000,
      byTier: { hot: 0, warm: 300_000, cold: 300_000, deepArchive: 0 },
    });
    const expected =
      0.75 * (monthlyCost(400_000, 'warm', DEFAULT_PRICING) + monthlyCost(400_000, 'cold', DEFAULT_PRICING));
    expect(standard.monthlyCost).toBeCloseTo(expected, 12);
    const debug = r.policies.find((p) => p.name === 'debug')!;
    expect(debug).toMatchObject({ manifests: 1, storedBytes: 200_000, byTier: { hot: 200_000 } });
    expect(r.tiers.map((t) => [t.tier, t.storedBytes])).toEqual([
      ['hot', 200_000],
      ['warm', 300_000],
      ['cold', 300_000],
      ['deepArchive', 0],
    ]);
    expect(r.totals).toMatchObject({ manifests: 3, originalBytes: 350, storedBytes: 800_000 });
    // Another tenant's data is neither listed nor added in.
    const finance = await usage.report(['finance']);
    expect(finance.policies.map((p) => [p.name, p.storedBytes])).toEqual([['standard', 200_000]]);
    expect(await usage.report([])).toMatchObject({ policies: [], totals: { storedBytes: 0 } });
    await catalog.close();
  });

  test('the pack listing is reused for a few minutes, then read again', async () => {
    const { usage, store, tick, catalog } = await setup();
    expect((await usage.report(['agents'])).totals.storedBytes).toBe(800_000);
    store.objects.push({ key: packKey('debug-2026-11', hex(14)), size: 100_000 });
    expect((await usage.report(['agents'])).totals.storedBytes).toBe(800_000);
    tick(PACK_LISTING_TTL_MS + 1);
    expect((await usage.report(['agents'])).totals.storedBytes).toBe(900_000);
    await catalog.close();
  });
});

describe('recentAuditRecords', () => {
  test('the newest matches first, sealed and pending alike, within the limit', async () => {
    const f = await startFixture();
    try {
      let t = Date.UTC(2026, 10, 1);
      const log = createStoreAuditLog(f.store, () => new Date((t += 60_000)));
      const rec = (action: 'verify' | 'archive', n: number) =>
        log.record({ action, actor: 'strata/verify', subject: `s${n}`, outcome: 'ok' });
      for (let i = 0; i < 6; i++) await rec(i % 2 ? 'archive' : 'verify', i);
      await sealLog(f.store);
      for (let i = 6; i < 9; i++) await rec('verify', i);
      const { records } = await recentAuditRecords(f.store, { keep: (r) => r.action === 'verify', limit: 4 });
      expect(records.map((r) => r.subject)).toEqual(['s8', 's7', 's6', 's4']);
      const all = await recentAuditRecords(f.store, { keep: (r) => r.action === 'verify', limit: 100 });
      expect(all.records.map((r) => r.subject)).toEqual(['s8', 's7', 's6', 's4', 's2', 's0']);
      expect(all.truncated).toBe(false);
    } finally {
      await f.close();
    }
  });
});

describe('the status routes', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });
  const get = (path: string, token = 'alice-token') =>
    fetch(`${f!.base}${path}`, { headers: { authorization: `Bearer ${token}` } });

  test('GET /api/v1/storage: only namespaces the caller may list; 403 for one they may not; 401 without a token', async () => {
    f = await startFixture();
    const alice = (await (await get('/api/v1/storage')).json()) as {
      namespaces: string[];
      totals: { manifests: number; storedBytes: number };
      policies: Array<{ name: string }>;
    };
    expect(alice.namespaces).toEqual(['agents']);
    expect(alice.totals.manifests).toBe(3);
    expect(alice.totals.storedBytes).toBeGreaterThan(0);
    expect(alice.policies.map((p) => p.name)).toEqual(['default']);
    const bob = (await (await get('/api/v1/storage', 'bob-token')).json()) as { namespaces: string[] };
    expect(bob.namespaces).toEqual(['finance']);
    expect((await get('/api/v1/storage?namespace=finance')).status).toBe(403);
    expect((await fetch(`${f.base}/api/v1/storage`)).status).toBe(401);
  });

  test('GET /api/v1/stats/daily: workflows per day and phase of the namespaces the caller may list', async () => {
    f = await startFixture();
    const daily = async (query: string, token = 'alice-token') => {
      const r = await get(`/api/v1/stats/daily${query}`, token);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    expect(await daily('?from=2026-11-01&to=2026-11-30')).toEqual({
      status: 200,
      body: {
        namespaces: ['agents'],
        from: '2026-11-01',
        to: '2026-11-30',
        days: [
          { day: '2026-11-01', phase: 'Succeeded', count: 1 },
          { day: '2026-11-02', phase: 'Failed', count: 1 },
          { day: '2026-11-03', phase: 'Succeeded', count: 1 },
        ],
      },
    });
    // `to` is inclusive; another tenant's workflows are never counted.
    expect((await daily('?from=2026-11-02&to=2026-11-02')).body.days).toEqual([
      { day: '2026-11-02', phase: 'Failed', count: 1 },
    ]);
    expect((await daily('?from=2026-11-01&to=2026-11-30', 'bob-token')).body).toMatchObject({
      namespaces: ['finance'],
      days: [{ day: '2026-11-04', phase: 'Succeeded', count: 1 }],
    });
    // By default the 30 days up to today.
    const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    expect((await daily('')).body).toMatchObject({ from: dayOf(today - 29 * 86_400_000), to: dayOf(today) });
    expect((await daily('?namespace=finance')).status).toBe(403);
    for (const bad of [
      '?from=2026-11-31',
      '?from=2026-11-05&to=2026-11-04',
      '?from=2025-01-01&to=2026-11-30',
      '?day=1',
    ])
      expect((await daily(bad)).status, bad).toBe(400);
    expect((await fetch(`${f.base}/api/v1/stats/daily`)).status).toBe(401);
  });

  test('GET /api/v1/verify-status: the last runs, failing packs, and only the drilled workflows the caller may see', async () => {
    f = await startFixture();
    const log = createStoreAuditLog(f.store);
    const bad = packKey('default', hex(99));
    await log.record({
      action: 'verify',
      actor: 'strata/verify',
      subject: f.store.url,
      outcome: 'failed',
      details: {
        manifests: 4,
        packs: 4,
        packsRead: 2,
        problems: 1,
        corruptPacks: [bad],
        corrupt: 1,
        scrub: { read: 2, failed: 1, coverage: 0.5, overdue: 0, oldestUnreadSeconds: 10 },
      },
    });
    await log.record({
      action: 'verify',
      actor: 'alice',
      subject: f.store.url,
      outcome: 'ok',
      details: {
        drill: {
          workflows: [
            { manifestId: f.ids['wf-1'], namespace: 'agents', name: 'wf-1', files: 3, bytes: 10, ok: true },
            { manifestId: f.ids['wf-4'], namespace: 'finance', name: 'wf-4', files: 3, bytes: 10, ok: true },
          ],
          passed: 2,
          failed: 0,
          bytes: 20,
        },
      },
    });
    await recordScrubReads(f.store, new Map([[bad, { at: new Date('2026-11-02T00:00:00Z'), ok: false }]]));
    const res = await get('/api/v1/verify-status');
    expect(res.status).toBe(200);
    const s = (await res.json()) as {
      runs: Array<{ kind: string; outcome: string }>;
      lastScrub: { summary: Record<string, number>; corruptPacks: string[] };
      lastDrill: { workflows: Array<{ name: string }>; otherWorkflows: number; summary: Record<string, number> };
      failingPacks: Array<{ key: string; source: string; policy: string }>;
      scrub: { packsTracked: number; failedLastRead: number };
    };
    expect(s.runs.map((r) => [r.kind, r.outcome])).toEqual([
      ['drill', 'ok'],
      ['scrub', 'failed'],
    ]);
    expect(s.lastScrub.summary).toMatchObject({ packsRead: 2, problems: 1, 'scrub.coverage': 0.5 });
    expect(s.lastScrub.corruptPacks).toEqual([bad]);
    expect(s.lastDrill.workflows.map((w) => w.name)).toEqual(['wf-1']);
    expect(s.lastDrill.otherWorkflows).toBe(1);
    expect(s.lastDrill.summary).toMatchObject({ passed: 2, failed: 0 });
    expect(s.failingPacks).toEqual([expect.objectContaining({ key: bad, source: 'scrub', policy: 'default' })]);
    expect(s.scrub).toMatchObject({ packsTracked: 1, failedLastRead: 1 });
    expect(JSON.stringify(s)).not.toContain('wf-4');
  });
});
