// Configuration loading: precedence (flags > env > file), and one clear, located message for every mistake.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/config.ts';
import { ConfigError, describeError } from '../../lib/errors.ts';
import { parseStoreUrl } from '../../lib/store/open.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return describeError(err);
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('takes flags over env over the file, and fills defaults', () => {
    const path = file('ok.yaml', 'store: s3://from-file/p\ns3:\n  region: eu-west-1\n  maxAttempts: 3\n');
    const cfg = loadConfig({
      file: path,
      env: { STRATA_S3_REGION: 'eu-central-1', STRATA_S3_FORCE_PATH_STYLE: 'yes', STRATA_S3_MAX_ATTEMPTS: '7' },
      flags: { store: 'file:/tmp/x', s3: { region: undefined, endpoint: 'http://127.0.0.1:9000' } },
    });
    expect(cfg.store).toBe('file:/tmp/x');
    expect(cfg.s3).toMatchObject({
      region: 'eu-central-1',
      forcePathStyle: true,
      maxAttempts: 7,
      endpoint: 'http://127.0.0.1:9000',
      conditionalWrites: 'auto',
    });
    expect(loadConfig({ env: {} })).toMatchObject({ store: 'file:.strata/repo', output: 'table' });
  });

  it('reads STRATA_CONFIG when no file flag is given', () => {
    const path = file('env.yaml', 'output: json\n');
    expect(loadConfig({ env: { STRATA_CONFIG: path } }).output).toBe('json');
  });

  it('points at file:line:col for broken YAML', () => {
    const path = file('bad.yaml', 'store: s3://x\ns3:\n  endpoint: [unclosed\n');
    expect(failure(() => loadConfig({ file: path }))).toMatch(new RegExp(`^${path}:\\d+:\\d+: invalid YAML: `));
  });

  it('names an unknown key with its position and a suggestion', () => {
    const path = file('typo.yaml', 'store: s3://xyz\ns3:\n  region: eu-west-1\n  endpont: http://x\n');
    expect(failure(() => loadConfig({ file: path }))).toBe(
      `${path}:4:3: unknown configuration key "s3.endpont" (did you mean "endpoint"?)`,
    );
  });

  it('locates an invalid value in the file, but not when an env var supplied it', () => {
    const path = file('range.yaml', 's3:\n  maxAttempts: 99\n');
    expect(failure(() => loadConfig({ file: path }))).toMatch(
      new RegExp(`^${path}:2:3: invalid configuration at "s3.maxAttempts": `),
    );
    expect(failure(() => loadConfig({ file: path, env: { STRATA_S3_MAX_ATTEMPTS: '50' } }))).toMatch(
      /^invalid configuration at "s3.maxAttempts"/,
    );
  });

  it('names the env var for a bad boolean or number', () => {
    expect(failure(() => loadConfig({ env: { STRATA_S3_FORCE_PATH_STYLE: 'maybe' } }))).toBe(
      'environment variable STRATA_S3_FORCE_PATH_STYLE="maybe" is not a boolean (use true or false)',
    );
    expect(failure(() => loadConfig({ env: { STRATA_S3_MAX_ATTEMPTS: '5x' } }))).toBe(
      'environment variable STRATA_S3_MAX_ATTEMPTS="5x" is not a number',
    );
  });

  it('reports a missing config file by name', () => {
    expect(failure(() => loadConfig({ file: join(dir, 'absent.yaml') }))).toMatch(
      /absent\.yaml: cannot read config file: ENOENT/,
    );
  });
});

describe('parseStoreUrl', () => {
  it('accepts file: and s3:// forms', () => {
    expect(parseStoreUrl('file:///var/strata')).toEqual({ kind: 'file', root: '/var/strata' });
    expect(parseStoreUrl('file:repo', '/work')).toEqual({ kind: 'file', root: '/work/repo' });
    expect(parseStoreUrl('s3://bucket-1/a/b/')).toEqual({ kind: 's3', bucket: 'bucket-1', prefix: 'a/b/' });
    expect(parseStoreUrl('s3://bucket-1')).toEqual({ kind: 's3', bucket: 'bucket-1', prefix: '' });
  });

  it('refuses unknown schemes and missing buckets with a usage error', () => {
    expect(failure(() => parseStoreUrl('gs://x/y'))).toBe(
      'store URL scheme "gs:" is not supported (use file: or s3://)',
    );
    expect(failure(() => parseStoreUrl('s3://'))).toMatch(/has no valid bucket name/);
    expect(failure(() => parseStoreUrl('s3:///prefix'))).toMatch(/has no valid bucket name/);
    expect(failure(() => parseStoreUrl('/just/a/path'))).toMatch(/is not a URL/);
  });
});
