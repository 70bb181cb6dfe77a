// Residency: a workflow whose policy destination may not live on a replica is never copied there (nor its packs,
// nor a workflow sharing a pack with it); one found there is drift, removed with --prune; an allowed replica gets
// everything. --emit-replication refuses what server-side replication could not honour.
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  archiveBundle,
  initRepository,
  openRepository,
  readManifest,
  restoreWorkflow,
  verifyRepository,
  type Repository,
} from '../../lib/archive/index.ts';
import { manifestKey, packKey, readObject } from '../../lib/archive/repository.ts';
import { ConfigError } from '../../lib/errors.ts';
import { replicate } from '../../lib/replica/replicate.ts';
import { replicationConfiguration } from '../../lib/replica/replication-config.ts';
import { manifestRefusal, parseResidency, replicaPlace, residencyRefusal } from '../../lib/replica/residency.ts';
import { parseStoreUrl } from '../../lib/store/open.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { bundleOf, SMALL, tempDir } from '../archive/fixtures.ts';
import { policySet } from '../policy/helpers.ts';
import { runCli } from '../support/run-cli.ts';
import { workflowAt } from '../tier/helpers.ts';

const dir = tempDir('strata-residency-');
afterAll(() => dir.cleanup());
let n = 0;

const RESIDENCY = `
apiVersion: strata.dev/v1alpha1
kind: Residency
destinations:
  eu-archive:
    stores: ["file://${dir.path}/eu-*", "s3://strata-eu*"]
    regions: ["eu-*"]
`;
const residency = parseResidency(RESIDENCY, 'residency.yaml');
const set = policySet(
  [{ name: 'eu', match: 'labels[?"residency"].orValue("") == "eu"', destination: 'eu-archive', priority: 1000 }],
  { archiveAfter: '0s', retainFor: '1y' },
);

describe('residencyRefusal', () => {
  test('a destination may live only in its stores and regions; one without an entry, or undecided, nowhere', () => {
    expect(residencyRefusal(residency, undefined, { url: 's3://anywhere/x', region: 'us-east-1' })).toBeUndefined();
    expect(residencyRefusal(residency, 'eu-archive', { url: 's3://strata-eu-2/x', region: 'eu-west-1' })).toBe(
      undefined,
    );
    expect(residencyRefusal(residency, 'eu-archive', { url: 's3://strata-eu-2/x', region: 'us-east-1' })).toMatch(
      /only in regions eu-\*, not us-east-1/,
    );
    expect(residencyRefusal(residency, 'eu-archive', { url: 's3://strata-us/x', region: 'eu-west-1' })).toMatch(
      /may live only in .*, not s3:\/\/strata-us\/x/,
    );
    expect(residencyRefusal(residency, 'apac', { url: 's3://strata-eu/x' })).toMatch(/has no residency entry/);
    expect(residencyRefusal(residency, undefined, { url: 's3://x/y' }, 'rule x failed')).toMatch(/cannot decide/);
  });

  test('a residency file that does not validate is a configuration error naming the field', () => {
    expect(() =>
      parseResidency('apiVersion: strata.dev/v1alpha1\nkind: Residency\ndestinations: { eu: {} }', 'r.yaml'),
    ).toThrow(/residency: destinations\.eu\.stores/);
  });
});

async function archive(repo: Repository, uid: string, files: Buffer[], labels: Record<string, string> = {}) {
  const bundle = bundleOf(
    uid,
    files.map((data, i) => ({ path: `logs/${i}.log`, data })),
    workflowAt(uid, new Date(), labels),
  );
  return (await archiveBundle(repo, bundle, { group: 'g' })).manifestId;
}

test('an EU workflow, and one sharing its pack, never reach a replica outside the EU; an EU replica gets all', async () => {
  const root = join(dir.path, `primary-${n++}`);
  const repo = await initRepository(new FileSystemStore(root), SMALL);
  const shared = randomBytes(20_000);
  // Separate archive runs: a workflow only shares a pack through dedup of the same bytes.
  const eu = await archive(repo, 'eu1', [shared, randomBytes(6_000)], { residency: 'eu' });
  const sharer = await archive(repo, 'sharer', [shared]);
  const plain = await archive(repo, 'plain', [randomBytes(9_000)]);
  const euPacks = (await readManifest(repo, eu)).packs.map((p) => packKey('g', p));

  const usRoot = join(dir.path, `us-${n++}`);
  const us = new FileSystemStore(usRoot);
  const refusal = manifestRefusal(set, residency, { url: us.url }, new Date());
  const report = await replicate(repo.store, us, { verify: false, prune: false, dryRun: false, refusal });
  expect(report.drift).toEqual([]);
  const refusedKeys = report.refused.map((r) => r.key);
  expect(refusedKeys).toEqual(expect.arrayContaining([manifestKey(eu), manifestKey(sharer), ...euPacks]));
  expect(report.refused.find((r) => r.key === manifestKey(sharer))?.why).toMatch(/shares .* with a workflow/);
  for (const key of [manifestKey(eu), manifestKey(sharer), ...euPacks]) expect(await us.head(key), key).toBeUndefined();
  for await (const o of us.list('archive/refs/')) expect(o.key).not.toMatch(/eu1|sharer/);
  // What may live there is whole and restores on its own.
  const usRepo = await openRepository(us);
  expect((await verifyRepository(usRepo, { readData: true })).problems).toEqual([]);
  await restoreWorkflow(usRepo, plain, join(dir.path, `restored-${n++}`));

  // An EU pack found on that replica (copied before the rule, by hand) is drift; --prune removes it.
  await us.put(euPacks[0]!, await readObject(repo.store, euPacks[0]!));
  const found = await replicate(repo.store, us, { verify: false, prune: false, dryRun: false, refusal });
  expect(found.drift.map((d) => d.key)).toEqual([euPacks[0]]);
  const pruned = await replicate(repo.store, us, { verify: false, prune: true, dryRun: false, refusal });
  expect(pruned.pruned).toContain(euPacks[0]);
  expect(await us.head(euPacks[0]!)).toBeUndefined();

  // An EU replica may hold everything.
  const euStore = new FileSystemStore(join(dir.path, `eu-${n++}`));
  const all = await replicate(repo.store, euStore, {
    verify: false,
    prune: false,
    dryRun: false,
    // A directory has no region of its own: here it stands for one in eu-central-1.
    refusal: manifestRefusal(set, residency, { url: euStore.url, region: 'eu-central-1' }, new Date()),
  });
  expect(all.refused).toEqual([]);
  expect(await euStore.head(manifestKey(eu))).toBeDefined();
});

test('strata replicate --residency leaves the EU workflow out and says so', async () => {
  const root = join(dir.path, `primary-${n++}`);
  const repo = await initRepository(new FileSystemStore(root), SMALL);
  await archive(repo, 'eu2', [randomBytes(7_000)], { residency: 'eu' });
  const policyFile = join(dir.path, `policy-${n++}.yaml`);
  writeFileSync(
    policyFile,
    `apiVersion: strata.dev/v1alpha1
kind: RetentionPolicy
metadata: { name: eu }
spec:
  rules:
    - name: eu
      priority: 1000
      match: labels[?"residency"].orValue("") == "eu"
      destination: eu-archive
`,
  );
  const residencyFile = join(dir.path, `residency-${n++}.yaml`);
  writeFileSync(residencyFile, RESIDENCY);
  const to = `file:${join(dir.path, `us-${n++}`)}`;
  const cli = await runCli([
    '--store',
    `file:${root}`,
    'replicate',
    '--to',
    to,
    '--residency',
    residencyFile,
    '--policy',
    policyFile,
    '-o',
    'json',
  ]);
  expect(cli.code).toBe(0);
  expect(cli.err).toMatch(/residency: not copied: workflow agents\/wf-eu2: destination "eu-archive" may live only in/);
  expect(JSON.parse(cli.out).refused).toBeGreaterThan(0);
});

describe('--emit-replication', () => {
  test('one rule over the prefix, delete markers not replicated; refused when residency forbids the destination', () => {
    const cfg = replicationConfiguration(
      { bucket: 'strata', prefix: 'archive-root/' },
      { bucket: 'strata-dr', prefix: 'archive-root/' },
      'arn:aws:iam::1:role/strata-replication',
    );
    expect(cfg).toEqual({
      Role: 'arn:aws:iam::1:role/strata-replication',
      Rules: [
        {
          ID: 'strata-archive',
          Priority: 1,
          Status: 'Enabled',
          Filter: { Prefix: 'archive-root/' },
          DeleteMarkerReplication: { Status: 'Disabled' },
          Destination: { Bucket: 'arn:aws:s3:::strata-dr' },
        },
      ],
    });
    expect(() => replicationConfiguration({ bucket: 'a', prefix: 'x/' }, { bucket: 'b', prefix: 'y/' }, 'arn')).toThrow(
      ConfigError,
    );
    expect(() =>
      replicationConfiguration({ bucket: 'a', prefix: '' }, { bucket: 'b', prefix: '' }, 'arn', [
        { workflow: 'ns/eu', why: 'destination "eu-archive" may live only in s3://strata-eu*' },
      ]),
    ).toThrow(/1 workflow\(s\) may not live in s3:\/\/b .*use strata replicate/);
  });

  test('strata replicate --emit-replication prints the configuration', async () => {
    const cli = await runCli([
      '--store',
      's3://strata-main/arch',
      'replicate',
      '--to',
      's3://strata-dr/arch',
      '--emit-replication',
      'arn:aws:iam::1:role/r',
      '-o',
      'json',
    ]);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.out).Rules[0]).toMatchObject({
      Filter: { Prefix: 'arch/' },
      Destination: { Bucket: 'arn:aws:s3:::strata-dr' },
    });
  });
});

describe('directory replicas: placed by their real path, in a region only where the residency file says', () => {
  const sites = join(dir.path, 'sites');
  const DIRS = `
apiVersion: strata.dev/v1alpha1
kind: Residency
destinations:
  eu-archive:
    stores: ["file://${sites}/*"]
    regions: ["eu-*"]
  eu-sites:
    stores: ["file://${sites}/eu-*"]
places:
  - stores: ["file://${sites}/eu-*"]
    region: eu-central-1
  - stores: ["file://${sites}/us-*"]
    region: us-east-1
`;
  const dirsResidency = parseResidency(DIRS, 'residency.yaml');
  const pinned = policySet(
    [
      { name: 'eu', match: 'labels[?"residency"].orValue("") == "eu"', destination: 'eu-archive', priority: 1000 },
      { name: 'eu-sites', match: 'labels[?"residency"].orValue("") == "eu-sites"', destination: 'eu-sites' },
    ],
    { archiveAfter: '0s', retainFor: '1y' },
  );
  mkdirSync(join(sites, 'us-linked'), { recursive: true });
  symlinkSync(join(sites, 'us-linked'), join(sites, 'eu-link'));

  test('replicaPlace resolves symlinks and "..", takes the region from places, and refuses --to-region', () => {
    const place = (to: string) => replicaPlace(to, { residency: dirsResidency });
    expect(place(`file:${sites}/eu-1`)).toEqual({ url: `file://${sites}/eu-1`, region: 'eu-central-1' });
    expect(place(`file://${sites}/eu-1/../us-2`)).toEqual({ url: `file://${sites}/us-2`, region: 'us-east-1' });
    expect(place(`file://${sites}/eu-link/strata`)).toEqual({
      url: `file://${sites}/us-linked/strata`,
      region: 'us-east-1',
    });
    expect(place(`file:${sites}/apac-1`)).toEqual({ url: `file://${sites}/apac-1` });
    expect(() => replicaPlace(`file:${sites}/eu-1`, { toRegion: 'eu-west-1' })).toThrow(/--to-region is for s3/);
    expect(replicaPlace('s3://strata-eu-1/x', { s3Region: 'eu-west-1' })).toEqual({
      url: 's3://strata-eu-1/x',
      region: 'eu-west-1',
    });
  });

  test('an EU-pinned workflow is never copied to a non-EU directory, however its path is spelled', async () => {
    const root = join(dir.path, `primary-${n++}`);
    const repo = await initRepository(new FileSystemStore(root), SMALL);
    const eu = await archive(repo, 'eu-d', [randomBytes(8_000)], { residency: 'eu' });
    const euSites = await archive(repo, 'eu-s', [randomBytes(8_000)], { residency: 'eu-sites' });
    const plain = await archive(repo, 'plain-d', [randomBytes(8_000)]);
    const copyTo = async (to: string) => {
      const place = replicaPlace(to, { residency: dirsResidency });
      const replica = new FileSystemStore((parseStoreUrl(to) as { root: string }).root);
      const refusal = manifestRefusal(pinned, dirsResidency, place, new Date());
      const report = await replicate(repo.store, replica, { verify: false, prune: false, dryRun: false, refusal });
      const has = async (id: string) => (await replica.head(manifestKey(id))) !== undefined;
      return { report, eu: await has(eu), euSites: await has(euSites), plain: await has(plain) };
    };

    // A US site, by its name, through "..", through a symlink named like an EU site; and a site in no region.
    for (const to of [
      `file:${sites}/us-a`,
      `file://${sites}/eu-x/../us-b`,
      `file://${sites}/eu-link/strata-${n++}`,
      `file:${sites}/apac-${n++}`,
    ]) {
      const got = await copyTo(to);
      expect(got, to).toMatchObject({ eu: false, euSites: false, plain: true });
      expect(got.report.refused.find((r) => r.key === manifestKey(eu))?.why, to).toMatch(
        /may live only in regions eu-\*, not (us-east-1|.*no residency places entry)/,
      );
    }
    // An EU site gets everything.
    expect(await copyTo(`file:${sites}/eu-${n++}`)).toMatchObject({ eu: true, euSites: true, plain: true });
  });

  test('strata replicate places a directory by the residency file, not by a flag', async () => {
    const root = join(dir.path, `primary-${n++}`);
    const repo = await initRepository(new FileSystemStore(root), SMALL);
    await archive(repo, 'eu-c', [randomBytes(7_000)], { residency: 'eu' });
    const residencyFile = join(dir.path, `residency-${n++}.yaml`);
    writeFileSync(residencyFile, DIRS);
    const policyFile = join(dir.path, `policy-${n++}.yaml`);
    writeFileSync(
      policyFile,
      `apiVersion: strata.dev/v1alpha1
kind: RetentionPolicy
metadata: { name: eu }
spec:
  rules:
    - name: eu
      match: labels[?"residency"].orValue("") == "eu"
      destination: eu-archive
`,
    );
    const args = (to: string) => ['--store', `file:${root}`, 'replicate', '--to', to, '--residency', residencyFile];
    const us = await runCli([...args(`file://${sites}/eu-z/../us-${n++}`), '--policy', policyFile, '-o', 'json']);
    expect(us.code, us.err).toBe(0);
    expect(us.err).toMatch(/residency: not copied: workflow agents\/wf-eu-c: .* not us-east-1/);
    const claimed = await runCli([
      ...args(`file:${sites}/us-${n++}`),
      '--to-region',
      'eu-west-1',
      '--policy',
      policyFile,
    ]);
    expect(claimed.code).toBe(2);
    expect(claimed.err).toMatch(/--to-region is for s3:\/\/ replicas/);
  });
});
