// `strata selfcheck` as a subprocess: bad configuration gives one clear stderr line and exit 2 or 1, never a stack.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucket, s3PeerOrSkip } from '../support/s3-fixtures.ts';
import { spawnCli, type CliRun } from '../support/spawn-cli.ts';
import { freePort, startMoto, type S3Peer } from '../support/s3-peer.ts';

type Run = CliRun;

const strata = (args: string[], env: Record<string, string> = {}): Promise<Run> => spawnCli(args, { env, cwd: dir });

/** Exactly one line on stderr, prefixed, without a stack trace. */
function expectOneLine(run: Run, code: number, pattern: RegExp | string): void {
  const lines = run.stderr.split('\n').filter(Boolean);
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^strata: /);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  if (typeof pattern === 'string') expect(lines[0]).toBe(`strata: ${pattern}`);
  else expect(lines[0]).toMatch(pattern);
  expect(run.code).toBe(code);
}

const dir = mkdtempSync(join(tmpdir(), 'strata-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.concurrent('strata selfcheck: configuration errors (no server needed)', () => {
  it('rejects an unknown store URL scheme with exit 2', async () => {
    expectOneLine(
      await strata(['selfcheck', '--store', 'gs://bucket/x']),
      2,
      'store URL scheme "gs:" is not supported (use file: or s3://)',
    );
  });

  it('rejects an S3 URL without a bucket with exit 2', async () => {
    expectOneLine(await strata(['selfcheck', '--store', 's3://']), 2, /store URL "s3:\/\/" has no valid bucket name/);
  });

  it('points at file:line:col for a config file that is not YAML, exit 2', async () => {
    const path = join(dir, 'broken.yaml');
    writeFileSync(path, 'store: file:/tmp/x\ns3:\n  region: [eu\n');
    expectOneLine(
      await strata(['selfcheck', '--config', path]),
      2,
      new RegExp(`^strata: ${path}:\\d+:\\d+: invalid YAML: `),
    );
  });

  it('names the env var holding a bad boolean, exit 2', async () => {
    expectOneLine(
      await strata(['selfcheck'], { STRATA_DEBUG: 'sometimes' }),
      2,
      'environment variable STRATA_DEBUG="sometimes" is not a boolean (use true or false)',
    );
  });

  it('reports an unreachable endpoint with exit 1', async () => {
    const port = await freePort(); // nothing listens there
    expectOneLine(
      await strata(
        ['selfcheck', '--store', 's3://bucket-x/p', '--s3-endpoint', `http://127.0.0.1:${port}`, '--s3-path-style'],
        {
          STRATA_S3_ACCESS_KEY_ID: 'k',
          STRATA_S3_SECRET_ACCESS_KEY: 's',
          STRATA_S3_MAX_ATTEMPTS: '2',
        },
      ),
      1,
      `cannot reach S3 endpoint http://127.0.0.1:${port}: ECONNREFUSED`,
    );
  });

  it('prints the stack only with --debug', async () => {
    const run = await strata(['selfcheck', '--store', 'gs://x', '--debug']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/\n\s+at /);
  });

  it('passes the self-check on a local directory', async () => {
    const run = await strata(['selfcheck', '--store', `file:${join(dir, 'repo')}`, '--output', 'json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { ok: boolean; steps: { step: string; ok: boolean }[] };
    expect(report.ok).toBe(true);
    expect(report.steps.map((s) => s.step)).toEqual(['put', 'head', 'get', 'list', 'delete']);
  });
});

const { peer, skip } = s3PeerOrSkip();
if (!peer) {
  describe.skip(`strata selfcheck against S3 (skipped: ${skip})`, () => {});
} else {
  describe.concurrent(`strata selfcheck against ${peer.server}`, () => {
    const s3env = {
      STRATA_S3_ENDPOINT: peer.endpoint,
      STRATA_S3_FORCE_PATH_STYLE: 'true',
      STRATA_S3_ACCESS_KEY_ID: peer.accessKeyId,
      STRATA_S3_SECRET_ACCESS_KEY: peer.secretAccessKey,
    };
    let authMoto: S3Peer | undefined;
    beforeAll(async () => {
      // A second moto that checks credentials; the shared one accepts any key.
      if (peer.server.startsWith('moto')) authMoto = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: '0' });
    });
    afterAll(() => authMoto?.stop());

    it('passes the self-check on a bucket', async () => {
      const bucket = await createBucket(peer);
      const run = await strata(['selfcheck', '--store', `s3://${bucket}/strata`, '-o', 'json'], s3env);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ store: `s3://${bucket}/strata/`, ok: true });
    });

    it('says which bucket does not exist, exit 1', async () => {
      expectOneLine(
        await strata(['selfcheck', '--store', 's3://no-such-bucket-here/p'], s3env),
        1,
        `bucket "no-such-bucket-here" does not exist (at ${peer.endpoint})`,
      );
    });

    it('says the credentials are wrong, exit 1', async () => {
      const endpoint = authMoto?.endpoint ?? peer.endpoint;
      expectOneLine(
        await strata(['selfcheck', '--store', 's3://any-bucket/p'], {
          ...s3env,
          STRATA_S3_ENDPOINT: endpoint,
          STRATA_S3_ACCESS_KEY_ID: 'AKIAWRONGWRONGWRONG1',
          STRATA_S3_SECRET_ACCESS_KEY: 'wrong',
        }),
        1,
        /^strata: s3:\/\/any-bucket\/p\/\.strata-selfcheck\/\S+: (access key not recognised|signature does not match|access denied).*\(check/,
      );
    });
  });
}
