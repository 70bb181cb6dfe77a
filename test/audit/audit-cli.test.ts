// `strata audit …` end to end on a directory store: seal and verify with a signing key, proofs checked with the
// public key alone, tampering on disk found and named.
import { readdirSync, readFileSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InclusionProofDoc } from '../../lib/audit/proof.ts';
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

  test('report deletions: each deletion carries its proof against the report head, checked with the public key alone; tampered ones fail', async () => {
    const log = createStoreAuditLog(new FileSystemStore(repo));
    await log.record({
      action: 'emergency-delete',
      actor: 'oncall',
      subject: 'uid-leak',
      outcome: 'ok',
      reason: 'leaked token',
      approver: 'ciso',
      details: { manifests: ['a'.repeat(64)] },
    });
    await log.record({
      action: 'expire',
      actor: 'strata/tier',
      subject: 'uid-old',
      outcome: 'ok',
      reason: 'retainFor 30d',
      details: { manifests: ['b'.repeat(64)] },
    });
    const run = await strata([
      'report',
      'deletions',
      '--from',
      '2000-01-01T00:00:00Z',
      '--to',
      '2100-01-01T00:00:00Z',
      '-o',
      'json',
    ]);
    expect(run.code, run.err).toBe(0);
    const report = JSON.parse(run.out) as {
      basis: { head: { seq: number; size: number; root: string; keyId: string }; signed: boolean };
      deletions: Array<{ index: number; subject: string; proof: InclusionProofDoc }>;
    };
    expect(report.basis.signed).toBe(true);
    expect(report.deletions.map((d) => d.subject)).toEqual(['uid-leak', 'uid-old']);
    const check = async (doc: unknown) => {
      const file = join(root, 'deletion-proof.json');
      writeFileSync(file, JSON.stringify(doc));
      return runCli(['audit', 'check-proof', file, '--public-key', pub, '-o', 'json']);
    };
    for (const d of report.deletions) {
      // Against the very head the report names, signed by the log's key.
      const { seq, size, root: headRoot, keyId } = report.basis.head;
      expect(d.proof.head).toMatchObject({ seq, size, root: headRoot, signature: { keyId } });
      expect(d.proof.entry).toMatchObject({ index: d.index, record: { subject: d.subject } });
      const ok = await check(d.proof);
      expect(ok.code, ok.err).toBe(0);
    }
    const proof = report.deletions[0]!.proof;
    const altered = structuredClone(proof);
    (altered.entry.record as { approver?: string }).approver = 'nobody';
    const bad = await check(altered);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(new RegExp(`record ${proof.entry.index} is not in the log of head ${proof.head.seq}`));
    const badPath = structuredClone(proof);
    badPath.path[0] = 'f'.repeat(64);
    expect((await check(badPath)).code).toBe(1);
    // A head made up to fit an altered record does not carry the log key's signature.
    const forged = structuredClone(altered);
    forged.head.root = 'e'.repeat(64);
    const unsigned = await check(forged);
    expect(unsigned.code).toBe(1);
    expect(unsigned.err).toMatch(/signature that does not verify/);
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
