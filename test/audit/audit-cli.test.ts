// `strata audit …` end to end on a directory store: seal and verify with a signing key, proofs checked with the
// public key alone, tampering on disk found and named.
import { readdirSync, readFileSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createStoreAuditLog } from '../../lib/audit/store-audit.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { runCli } from '../support/run-cli.ts';

let root: string;
let repo: string;
let config: string;
let pub: string;
const strata = (args: string[]) => runCli(['--store', `file:${repo}`, '--config', config, ...args]);

async function writeRecords(count: number, from = 0) {
  const log = createStoreAuditLog(new FileSystemStore(repo));
  for (let i = from; i < from + count; i++) {
    await log.record({ action: 'restore', actor: `user${i}`, subject: `uid-${i}`, outcome: 'ok', reason: `r${i}` });
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'strata-audit-cli-'));
  repo = join(root, 'repo');
  config = join(root, 'strata.yaml');
  const key = join(root, 'key.pem');
  writeFileSync(config, `audit:\n  signingKey: ${key}\n`);
  const gen = await runCli(['audit', 'keygen', '--out', key, '-o', 'json']);
  expect(gen.code, gen.err).toBe(0);
  pub = join(root, 'pub.pem');
  writeFileSync(pub, (JSON.parse(gen.out) as { publicKey: string }).publicKey);
  await writeRecords(5);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('strata audit', () => {
  test('verify seals pending records under a signed head and checks the log', async () => {
    const run = await strata(['audit', 'verify', '-o', 'json']);
    expect(run.code, run.err).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ ok: true, signed: true, sealed: 5, records: 5, heads: 1 });
  });

  test('an inclusion proof checks with the public key alone, and fails once the record is altered', async () => {
    const proof = await strata(['audit', 'prove', '2', '-o', 'json']);
    expect(proof.code, proof.err).toBe(0);
    const file = join(root, 'proof.json');
    writeFileSync(file, proof.out);
    const ok = await runCli(['audit', 'check-proof', file, '--public-key', pub, '-o', 'json']);
    expect(ok.code, ok.err).toBe(0);
    const doc = JSON.parse(proof.out);
    doc.entry.record.actor = 'someone-else';
    writeFileSync(file, JSON.stringify(doc));
    const bad = await runCli(['audit', 'check-proof', file, '--public-key', pub]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/record 2 is not in the log of head \d+/);
  });

  test('a consistency proof between two heads checks with the public key alone', async () => {
    await writeRecords(3, 100);
    const sealed = await strata(['audit', 'seal', '-o', 'json']);
    expect(sealed.code, sealed.err).toBe(0);
    const proof = await strata(['audit', 'consistency', '1', '2', '-o', 'json']);
    expect(proof.code, proof.err).toBe(0);
    const file = join(root, 'consistency.json');
    writeFileSync(file, proof.out);
    const ok = await runCli(['audit', 'check-proof', file, '--public-key', pub, '-o', 'json']);
    expect(ok.code, ok.err).toBe(0);
  });

  test('an edited record on disk is named by verify (exit 1)', async () => {
    const dir = join(repo, 'audit/log/segments');
    const seg = join(
      dir,
      readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .sort()[0]!,
    );
    const original = readFileSync(seg, 'utf8');
    writeFileSync(seg, original.replace('"actor":"user1"', '"actor":"user9"'));
    try {
      const run = await strata(['audit', 'verify', '--no-seal', '-o', 'json']);
      expect(run.code).toBe(1);
      expect(JSON.parse(run.out)).toMatchObject({ ok: false, firstBadRecord: 1 });
      expect(run.err).toMatch(/record 1 was changed/);
    } finally {
      writeFileSync(seg, original);
    }
  });

  test('the newest head removed is found against a trusted copy of it', async () => {
    const heads = join(repo, 'audit/log/heads');
    const newest = join(
      heads,
      readdirSync(heads)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .at(-1)!,
    );
    const trusted = join(root, 'trusted.json');
    writeFileSync(trusted, readFileSync(newest));
    expect((await strata(['audit', 'verify', '--no-seal', '--trusted-head', trusted])).code).toBe(0);
    unlinkSync(newest);
    const run = await strata(['audit', 'verify', '--no-seal', '--trusted-head', trusted]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/newer heads were removed/);
  });
});
