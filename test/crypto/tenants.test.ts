// Encrypted repositories with several tenants: packs never mix tenants, dedup and chunk ids stay inside one,
// rotation rewraps without rewriting data, and erasing a tenant leaves nothing of it readable — and the others intact.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  archiveSource,
  initRepository,
  openEntry,
  openRepository,
  readManifest,
  type Repository,
} from '../../lib/archive/index.ts';
import type { WorkflowBundle, WorkflowIdentity, WorkflowSource } from '../../lib/bundle/bundle.ts';
import { eraseTenant } from '../../lib/crypto/erase.ts';
import { KeyUnavailableError } from '../../lib/crypto/errors.ts';
import { ConfigError, describeError } from '../../lib/errors.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { bundleOf, logText, readStream, SMALL, tempDir } from '../archive/fixtures.ts';
import { encryptedOver } from '../support/encrypted-store.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const shared = logText(77, 120_000);
const workflows: Array<WorkflowIdentity & { data: Buffer }> = [
  { uid: 'a1', namespace: 'team-a', name: 'wf-a1', data: shared },
  { uid: 'a2', namespace: 'team-a', name: 'wf-a2', data: Buffer.concat([shared, logText(78, 5_000)]) },
  { uid: 'b1', namespace: 'team-b', name: 'wf-b1', data: shared },
];

function source(): WorkflowSource {
  return {
    description: 'memory:',
    async *list() {
      for (const w of workflows) yield { uid: w.uid, namespace: w.namespace, name: w.name };
    },
    async load(id: WorkflowIdentity): Promise<WorkflowBundle> {
      const w = workflows.find((x) => x.uid === id.uid)!;
      return { ...bundleOf(w.uid, [{ path: 'main.log', data: w.data }]), namespace: w.namespace, name: w.name };
    },
  };
}

async function setup() {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const root = join(dir.path, 'repo');
  const keyDir = join(dir.path, 'keys');
  const open = (keys = keyDir) => openRepository(encryptedOver(new FileSystemStore(root), keys));
  const repo = await initRepository(encryptedOver(new FileSystemStore(root), keyDir), SMALL);
  const report = await archiveSource(repo, source());
  expect(report.archived).toBe(3);
  const ids = Object.fromEntries(report.results.map((r) => [r.uid, r.manifestId!]));
  return { root, keyDir, open, repo, report, ids, dir: dir.path };
}

const listKeys = async (repo: Repository) => {
  const keys: string[] = [];
  for await (const o of repo.store.list('')) keys.push(o.key);
  return keys;
};

const restore = async (repo: Repository, manifestId: string) =>
  readStream(await openEntry(repo, manifestId, 'main.log'));

describe('tenants of an encrypted repository', () => {
  test('keep packs, dedup and chunk ids apart; nothing readable at rest', async () => {
    const { root, open, ids } = await setup();
    const repo = await open();
    const [a1, a2, b1] = await Promise.all([ids.a1!, ids.a2!, ids.b1!].map((id) => readManifest(repo, id)));
    // Dedup inside team-a: a2 stored only its new tail; team-b stored the same log again, under other ids.
    const a1Chunks = new Set(a1!.entries.flatMap((e) => e.chunks.map(([, id]) => id)));
    const b1Chunks = b1!.entries.flatMap((e) => e.chunks.map(([, id]) => id));
    expect(a2!.entries.flatMap((e) => e.chunks.map(([, id]) => id)).some((c) => a1Chunks.has(c))).toBe(true);
    expect(b1Chunks.some((c) => a1Chunks.has(c))).toBe(false);
    expect(a1!.packs.some((p) => b1!.packs.includes(p))).toBe(false);
    // Keyed ids: no chunk id is the SHA-256 of content anyone could hash.
    const firstChunk = shared.subarray(0, 1024);
    expect(b1Chunks).not.toContain(createHash('sha256').update(firstChunk).digest('hex'));
    // Nothing of the log or the workflow's names is in any stored file.
    for (const f of readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (!f.isFile() || f.parentPath.includes(`${root}/keys`)) continue;
      const bytes = readFileSync(join(f.parentPath, f.name));
      expect(bytes.includes(shared.subarray(0, 40)), f.name).toBe(false);
      expect(bytes.includes(Buffer.from('wf-a1')), f.name).toBe(false);
    }
    expect((await restore(repo, ids.a2!)).equals(workflows[1]!.data)).toBe(true);
  });

  test('erasing a tenant: nothing of it is readable, by this process or a fresh one; other tenants unaffected', async () => {
    const { open, ids, keyDir, repo, root } = await setup();
    const store = repo.store as ReturnType<typeof encryptedOver>;
    const before = new Set((await listKeys(repo)).filter((k) => k.startsWith('archive/')));
    // A backup of the bucket taken before the erasure: team-a's manifest, sealed.
    const backedUp = readFileSync(join(root, `archive/manifests/${ids.a1}`));
    const proof = await eraseTenant(store, 'team-a');
    expect(proof).toMatchObject({ tenant: 'team-a', unwrapRefused: true, kept: [] });
    // Its manifests, refs, packs and indexes are gone from the store; team-b's objects all stay.
    const after = new Set(await listKeys(repo));
    expect(proof.deleted).toBeGreaterThan(4);
    expect([...before].filter((k) => !after.has(k))).toHaveLength(proof.deleted);
    expect(after.has(`archive/manifests/${ids.b1}`)).toBe(true);
    expect(after.has(`archive/manifests/${ids.a1}`)).toBe(false);
    expect(proof.dataKeys).toHaveLength(1);
    expect(existsSync(join(keyDir, 'team-a'))).toBe(false);
    for (const r of [repo, await open()]) {
      for (const uid of ['a1', 'a2']) {
        const err = await readManifest(r, ids[uid]!).catch((e: unknown) => e);
        expect(describeError(err)).toMatch(/no such object/);
      }
      expect((await restore(r, ids.b1!)).equals(shared)).toBe(true);
    }
    // The backup restored into the bucket: still nothing readable, and the error says why.
    writeFileSync(join(root, `archive/manifests/${ids.a1}`), backedUp);
    for (const r of [repo, await open()]) {
      const err = await readManifest(r, ids.a1!).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeyUnavailableError);
      expect(describeError(err)).toMatch(/key archive\/manifests\/[0-9a-f]{64}: .*tenant "team-a", erased at/);
    }
    expect(proof.destroyed.keks).toHaveLength(1);
  });

  test('rotation rewraps the data key under a new KEK, retires the old, and rewrites no data', async () => {
    const { open, ids, keyDir, root, repo } = await setup();
    const before = readdirSync(join(keyDir, 'team-b')).filter((f) => f.endsWith('.kek'));
    const packs = readdirSync(join(root, 'archive/packs/default')).sort();
    const store = repo.store as ReturnType<typeof encryptedOver>;
    const rotated = await store.keyring.rotate('team-b');
    expect(rotated.from).not.toBe(rotated.to);
    const after = readdirSync(join(keyDir, 'team-b')).filter((f) => f.endsWith('.kek'));
    expect(after).toEqual([`${rotated.to}.kek`]);
    expect(before).toEqual([`${rotated.from}.kek`]);
    expect(readdirSync(join(root, 'archive/packs/default')).sort()).toEqual(packs);
    expect((await restore(await open(), ids.b1!)).equals(shared)).toBe(true);
  });

  test('wrong keys or no keys: a clear error at open, never garbage', async () => {
    const { root, open, dir } = await setup();
    const err = await open(join(dir, 'other-keys')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyUnavailableError);
    expect(describeError(err)).toMatch(/key archive\/config: .*not in .*other-keys/);
    const plain = await openRepository(new FileSystemStore(root)).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(ConfigError);
    expect(describeError(plain)).toMatch(/the repository is encrypted: configure its keys/);
  });
});
