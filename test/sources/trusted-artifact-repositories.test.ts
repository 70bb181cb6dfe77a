// A workflow's status and its namespace's ConfigMap are the tenant's to edit: they may only select one of the
// artifact repositories Strata's configuration trusts, never point Strata's S3 credentials at another bucket,
// another tenant's prefix, or a plain-HTTP endpoint. Before: whatever the status named was read.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../lib/config/config.ts';
import { artifactReaderFor, type ArtifactRepositoryConfig } from '../../lib/sources/argo-artifact-repository.ts';
import {
  objectRefused,
  namespaceRestoreTarget,
  restoreTargetRefused,
  trustRepository,
  type TrustedArtifactRepository,
} from '../../lib/sources/trusted-artifact-repositories.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ClusterApi } from '../../lib/kube/cluster-api.ts';

const TRUSTED: TrustedArtifactRepository[] = [
  {
    namespaces: ['team-a'],
    bucket: 'artifacts-a',
    endpoint: 'https://s3.corp',
    insecure: false,
    keyPrefix: '{namespace}/',
  },
  { namespaces: ['*'], bucket: 'shared', endpoint: 'minio.argo.svc:9000', insecure: true },
  { namespaces: ['*'], bucket: 'local', endpoint: 'http://127.0.0.1:9000', insecure: false },
  { namespaces: ['team-b'], bucket: 'plain', endpoint: 'http://s3.corp', insecure: false },
];

const candidate = (bucket: string, endpoint?: string, insecure = false): ArtifactRepositoryConfig => ({
  source: 'status.artifactRepositoryRef',
  bucket,
  endpoint,
  insecure,
  archiveLogs: true,
});

describe('a tenant-editable setting only selects a trusted repository', () => {
  test('a trusted repository is used with its own endpoint and scheme, not the status’s', () => {
    const chosen = trustRepository(candidate('artifacts-a', 's3.corp', true), 'team-a', TRUSTED);
    expect(chosen).toMatchObject({ repo: { bucket: 'artifacts-a', endpoint: 'https://s3.corp', insecure: false } });
  });

  test.each([
    ['another tenant’s bucket', candidate('artifacts-a', 's3.corp'), 'team-b', /not trusted for namespace team-b/],
    ['an unknown bucket', candidate('evil', 's3.corp'), 'team-a', /not a trusted artifact repository/],
    ['a trusted bucket at another endpoint', candidate('shared', 'evil.example:9000', true), 'team-a', /not a trusted/],
    [
      'plain HTTP not allowed by configuration',
      candidate('plain', 'http://s3.corp'),
      'team-b',
      /plain HTTP is not allowed/,
    ],
  ])('refused: %s', (_what, repo, namespace, message) => {
    expect(trustRepository(repo, namespace, TRUSTED)).toEqual({ refused: expect.stringMatching(message) });
  });

  test('plain HTTP only where configuration allows it, or on loopback', () => {
    expect(trustRepository(candidate('shared', 'minio.argo.svc:9000', true), 'x', TRUSTED)).toMatchObject({
      repo: { insecure: true },
    });
    expect(trustRepository(candidate('local', '127.0.0.1:9000', true), 'x', TRUSTED)).toMatchObject({
      repo: { endpoint: 'http://127.0.0.1:9000' },
    });
  });

  test('nothing trusted (unconfigured): nothing is read', () => {
    expect(trustRepository(candidate('shared', 'minio.argo.svc:9000'), 'x', undefined)).toEqual({
      refused: expect.stringMatching(/no artifact repositories are trusted/),
    });
  });

  test('objects: the artifact’s own bucket and the namespace’s prefix bind too', () => {
    const a = TRUSTED[0]!;
    expect(objectRefused(a, 'team-a', undefined, 'team-a/wf/pod/main.log')).toBeUndefined();
    expect(objectRefused(a, 'team-a', 'artifacts-a', 'team-b/wf/pod/main.log')).toMatch(/outside namespace team-a/);
    expect(objectRefused(a, 'team-a', 'other-bucket', 'team-a/x')).toMatch(/outside the trusted artifact repository/);
    expect(objectRefused(a, 'team-a', undefined, 'team-a/../team-b/x')).toMatch(/"\.\."/);
  });
});

describe('the reader a cluster archive uses', () => {
  const root = mkdtempSync(join(tmpdir(), 'strata-trusted-artifacts-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'artifacts-a', 'team-a'), { recursive: true });
  writeFileSync(join(root, 'artifacts-a', 'team-a', 'log'), 'mine\n');
  const noConfigMaps = { readConfigMap: async () => undefined } as unknown as ClusterApi;
  const readerFor = artifactReaderFor(noConfigMaps, (bucket) => new FileSystemStore(join(root, bucket)), TRUSTED);
  const wf = (ns: string, bucket: string, endpoint: string) => ({
    metadata: { namespace: ns },
    status: { artifactRepositoryRef: { artifactRepository: { s3: { bucket, endpoint } } } },
  });

  test('reads the workflow’s trusted repository, within its prefix', async () => {
    const reader = (await readerFor(wf('team-a', 'artifacts-a', 's3.corp')))!;
    expect(await reader.size(undefined, 'team-a/log')).toBe(5);
    await expect(reader.size('artifacts-a', 'team-b/log')).rejects.toThrow(/outside namespace team-a/);
  });

  test('a status naming a foreign bucket or endpoint is refused (its entries are then recorded missing)', async () => {
    await expect(readerFor(wf('team-b', 'artifacts-a', 's3.corp'))).rejects.toThrow(/not trusted for namespace team-b/);
    await expect(readerFor(wf('team-a', 'artifacts-a', 'attacker.example'))).rejects.toThrow(/not a trusted/);
  });
});

test('configuration: trusted repositories from the environment (YAML or JSON)', () => {
  const config = loadConfig({
    env: { STRATA_ARTIFACT_REPOSITORIES: '[{bucket: shared, endpoint: "minio:9000", insecure: true}]' },
  });
  expect(config.artifactRepositories).toEqual([
    { namespaces: ['*'], bucket: 'shared', endpoint: 'minio:9000', insecure: true },
  ]);
  expect(() => loadConfig({ env: { STRATA_ARTIFACT_REPOSITORIES: '[{bucket: x, endpont: y}]' } })).toThrow(
    /artifactRepositories/,
  );
});

test('restore --to-bucket on a cluster: only the workflow namespace’s trusted repository, inside its prefix', () => {
  const at = (bucket: string, prefix: string, ns: string, endpoint = 'https://s3.corp') =>
    restoreTargetRefused({ bucket, prefix }, ns, TRUSTED, endpoint, []);
  expect(at('artifacts-a', 'team-a/restored/', 'team-a')).toBeUndefined();
  expect(at('artifacts-a', 'team-b/', 'team-a')).toMatch(/outside namespace team-a's prefix team-a\//);
  expect(at('artifacts-a', 'team-a/', 'team-b')).toMatch(/not trusted for namespace team-b/);
  expect(at('someone-elses', '', 'team-a')).toMatch(/not a trusted artifact repository/);
  expect(at('artifacts-a', 'team-a/', 'team-a', 'https://elsewhere')).toMatch(/not a trusted/);
  expect(restoreTargetRefused({ bucket: 'shared', prefix: '' }, 'x', undefined, undefined, [])).toMatch(
    /not a trusted/,
  );
});

test('restore --to-bucket checks every key it writes: a key the tenant recorded outside its prefix is refused', () => {
  const at = (prefix: string, keys: string[]) =>
    restoreTargetRefused({ bucket: 'artifacts-a', prefix }, 'team-a', TRUSTED, 'https://s3.corp', keys);
  // Argo's keys already carry the namespace's prefix: restored at the bucket's root they land where they were.
  expect(at('', ['team-a/wf-1/main.log', 'team-a/wf-1/out.tgz'])).toBeUndefined();
  expect(at('', ['team-a/wf-1/main.log', 'team-b/wf-9/secret.tgz'])).toMatch(
    /team-b\/wf-9\/secret\.tgz would write s3:\/\/artifacts-a\/team-b\/wf-9\/secret\.tgz .*outside namespace team-a's prefix/,
  );
  expect(at('', ['team-a/../team-b/x'])).toMatch(/".."/);
  expect(at('team-a/restored/', ['wf-1/main.log'])).toBeUndefined();
});

test('a restore job of the API writes only into the repository trusted for the namespace', () => {
  const s3 = 'https://s3.corp';
  expect(namespaceRestoreTarget('team-a', [], TRUSTED, s3)).toEqual({ bucket: 'artifacts-a' });
  // What the archive recorded cannot choose another tenant's bucket, nor one at another endpoint.
  expect(namespaceRestoreTarget('team-a', ['plain', 'shared'], TRUSTED, s3)).toEqual({ bucket: 'artifacts-a' });
  expect(namespaceRestoreTarget('team-c', [], TRUSTED, s3)).toMatchObject({ refused: /no artifact repository/ });
  expect(namespaceRestoreTarget('team-b', [], TRUSTED, 'http://s3.corp')).toEqual({ bucket: 'plain' });
  const two = [...TRUSTED, { namespaces: ['team-a'], bucket: 'artifacts-a2', endpoint: s3, insecure: false }];
  expect(namespaceRestoreTarget('team-a', [], two, s3)).toMatchObject({ refused: /2 trusted artifact repositories/ });
  expect(namespaceRestoreTarget('team-a', ['artifacts-a2'], two, s3)).toEqual({ bucket: 'artifacts-a2' });
});
