// Erasing one workflow from an encrypted (format 3) repository: emergency deletion and expiry repack shared packs
// and rewrite manifests under the key of the tenant they belong to, so none of the workflow's bytes stay readable —
// neither in the sealed bytes at rest nor in anything the keys still open — the workflow sharing its packs restores,
// and erasing that tenant later leaves nothing of it behind.
import { randomBytes } from 'node:crypto';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  collectGarbage,
  initRepository,
  openRepository,
  restoreWorkflow,
  verifyRepository,
  type Repository,
} from '../../lib/archive/index.ts';
import { decodeFrame } from '../../lib/archive/frame-codec.ts';
import { decodePack } from '../../lib/archive/pack-format.ts';
import { manifestKey, PACKS_PREFIX, readObject, tenantRepository } from '../../lib/archive/repository.ts';
import type { AuditRecord } from '../../lib/audit/audit.ts';
import type { EncryptedStore } from '../../lib/crypto/encrypted-store.ts';
import { eraseTenant } from '../../lib/crypto/erase.ts';
import { emergencyDelete } from '../../lib/pipeline/emergency-delete.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { deleteArchives, readJournals } from '../../lib/tier/index.ts';
import { SMALL, tempDir } from '../archive/fixtures.ts';
import { encryptedOver } from '../support/encrypted-store.ts';
import { archiveAt, Crash, CrashingStore, DAY, manifestsByUid } from './helpers.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const TENANT = 'agents'; // the namespace of every workflow archiveAt makes
const now = new Date();

async function scenario() {
  const dir = tempDir('strata-erasure-enc-');
  cleanups.push(dir.cleanup);
  const raw = new FileSystemStore(join(dir.path, 'repo'));
  const store = encryptedOver(raw, join(dir.path, 'keys'));
  const repo = await initRepository(store, SMALL);
  // Workflows are archived as their tenant writes them (archiveSource does the same per namespace).
  const writer = await tenantRepository(repo, TENANT);
  const marker = Buffer.from(`leaked-token-${randomBytes(8).toString('hex')}`);
  const secretLog = Buffer.from(
    Array.from({ length: 400 }, (_, i) => `2026-11-01T00:00:${String(i % 60).padStart(2, '0')}Z ${marker} ${i}\n`).join(
      '',
    ),
  );
  const shared = randomBytes(30_000);
  const victim = await archiveAt(writer, 'victim', new Date(now.getTime() - 40 * DAY), [shared, secretLog]);
  const other = await archiveAt(writer, 'other', new Date(now.getTime() - DAY), [shared, randomBytes(5_000)]);
  return { dir: dir.path, raw, store, repo, marker, victim, other };
}

/**
 * Where the marker can still be read: in the bytes at rest, or in any object (and, in packs, any decompressed
 * frame) that the keys still open.
 */
async function findMarker(raw: FileSystemStore, repo: Repository, marker: Buffer): Promise<string[]> {
  const hits: string[] = [];
  for await (const o of raw.list('')) {
    if ((await readObject(raw, o.key)).includes(marker)) hits.push(`${o.key} (at rest)`);
    if (o.key.startsWith('keys/')) continue;
    const bytes = await readObject(repo.store, o.key);
    if (bytes.includes(marker)) hits.push(`${o.key} (decrypted)`);
    if (!o.key.startsWith(PACKS_PREFIX)) continue;
    for (const f of decodePack(bytes, o.key).frames) {
      const frame = decodeFrame(bytes.subarray(f.offset, f.offset + f.compressedLength), f.rawLength);
      if (frame.includes(marker)) hits.push(`${o.key} (decrypted, frame at ${f.offset})`);
    }
  }
  return hits;
}

/** Tenant of the data key that sealed each object under archive/ (besides the repository's own config). */
async function sealers(store: EncryptedStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const o of store.inner.list('archive/')) {
    if (o.key === 'archive/config') continue;
    out.set(o.key, (await store.sealerOf(o.key)).tenant);
  }
  return out;
}

const deleteBy = {
  'emergency deletion': async (repo: Repository, records: AuditRecord[]) => {
    const result = await emergencyDelete(
      { uid: 'victim', reason: 'leaked token', approver: 'ciso', actor: 'oncall', breakGlass: false, dryRun: false },
      {
        repo,
        holds: { holds: [], extensions: [] },
        audit: { record: async (r) => void records.push(r) },
        now,
        settleMs: 0,
      },
    );
    expect(result.refused).toBe(false);
    return result.deletion!;
  },
  expiry: async (repo: Repository, records: AuditRecord[], victim: string) => {
    const { outcomes } = await deleteArchives(
      repo,
      [
        {
          kind: 'expiry',
          uid: 'victim',
          namespace: TENANT,
          name: 'wf-victim',
          manifests: [victim],
          reason: 'retainFor 30d',
          actor: 'strata/tier',
        },
      ],
      { audit: { record: async (r) => void records.push(r) }, now, holds: { holds: [], extensions: [] }, settleMs: 0 },
    );
    return outcomes[0]!;
  },
};

describe.each(Object.keys(deleteBy) as Array<keyof typeof deleteBy>)('%s in an encrypted repository', (how) => {
  test('leaves none of the workflow readable, keeps the other whole and under its tenant, and erasure still reaches it', async () => {
    const s = await scenario();
    expect(await findMarker(s.raw, s.repo, s.marker)).not.toEqual([]);

    const records: AuditRecord[] = [];
    // The deleting process opens the repository as every command does: as the repository tenant, not the workflow's.
    const outcome = await deleteBy[how](s.repo, records, s.victim);
    expect(outcome).toMatchObject({ outcome: 'done', stillPresent: [] });
    expect(outcome.repacked).toHaveLength(1);

    expect(await findMarker(s.raw, s.repo, s.marker)).toEqual([]);
    const left = await manifestsByUid(s.repo);
    expect([...left.keys()]).toEqual(['other']);
    expect(left.get('other')).not.toEqual([s.other]); // rewritten onto the repacked pack
    await restoreWorkflow(s.repo, left.get('other')![0]!, join(s.dir, 'other'));
    expect((await verifyRepository(s.repo, { readData: true })).problems).toEqual([]);

    // The repacked pack, its index and the rewritten manifest and refs belong to the workflow's tenant.
    const wrongTenant = [...(await sealers(s.store))].filter(([, tenant]) => tenant !== TENANT);
    expect(wrongTenant).toEqual([]);
    const erased = await eraseTenant(s.store, TENANT);
    expect(erased.kept).toEqual([]);
    expect([...(await sealers(s.store)).keys()]).toEqual([]);
  });
});

test('gc condemning and reviving a pack keeps its index sealed by the tenant of the pack', async () => {
  const s = await scenario();
  const later = new Date(now.getTime() + DAY);
  // Drop a manifest as a crash before its commit would: the pack only it used is unreferenced.
  const sealed = await readObject(s.raw, manifestKey(s.other));
  await s.raw.delete([manifestKey(s.other)]);
  const condemned = await collectGarbage(s.repo, { graceMs: 0, now: later });
  expect(condemned.condemned.length).toBeGreaterThan(0);
  expect([...(await sealers(s.store))].filter(([, tenant]) => tenant !== TENANT)).toEqual([]);

  await s.raw.put(manifestKey(s.other), sealed);
  const revived = await collectGarbage(s.repo, { graceMs: 0, now: later });
  expect(revived.revived.sort()).toEqual([...condemned.condemned].sort());
  expect([...(await sealers(s.store))].filter(([, tenant]) => tenant !== TENANT)).toEqual([]);
  expect((await verifyRepository(s.repo, { readData: true })).problems).toEqual([]);
});

test('a deletion undone by a hold after a crash puts the manifests back sealed by their tenant', async () => {
  const s = await scenario();
  const pristine = join(s.dir, 'pristine');
  cpSync(join(s.dir, 'repo'), pristine, { recursive: true });
  const keyDir = join(s.dir, 'keys');
  const request = {
    kind: 'expiry' as const,
    uid: 'victim',
    namespace: TENANT,
    name: 'wf-victim',
    manifests: [s.victim],
    reason: 'retainFor 30d',
    actor: 'strata/tier',
  };
  const opts = { audit: { record: async () => {} }, now, settleMs: 0 };
  // Find the crash point right after the manifests' delete: journal written, manifests gone, packs untouched.
  for (let crashAt = 1; ; crashAt++) {
    expect(crashAt).toBeLessThan(40);
    const root = join(s.dir, `crash-${crashAt}`);
    cpSync(pristine, root, { recursive: true });
    const crashing = await openRepository(encryptedOver(new CrashingStore(new FileSystemStore(root), crashAt), keyDir));
    await deleteArchives(crashing, [request], { ...opts, holds: { holds: [], extensions: [] } }).catch((e: unknown) => {
      if (!(e instanceof Crash)) throw e;
    });
    const store = encryptedOver(new FileSystemStore(root), keyDir);
    const repo = await openRepository(store);
    if ((await manifestsByUid(repo)).has('victim') || !(await readJournals(repo)).journals.length) continue;
    const hold = {
      id: 'case-1',
      workflowUid: 'victim',
      actor: 'legal',
      reason: 'litigation',
      created: now.toISOString(),
    };
    const { outcomes } = await deleteArchives(repo, [], { ...opts, holds: { holds: [hold], extensions: [] } });
    expect(outcomes.map((o) => o.outcome)).toEqual(['undone']);
    expect((await manifestsByUid(repo)).get('victim')).toEqual([s.victim]);
    expect([...(await sealers(store))].filter(([, tenant]) => tenant !== TENANT)).toEqual([]);
    await restoreWorkflow(repo, s.victim, join(s.dir, 'victim'));
    break;
  }
});
