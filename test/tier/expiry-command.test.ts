// `strata tier` expiring through the real CLI: catalog rows go (and rewritten manifests come back under their new
// ids), the audit record holds the proof, verify stays clean, and a dry run deletes nothing.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { verifyRepository, type Repository } from '../../lib/archive/index.ts';
import { auditRecords } from '../../lib/audit/store-log.ts';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import { archiveSegmentReader } from '../../lib/catalog/segment-reader.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { tempRepository } from '../archive/fixtures.ts';
import { policyYaml } from '../policy/helpers.ts';
import { runCli } from '../support/run-cli.ts';
import { archiveAt, DAY, manifestsByUid } from './helpers.ts';

let t: Awaited<ReturnType<typeof tempRepository>>;
let repo: Repository;
let policy: string;
let catalogPath: string;
const ids: Record<string, string> = {};
const strata = (args: string[]) => runCli(['--store', `file:${t.root}`, '--catalog', catalogPath, ...args]);

beforeAll(async () => {
  t = await tempRepository();
  repo = t.repo;
  policy = join(t.root, '..', 'policy.yaml');
  catalogPath = join(t.root, '..', 'catalog.db');
  writeFileSync(policy, policyYaml([], { archiveAfter: '0s', timeline: { hot: 'rest' }, retainFor: '30d' }));
  const shared = randomBytes(30_000);
  ids.old = await archiveAt(repo, 'old', new Date(Date.now() - 40 * DAY), [shared, randomBytes(10_000)]);
  ids.young = await archiveAt(repo, 'young', new Date(Date.now() - 5 * DAY), [shared]);
  expect((await strata(['index'])).code).toBe(0);
});
afterAll(() => t.cleanup());

test('a dry run lists the expiry and deletes nothing', async () => {
  const r = await strata(['tier', '--dry-run', '--policy', policy, '-o', 'json']);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.out) as {
    expiries: unknown[];
    plan: { expiries: Array<{ uid: string }>; repacks: unknown[] };
  };
  expect(out.plan.expiries.map((e) => e.uid)).toEqual(['old']);
  expect(out.plan.repacks).toHaveLength(1);
  expect(out.expiries).toEqual([]);
  expect((await manifestsByUid(repo)).get('old')).toEqual([ids.old]);
});

test('a run expires the workflow with proof and leaves the catalog and the archive consistent', async () => {
  const r = await strata(['tier', '--policy', policy, '--settle', '0s', '-o', 'json']);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.out) as {
    expired: number;
    expiries: Array<{ uid: string; outcome: string; superseded: Array<{ to: string }> }>;
  };
  expect(out.expired).toBe(1);
  expect(out.expiries[0]).toMatchObject({ uid: 'old', outcome: 'done' });
  const youngNow = (await manifestsByUid(repo)).get('young')!;
  expect(youngNow).toEqual([out.expiries[0]!.superseded[0]!.to]);

  // In the layout the CLI built it in (compact, the default); opened in the other one it would be dropped.
  const { catalog, fresh } = openSqliteCatalog(catalogPath, {
    textFrom: archiveSegmentReader(await archiveManifestSource(repo.store)),
  });
  try {
    expect(fresh).toBe(false);
    expect([...(await catalog.manifestIds())]).toEqual(youngNow);
  } finally {
    await catalog.close();
  }
  expect((await verifyRepository(repo, { readData: true })).problems).toEqual([]);

  const records: Array<{
    action: string;
    outcome: string;
    details: { check: { stillPresent: string[] }; chunksDeleted: string[] };
  }> = [];
  for await (const r of auditRecords(repo.store)) records.push(r as unknown as (typeof records)[number]);
  const expire = records.filter((x) => x.action === 'expire' && x.outcome !== 'started');
  // Recorded before it began, then its proof.
  expect(records.filter((x) => x.action === 'expire' && x.outcome === 'started')).toHaveLength(1);
  expect(expire).toHaveLength(1);
  expect(expire[0]!.outcome).toBe('ok');
  expect(expire[0]!.details.check.stillPresent).toEqual([]);
  expect(expire[0]!.details.chunksDeleted.length).toBeGreaterThan(0);

  const again = await strata(['tier', '--policy', policy, '--settle', '0s', '-o', 'json']);
  expect(JSON.parse(again.out)).toMatchObject({ expired: 0, expiries: [] });
});
