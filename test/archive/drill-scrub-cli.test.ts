// `strata drill` and `strata verify --scrub` through the real CLI, on a directory store and on S3 (moto): a drill
// passes on a sound archive and catches bytes flipped in a pack, its failure an audit record and a non-zero exit;
// the scrub reports coverage as output parameters and audits the corruption it finds, keeping the data.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { PACKS_PREFIX } from '../../lib/archive/repository.ts';
import { auditRecords } from '../../lib/audit/store-log.ts';
import type { WrittenRecord } from '../../lib/audit/log-format.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { readObject } from '../../lib/store/read-whole.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { runCli } from '../support/run-cli.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';
import { logText } from './fixtures.ts';

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-drill-'));
  for (const name of ['w1', 'w2']) {
    mkdirSync(path.join(root, `export/ns/${name}/logs/${name}-1`), { recursive: true });
    writeFileSync(
      path.join(root, `export/ns/${name}/workflow.yaml`),
      `apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: ${name}, namespace: ns, uid: u-${name}}\n` +
        `spec: {entrypoint: a}\nstatus:\n  phase: Succeeded\n  nodes:\n    ${name}-1: {id: ${name}-1, name: ${name}.a, type: Pod, phase: Succeeded, templateName: a}\n`,
    );
    writeFileSync(path.join(root, `export/ns/${name}/logs/${name}-1/main.log`), logText(name.length * 7, 300_000));
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

interface Target {
  url: string;
  store: () => ObjectStore;
  env?: Record<string, string>;
}

async function packsOf(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(PACKS_PREFIX)) keys.push(o.key);
  return keys;
}

async function lastRecord(store: ObjectStore, match: (r: WrittenRecord) => boolean): Promise<WrittenRecord> {
  let found: WrittenRecord | undefined;
  for await (const r of auditRecords(store)) if (match(r)) found = r;
  expect(found).toBeDefined();
  return found!;
}

/** Bit rot under Strata's feet: one byte of every pack flipped in place, written straight to the store. */
async function corruptPacks(store: ObjectStore): Promise<string[]> {
  const keys = await packsOf(store);
  for (const key of keys) {
    const bytes = await readObject(store, key);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    await store.put(key, bytes);
  }
  return keys;
}

function drillAndScrub(name: string, target: () => Target) {
  describe(`drill and scrub on ${name}`, () => {
    const strata = (args: string[]) => {
      for (const [k, v] of Object.entries(target().env ?? {})) vi.stubEnv(k, v);
      return runCli(['--store', target().url, ...args]);
    };

    test('a drill passes on a sound archive, then catches flipped bytes: exit 1 and a failed audit record', async () => {
      const archived = await strata(['archive', '--from', path.join(root, 'export'), '-o', 'json']);
      expect(archived.code, archived.err).toBe(0);
      const sandbox = mkdtempSync(path.join(tmpdir(), 'strata-sandbox-'));
      try {
        const ok = await strata(['drill', '--workflows', '2', '--sandbox', sandbox, '-o', 'json']);
        expect(ok.code, ok.err).toBe(0);
        const good = JSON.parse(ok.out) as { drilled: number; passed: number; bytes: number };
        expect(good).toMatchObject({ ok: true, manifests: 2, drilled: 2, passed: 2, failed: 0 });
        expect(good.bytes).toBeGreaterThanOrEqual(600_000);
        expect(readdirSync(sandbox)).toEqual([]); // the sandbox is gone
        const passed = await lastRecord(target().store(), (r) => r.action === 'verify' && r.outcome === 'ok');
        expect(passed.hashes).toHaveLength(2);
        expect(passed.details).toMatchObject({ drill: { passed: 2, failed: 0 } });

        const corrupted = await corruptPacks(target().store());
        const bad = await strata(['drill', '--workflows', '1', '--sandbox', sandbox, '-o', 'json']);
        expect(bad.code).toBe(1);
        expect(JSON.parse(bad.out)).toMatchObject({ ok: false, drilled: 1, failed: 1 });
        expect(bad.err).toMatch(/restore drill failed for 1 of 1 workflows/);
        expect(readdirSync(sandbox)).toEqual([]);
        const failed = await lastRecord(target().store(), (r) => r.action === 'verify' && r.outcome === 'failed');
        expect(failed.details).toMatchObject({
          drill: { failed: 1, workflows: [expect.objectContaining({ ok: false, problems: [expect.any(String)] })] },
        });
        expect(failed.reason).toMatch(/restore: /);
        // The data is kept: a failed drill deletes nothing.
        expect(await packsOf(target().store())).toEqual(corrupted);
      } finally {
        rmSync(sandbox, { recursive: true, force: true });
      }
    });

    test('verify --scrub reports coverage as output parameters and audits the corrupt packs it read', async () => {
      const outputs = mkdtempSync(path.join(tmpdir(), 'strata-outputs-'));
      try {
        // The plan first: every pack, each with its reason; nothing read, nothing recorded.
        const schedule = ['--scrub-period', '14d', '--scrub-cadence', '7d'];
        const dry = await strata(['verify', '--scrub', '--dry-run', ...schedule, '-o', 'json']);
        expect(dry.code, dry.err).toBe(0);
        const plan = JSON.parse(dry.out) as { read: Array<{ key: string; reason: string }>; readWithinPeriod: number };
        expect(plan.read.map((r) => r.key).sort()).toEqual((await packsOf(target().store())).sort());
        expect(plan.read.every((r) => /^rotation: never read, written \d+\.\dd ago$/.test(r.reason))).toBe(true);
        expect(plan.readWithinPeriod).toBe(0);
        expect((await strata(['verify', '--dry-run'])).code).toBe(2);
        const run = await strata([
          'verify',
          '--scrub',
          '--scrub-period',
          '14d',
          '--scrub-cadence',
          '7d',
          '--no-audit-log',
          '--outputs-dir',
          outputs,
          '-o',
          'json',
        ]);
        // Every pack was corrupted by the drill test: the scrub reads its share and finds them bad.
        expect(run.code).toBe(1);
        const out = JSON.parse(run.out) as Record<string, unknown> & { scrub: Record<string, unknown> };
        const packs = (await packsOf(target().store())).length;
        expect(out.packsRead).toBe(packs); // a 14-day period with weekly runs: the whole archive in one run
        expect(out).toMatchObject({ corruptPacks: packs, scrubCoverage: 1, scrubOverdue: 0 });
        expect(out.scrub).toMatchObject({ read: packs, failed: packs, failedLastRead: packs, periodDays: 14 });
        expect(readFileSync(path.join(outputs, 'scrubCoverage'), 'utf8')).toBe('1');
        expect(readFileSync(path.join(outputs, 'scrubOverdue'), 'utf8')).toBe('0');
        expect(Number(readFileSync(path.join(outputs, 'scrubOldestUnreadSeconds'), 'utf8'))).toBeGreaterThanOrEqual(0);
        expect(readFileSync(path.join(outputs, 'corruptPacks'), 'utf8')).toBe(String(packs));
        const record = await lastRecord(
          target().store(),
          (r) => r.action === 'verify' && r.outcome === 'failed' && Boolean(r.details?.scrub),
        );
        expect(record.details).toMatchObject({ corrupt: packs, scrub: { read: packs, failed: packs } });
        expect((record.details!.corruptPacks as string[]).sort()).toEqual((await packsOf(target().store())).sort());
        expect(await packsOf(target().store())).toHaveLength(packs);
      } finally {
        rmSync(outputs, { recursive: true, force: true });
      }
    });
  });
}

drillAndScrub('a directory store', () => {
  return { url: `file:${path.join(root, 'repo')}`, store: () => new FileSystemStore(path.join(root, 'repo')) };
});

const { peer, skip } = s3PeerOrSkip();
if (peer) {
  let bucket = '';
  beforeAll(async () => {
    bucket = await createBucket(peer);
  });
  drillAndScrub(peer.server, () => ({
    url: `s3://${bucket}/drill`,
    store: () => storeOn(peer, bucket, { prefix: 'drill/' }),
    env: {
      STRATA_S3_ENDPOINT: peer.endpoint,
      STRATA_S3_REGION: peer.region,
      STRATA_S3_FORCE_PATH_STYLE: 'true',
      STRATA_S3_ACCESS_KEY_ID: peer.accessKeyId,
      STRATA_S3_SECRET_ACCESS_KEY: peer.secretAccessKey,
    },
  }));
} else {
  describe.skip(`drill and scrub on S3 (skipped: ${skip})`, () => {});
}
