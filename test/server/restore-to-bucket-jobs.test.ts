// Restore jobs back into the artifact bucket (embedded runner) against a real S3 server: the target is the
// namespace's trusted artifact repository from configuration, never the caller's choice; the bytes land at the keys
// Argo recorded through the CLI's core, are read back and hashed; a key holding other bytes fails the job unless
// overwrite was asked; a refusal is a 403 with an audit record.
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { S3Config, TrustedArtifactRepository } from '../../lib/config/config.ts';
import type { Manifest } from '../../lib/archive/manifest.ts';
import type { AuditRecord } from '../../lib/audit/audit.ts';
import { restoreJob } from '../../server/api/schemas.ts';
import {
  bucketTargetUrl,
  configuredArtifactBuckets,
  requestedBucketTarget,
} from '../../server/restores/artifact-bucket.ts';
import type { RestoreJob } from '../../server/restores/job.ts';
import { S3Store } from '../../lib/store/s3.ts';
import { createBucket, s3PeerOrSkip, type PeerInfo } from '../support/s3-fixtures.ts';
import { ARTIFACT, startFixture, type Fixture } from './fixture.ts';

const { peer, skip } = s3PeerOrSkip();

function s3Of(p: PeerInfo): S3Config {
  return {
    endpoint: p.endpoint,
    region: p.region,
    forcePathStyle: true,
    accessKeyId: p.accessKeyId,
    secretAccessKey: p.secretAccessKey,
    maxAttempts: 3,
    conditionalWrites: 'auto',
  };
}

describe.skipIf(!peer)('restore jobs into the artifact bucket (S3)', () => {
  if (!peer) console.warn(`skipping: ${skip}`);
  let f: Fixture;
  let bucket: string;
  let artifacts: S3Store;
  beforeAll(async () => {
    bucket = await createBucket(peer!);
    const trusted: TrustedArtifactRepository[] = [
      { namespaces: ['agents'], bucket, endpoint: peer!.endpoint, insecure: false, keyPrefix: '{namespace}/' },
    ];
    f = await startFixture({}, undefined, {
      artifactKeys: true,
      restores: { artifactBuckets: configuredArtifactBuckets(trusted, s3Of(peer!)) },
    });
    artifacts = new S3Store({ ...s3Of(peer!), bucket, prefix: '' });
  });
  afterAll(() => f?.close());

  async function start(body: unknown) {
    const res = await fetch(`${f.base}/api/v1/restores`, {
      method: 'POST',
      headers: { authorization: 'Bearer alice-token', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as RestoreJob & { error?: { message: string } } };
  }
  async function finished(id: string): Promise<RestoreJob> {
    await f.restores!.whenSettled(id);
    const res = await fetch(`${f.base}/api/v1/restores/${id}`, { headers: { authorization: 'Bearer alice-token' } });
    return restoreJob.parse(await res.json()) as RestoreJob;
  }

  test('the artifact lands at its recorded key, verified; asked again, it is already there', async () => {
    f.audit.length = 0;
    const request = { manifestId: f.ids['wf-1'], scope: { kind: 'workflow' }, target: { kind: 'bucket' } };
    const { status, body } = await start({ requestId: 'b-1', ...request });
    expect(status, JSON.stringify(body)).toBe(202);
    expect(body.bucket?.url).toBe(`s3://${bucket}/`);
    const done = await finished(body.id);
    expect(done.phase, done.error).toBe('Succeeded');
    expect(done.bucket).toMatchObject({ url: `s3://${bucket}/`, written: 1, unchanged: 0, conflicts: [] });
    expect(done.bucket!.skipped).toBeGreaterThan(0); // the log and the Workflow object have no recorded key
    // Its progress counts what goes into the bucket: the one artifact with a recorded key.
    expect(done.progress).toMatchObject({
      entriesVerified: 1,
      entriesTotal: 1,
      bytesDone: ARTIFACT.length,
      bytesTotal: ARTIFACT.length,
    });
    expect(await text(await artifacts.get('agents/wf-1/model.txt'))).toBe(ARTIFACT);
    expect(f.audit.map((a) => [a.action, a.outcome, a.details?.toBucket])).toEqual([
      ['restore', 'started', `s3://${bucket}/`],
      ['restore', 'ok', `s3://${bucket}/`],
    ]);

    const again = await finished((await start({ requestId: 'b-2', ...request })).body.id);
    expect(again.phase).toBe('Succeeded');
    expect(again.bucket).toMatchObject({ written: 0, unchanged: 1 });
    // The same requestId with another target is another request.
    const clash = await start({ requestId: 'b-1', manifestId: f.ids['wf-1'], scope: { kind: 'workflow' } });
    expect(clash.status).toBe(409);
  });

  test('other bytes at the key fail the job and stay; with overwrite they are replaced', async () => {
    await artifacts.put('agents/wf-3/model.txt', Buffer.from('edited by hand\n'));
    const base = { manifestId: f.ids['wf-3'], scope: { kind: 'workflow' } };
    const kept = await finished((await start({ requestId: 'b-3', ...base, target: { kind: 'bucket' } })).body.id);
    expect(kept.phase).toBe('Failed');
    expect(kept.error).toMatch(/1 key\(s\) hold other objects .*agents\/wf-3\/model\.txt.*overwrite/);
    expect(kept.bucket?.conflicts).toEqual([expect.objectContaining({ key: 'agents/wf-3/model.txt' })]);
    expect(await text(await artifacts.get('agents/wf-3/model.txt'))).toBe('edited by hand\n');

    const replaced = await start({ requestId: 'b-4', ...base, target: { kind: 'bucket', overwrite: true } });
    const done = await finished(replaced.body.id);
    expect(done.phase, done.error).toBe('Succeeded');
    expect(done.bucket).toMatchObject({ written: 1, conflicts: [] });
    expect(await text(await artifacts.get('agents/wf-3/model.txt'))).toBe(ARTIFACT);
  });

  test('GraphQL: startRestore with target BUCKET, the same job and outcome', async () => {
    const gql = async (query: string, variables: Record<string, unknown>) => {
      const res = await fetch(`${f.base}/graphql`, {
        method: 'POST',
        headers: { authorization: 'Bearer alice-token', 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- shapes are the query's
      return (await res.json()) as { data?: any; errors?: unknown[] };
    };
    const started = await gql(
      `mutation($input: RestoreInput!) { startRestore(input: $input) { created restore { id target { kind overwrite } bucket { url } } } }`,
      {
        input: {
          requestId: 'g-b-1',
          manifestId: f.ids['wf-2'],
          scope: { kind: 'WORKFLOW' },
          target: { kind: 'BUCKET', overwrite: null },
        },
      },
    );
    expect(started.errors).toBeUndefined();
    const { restore } = started.data.startRestore;
    expect(restore.target).toEqual({ kind: 'BUCKET', overwrite: false });
    expect(restore.bucket.url).toBe(`s3://${bucket}/`);
    await f.restores!.whenSettled(restore.id);
    const done = await gql(
      `query($id: ID!) { restore(id: $id) { phase bucket { written unchanged skipped conflicts { key } } } }`,
      { id: restore.id },
    );
    expect(done.data.restore).toMatchObject({ phase: 'SUCCEEDED', bucket: { written: 1, conflicts: [] } });
    expect(await text(await artifacts.get('agents/wf-2/model.txt'))).toBe(ARTIFACT);
  });

  test('partial: a log or an artifact scope writes only its own keys, with the same checks', async () => {
    await artifacts.delete(['agents/wf-1/model.txt']);
    f.audit.length = 0;
    // The log has no recorded key: nothing is written, and the artifact's key is not touched.
    const log = await start({
      requestId: 'b-5',
      manifestId: f.ids['wf-1'],
      scope: { kind: 'log', nodeId: 'wf-1-node', container: 'main' },
      target: { kind: 'bucket' },
    });
    expect(log.status, JSON.stringify(log.body)).toBe(202);
    const logDone = await finished(log.body.id);
    expect(logDone.phase, logDone.error).toBe('Succeeded');
    expect(logDone.bucket).toMatchObject({ written: 0, unchanged: 0, skipped: 1, conflicts: [] });
    expect(logDone.progress).toMatchObject({ entriesTotal: 0, bytesTotal: 0 });
    expect(await artifacts.head('agents/wf-1/model.txt')).toBeUndefined();

    const artifact = { kind: 'artifact', path: 'artifacts/wf-1-node/model.txt' };
    const one = await start({
      requestId: 'b-6',
      manifestId: f.ids['wf-1'],
      scope: artifact,
      target: { kind: 'bucket' },
    });
    expect(one.status, JSON.stringify(one.body)).toBe(202);
    const done = await finished(one.body.id);
    expect(done.phase, done.error).toBe('Succeeded');
    expect(done.bucket).toMatchObject({ url: `s3://${bucket}/`, written: 1, skipped: 0, conflicts: [] });
    expect(done.progress).toMatchObject({ entriesVerified: 1, entriesTotal: 1, bytesTotal: ARTIFACT.length });
    expect(await text(await artifacts.get('agents/wf-1/model.txt'))).toBe(ARTIFACT);

    // Create-only: other bytes at the key fail the partial job too, and stay.
    await artifacts.put('agents/wf-1/model.txt', Buffer.from('edited by hand\n'));
    const kept = await finished(
      (await start({ requestId: 'b-7', manifestId: f.ids['wf-1'], scope: artifact, target: { kind: 'bucket' } })).body
        .id,
    );
    expect(kept.phase).toBe('Failed');
    expect(await text(await artifacts.get('agents/wf-1/model.txt'))).toBe('edited by hand\n');
    await artifacts.put('agents/wf-1/model.txt', Buffer.from(ARTIFACT));

    const missing = await start({
      requestId: 'b-8',
      manifestId: f.ids['wf-1'],
      scope: { kind: 'artifact', path: 'artifacts/nope' },
      target: { kind: 'bucket' },
    });
    expect(missing.status).toBe(404);
  });

  test('the request names no bucket', async () => {
    const named = await start({
      requestId: 'b-9',
      manifestId: f.ids['wf-1'],
      scope: { kind: 'workflow' },
      target: { kind: 'bucket', bucket: 'someone-elses' },
    });
    expect(named.status).toBe(400);
  });
});

describe('the target of a bucket restore', () => {
  const s3: S3Config = {
    endpoint: 'https://s3.corp',
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    conditionalWrites: 'off',
  };
  const trusted: TrustedArtifactRepository[] = [
    {
      namespaces: ['agents'],
      bucket: 'art-agents',
      endpoint: 'https://s3.corp',
      insecure: false,
      keyPrefix: '{namespace}/',
    },
  ];
  const manifestWith = (...keys: string[]) =>
    ({
      entries: keys.map((key, i) => ({ path: `artifacts/n/${i}`, meta: { s3: { key, bucket: 'art-finance' } } })),
    }) as unknown as Manifest;
  const buckets = configuredArtifactBuckets(trusted, s3);
  const workflow = { kind: 'workflow' } as const;
  const toBucket = { kind: 'bucket', overwrite: false } as const;

  test('is the namespace’s repository, whatever bucket the workflow recorded', () => {
    expect(bucketTargetUrl(buckets, 'agents', manifestWith('agents/wf/out.tgz'), workflow, toBucket)).toBe(
      's3://art-agents/',
    );
  });

  test('a key the tenant recorded outside its prefix, or a namespace without a repository: 403', () => {
    const hostile = () =>
      bucketTargetUrl(buckets, 'agents', manifestWith('agents/wf/a', 'finance/ledger.db'), workflow, toBucket);
    expect(hostile).toThrow(
      expect.objectContaining({ status: 403, message: expect.stringMatching(/finance\/ledger\.db/) }),
    );
    const other = () => bucketTargetUrl(buckets, 'finance', manifestWith('finance/x'), workflow, toBucket);
    expect(other).toThrow(
      expect.objectContaining({
        status: 403,
        message: expect.stringMatching(/no artifact repository is trusted for namespace finance/),
      }),
    );
  });

  test('a partial scope checks the keys it writes: its own inside the prefix pass, a hostile one is refused', () => {
    const manifest = manifestWith('agents/wf/a', 'finance/ledger.db');
    const own = { kind: 'artifact', path: 'artifacts/n/0' } as const;
    expect(bucketTargetUrl(buckets, 'agents', manifest, own, toBucket)).toBe('s3://art-agents/');
    const hostile = { kind: 'artifact', path: 'artifacts/n/1' } as const;
    expect(() => bucketTargetUrl(buckets, 'agents', manifest, hostile, toBucket)).toThrow(
      expect.objectContaining({ status: 403, message: expect.stringMatching(/finance\/ledger\.db/) }),
    );
  });

  test('a refusal is audited with the caller', async () => {
    const records: AuditRecord[] = [];
    const audit = { record: async (r: AuditRecord) => void records.push(r) };
    const alice = { username: 'alice', groups: [], via: 'token-file' as const };
    const req = { manifestId: 'm1', scope: workflow, target: toBucket };
    await expect(
      requestedBucketTarget(buckets, audit, alice, req, 'agents', manifestWith('finance/ledger.db')),
    ).rejects.toMatchObject({ status: 403 });
    expect(records).toEqual([
      expect.objectContaining({ action: 'restore', actor: 'alice', subject: 'm1', outcome: 'refused' }),
    ]);
    expect(records[0]!.reason).toMatch(/finance\/ledger\.db/);
  });

  test('a server without artifact repositories says so', () => {
    expect(() => bucketTargetUrl(undefined, 'agents', manifestWith(), workflow, toBucket)).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringMatching(/artifactRepositories/) }),
    );
  });
});
