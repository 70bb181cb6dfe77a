// Encryption through the real CLI: the config turns it on, every command works on the sealed repository, keys
// rotate and erase, the erasure is in the audit log, and a Strata without the keys is told so.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { logText } from '../archive/fixtures.ts';
import { runCli } from '../support/run-cli.ts';

let root: string;
let store: string;
const log = logText(91, 150_000);
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-crypto-cli-'));
  store = `file:${path.join(root, 'repo')}`;
  for (const ns of ['team-a', 'team-b']) {
    mkdirSync(path.join(root, `export/${ns}/w/logs/w-1`), { recursive: true });
    writeFileSync(
      path.join(root, `export/${ns}/w/workflow.yaml`),
      `apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: ${ns}, uid: u-${ns}}\n` +
        'spec: {entrypoint: a}\nstatus:\n  phase: Succeeded\n  nodes:\n    w-1: {id: w-1, name: w.a, type: Pod, phase: Succeeded, templateName: a}\n',
    );
    writeFileSync(path.join(root, `export/${ns}/w/logs/w-1/main.log`), log);
  }
});
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(root, { recursive: true, force: true });
});

const sealed = (args: string[]) => {
  vi.stubEnv('STRATA_ENCRYPTION', 'true');
  vi.stubEnv('STRATA_ENCRYPTION_KEY_DIR', path.join(root, 'keys'));
  return runCli(['--store', store, ...args]).finally(() => vi.unstubAllEnvs());
};

test('archive, restore, verify, rotate and erase an encrypted repository through the CLI', async () => {
  const archived = await sealed(['archive', '--from', path.join(root, 'export'), '-o', 'json']);
  expect(archived.code, archived.err).toBe(0);
  expect(JSON.parse(archived.out)).toMatchObject({ workflows: 2, archived: 2, failed: 0 });
  expect(readdirSync(path.join(root, 'keys')).sort()).toEqual(['_repository', 'team-a', 'team-b']);
  expect(readFileSync(path.join(root, 'repo/archive/config')).subarray(0, 8).toString()).toBe('STRATAEN');

  const restored = await sealed(['restore', 'u-team-a', '--to', path.join(root, 'out-a')]);
  expect(restored.code, restored.err).toBe(0);
  expect(readFileSync(path.join(root, 'out-a/logs/w-1/main.log')).equals(log)).toBe(true);
  const verify = await sealed(['verify', '--read-data', '-o', 'json']);
  expect(verify.code, verify.err).toBe(0);
  expect(JSON.parse(verify.out)).toMatchObject({ ok: true, manifests: 2, problems: 0 });

  const plain = await runCli(['--store', store, 'restore', 'u-team-a', '--to', path.join(root, 'nope')]);
  expect(plain.code).toBe(2);
  expect(plain.err).toMatch(/the repository is encrypted: configure its keys/);

  // A replica gets the sealed bytes as they are, checked with the keys; it is the same repository.
  const replica = path.join(root, 'replica');
  const replicated = await sealed(['replicate', '--to', `file:${replica}`, '--verify', '-o', 'json']);
  expect(replicated.code, replicated.err).toBe(0);
  expect(JSON.parse(replicated.out)).toMatchObject({ copied: expect.any(Number), healed: 0, drift: 0 });
  expect(
    readFileSync(path.join(replica, 'archive/config')).equals(readFileSync(path.join(root, 'repo/archive/config'))),
  ).toBe(true);
  vi.stubEnv('STRATA_ENCRYPTION', 'true');
  vi.stubEnv('STRATA_ENCRYPTION_KEY_DIR', path.join(root, 'keys'));
  const fromReplica = await runCli([
    '--store',
    `file:${replica}`,
    'restore',
    'u-team-a',
    '--to',
    path.join(root, 'out-r'),
  ]);
  vi.unstubAllEnvs();
  expect(fromReplica.code, fromReplica.err).toBe(0);
  expect(readFileSync(path.join(root, 'out-r/logs/w-1/main.log')).equals(log)).toBe(true);

  const rotated = await sealed(['keys', 'rotate', '--tenant', 'team-b', '-o', 'json']);
  expect(rotated.code, rotated.err).toBe(0);
  expect((await sealed(['restore', 'u-team-b', '--to', path.join(root, 'out-b')])).code).toBe(0);

  const unconfirmed = await sealed(['keys', 'erase', '--tenant', 'team-a', '--reason', 'GDPR-123']);
  expect(unconfirmed.code).toBe(2);
  // A legal hold on one of the tenant's workflows stops the erasure, until it is released; another tenant's does not.
  const hold = await sealed(['hold', 'set', 'u-team-a', '--reason', 'case 7', '--id', 'h-1']);
  expect(hold.code, hold.err).toBe(0);
  expect((await sealed(['hold', 'set', 'u-team-b', '--reason', 'case 8', '--id', 'h-2'])).code).toBe(0);
  const held = await sealed(['keys', 'erase', '--tenant', 'team-a', '--reason', 'GDPR-123', '--yes']);
  expect(held.code, held.err).toBe(1);
  expect(held.err).toMatch(/under legal hold, nothing erased.*u-team-a\/h-1/);
  expect((await sealed(['restore', 'u-team-a', '--to', path.join(root, 'out-a1')])).code).toBe(0);
  expect((await sealed(['hold', 'release', 'u-team-a', 'h-1', '--reason', 'closed'])).code).toBe(0);
  const erased = await sealed(['keys', 'erase', '--tenant', 'team-a', '--reason', 'GDPR-123', '--yes', '-o', 'json']);
  expect(erased.code, erased.err).toBe(0);
  expect(JSON.parse(erased.out)).toMatchObject({ tenant: 'team-a', unwrapRefused: true, kept: [] });
  const gone = await sealed(['restore', 'u-team-a', '--to', path.join(root, 'out-a2')]);
  expect(gone.code).not.toBe(0);
  const still = await sealed(['restore', 'u-team-b', '--to', path.join(root, 'out-b2')]);
  expect(still.code, still.err).toBe(0);
  expect(readFileSync(path.join(root, 'out-b2/logs/w-1/main.log')).equals(log)).toBe(true);
  const after = await sealed(['verify', '--read-data', '-o', 'json']);
  expect(after.code, after.err).toBe(0);
  expect(JSON.parse(after.out)).toMatchObject({ ok: true, manifests: 1 });

  // The audit log (sealed too) holds the erasure and verifies; nothing of its reason is readable at rest.
  expect((await sealed(['audit', 'seal'])).code).toBe(0);
  const audit = await sealed(['audit', 'verify', '-o', 'json']);
  expect(audit.code, audit.err).toBe(0);
  expect(audit.out).not.toMatch(/"ok":\s*false/);
  for (const f of readdirSync(path.join(root, 'repo'), { recursive: true, withFileTypes: true }))
    if (f.isFile()) expect(readFileSync(path.join(f.parentPath, f.name)).includes('GDPR-123'), f.name).toBe(false);
});
