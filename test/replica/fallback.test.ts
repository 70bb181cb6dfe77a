// Restore and verify fall back to the replica: a pack or manifest missing or corrupt on the primary is read from the
// replica once its copy proves good, reported, and healed when asked; a manifest deleted on purpose is not revived.
import { createStoreAuditLog } from '../../lib/audit/store-audit.ts';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import {
  initRepository,
  openRepository,
  readManifest,
  restoreWorkflow,
  verifyRepository,
  type Repository,
} from '../../lib/archive/index.ts';
import { manifestKey, packKey, tenantRepository } from '../../lib/archive/repository.ts';
import { IntegrityError } from '../../lib/errors.ts';
import { emergencyDelete } from '../../lib/pipeline/emergency-delete.ts';
import { recoverableKeys, recoverAll, ReplicaFallbackStore, type Fallback } from '../../lib/replica/fallback.ts';
import { replicate } from '../../lib/replica/replicate.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { SMALL, tempDir } from '../archive/fixtures.ts';
import { encryptedOver } from '../support/encrypted-store.ts';
import { runCli } from '../support/run-cli.ts';
import { archiveAt } from '../tier/helpers.ts';

const dir = tempDir('strata-fallback-');
afterAll(() => dir.cleanup());
let n = 0;
const base = { verify: false, prune: false, dryRun: false };

async function replicated(): Promise<{ repo: Repository; root: string; replicaRoot: string; ids: string[] }> {
  const root = join(dir.path, `primary-${n++}`);
  const repo = await initRepository(new FileSystemStore(root), SMALL);
  const shared = randomBytes(20_000);
  const ids = [
    await archiveAt(repo, 'one', new Date(), [shared, randomBytes(8_000)]),
    await archiveAt(repo, 'two', new Date(), [shared]),
  ];
  // As the archive step records them (strata verify checks the store against the audit log).
  const audit = createStoreAuditLog(repo.store);
  for (const [i, id] of ids.entries()) {
    await audit.record({
      action: 'archive',
      actor: 'test',
      subject: ['one', 'two'][i]!,
      outcome: 'ok',
      details: { manifestId: id },
    });
  }
  const replicaRoot = join(dir.path, `replica-${n++}`);
  expect((await replicate(repo.store, new FileSystemStore(replicaRoot), base)).drift).toEqual([]);
  return { repo, root, replicaRoot, ids };
}

function flipByte(root: string, key: string): void {
  const file = join(root, ...key.split('/'));
  const bytes = readFileSync(file);
  bytes[60] = bytes[60]! ^ 0xff;
  writeFileSync(file, bytes);
}

test('restore reads a corrupt pack and a lost manifest from the replica, verified, and heals when asked', async () => {
  const p = await replicated();
  const packs = (await readManifest(p.repo, p.ids[0]!)).packs.map((x) => packKey('g', x));
  flipByte(p.root, packs[0]!);
  // Lost, not deleted: its refs are still on the primary.
  await p.repo.store.delete([manifestKey(p.ids[0]!)]);
  await expect(restoreWorkflow(p.repo, p.ids[0]!, join(dir.path, `plain-${n++}`))).rejects.toThrow();

  const seen: Fallback[] = [];
  const through = new ReplicaFallbackStore(p.repo.store, new FileSystemStore(p.replicaRoot), {
    heal: false,
    onFallback: (f) => seen.push(f),
  });
  const restored = await restoreWorkflow(await openRepository(through), p.ids[0]!, join(dir.path, `r-${n++}`));
  expect(restored.files).toBeGreaterThan(0);
  expect(seen.map((f) => [f.key, f.why.split(' (')[0], f.healed])).toEqual(
    expect.arrayContaining([
      [manifestKey(p.ids[0]!), 'missing on the primary', false],
      [packs[0], 'bad on the primary', false],
    ]),
  );
  // Not healed: the primary is as bad as before.
  expect((await verifyRepository(p.repo, { readData: true })).problems.length).toBeGreaterThan(0);

  const healing = new ReplicaFallbackStore(p.repo.store, new FileSystemStore(p.replicaRoot), { heal: true });
  await restoreWorkflow(await openRepository(healing), p.ids[0]!, join(dir.path, `r-${n++}`));
  expect(healing.fallbacks.every((f) => f.healed)).toBe(true);
  expect((await verifyRepository(p.repo, { readData: true })).problems).toEqual([]);
});

test('a replica copy that is bad too is refused, naming both sides', async () => {
  const p = await replicated();
  const [pack] = (await readManifest(p.repo, p.ids[1]!)).packs.map((x) => packKey('g', x));
  flipByte(p.root, pack!);
  flipByte(p.replicaRoot, pack!);
  const through = new ReplicaFallbackStore(p.repo.store, new FileSystemStore(p.replicaRoot), { heal: true });
  const err = await restoreWorkflow(await openRepository(through), p.ids[1]!, join(dir.path, `r-${n++}`)).catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IntegrityError);
  expect(String(err)).toMatch(/bad on the primary .*and the replica's copy is bad too/);
});

test('a workflow deleted on purpose is not brought back from a stale replica', async () => {
  const p = await replicated();
  const result = await emergencyDelete(
    { uid: 'one', reason: 'breach', approver: 'ciso', actor: 'oncall', breakGlass: false, dryRun: false },
    {
      repo: p.repo,
      holds: { holds: [], extensions: [] },
      audit: { record: async () => {} },
      now: new Date(),
      settleMs: 0,
    },
  );
  expect(result.deletion?.outcome).toBe('done');
  const through = new ReplicaFallbackStore(p.repo.store, new FileSystemStore(p.replicaRoot), { heal: true });
  await expect(restoreWorkflow(await openRepository(through), p.ids[0]!, join(dir.path, `r-${n++}`))).rejects.toThrow();
  expect(through.fallbacks).toEqual([]);
  expect(await p.repo.store.head(manifestKey(p.ids[0]!))).toBeUndefined();
});

test('verify names what the replica can answer; --heal copies it back and verifies clean', async () => {
  const p = await replicated();
  const packs = (await readManifest(p.repo, p.ids[1]!)).packs.map((x) => packKey('g', x));
  await p.repo.store.delete([packs[0]!]);
  const before = await verifyRepository(p.repo, { readData: true });
  expect(recoverableKeys(before.problems)).toContain(packs[0]);
  const dry = await recoverAll(p.repo.store, new FileSystemStore(p.replicaRoot), [packs[0]!], false);
  expect(dry.recovered).toEqual([{ key: packs[0], why: 'missing on the primary', healed: false }]);
  expect(await p.repo.store.head(packs[0]!)).toBeUndefined();

  const cli = await runCli([
    '--store',
    `file:${p.root}`,
    'verify',
    '--read-data',
    '--replica',
    `file:${p.replicaRoot}`,
    '--heal',
    '-o',
    'json',
  ]);
  expect(cli.err).toContain(`replica: ${packs[0]}: missing on the primary: healed from file:${p.replicaRoot}`);
  expect(JSON.parse(cli.out)).toMatchObject({ ok: true, problems: 0 });
  expect(cli.code).toBe(0);
});

describe('an encrypted repository', () => {
  /** Archived and replicated through the CLI, as an operator would, with keys in a local key directory. */
  async function sealedReplicated() {
    const root = join(dir.path, `sealed-${n++}`);
    const replicaRoot = join(dir.path, `sealed-replica-${n++}`);
    const keyDir = join(dir.path, `keys-${n++}`);
    const store = encryptedOver(new FileSystemStore(root), keyDir);
    const repo = await initRepository(store, SMALL);
    const id = await archiveAt(await tenantRepository(repo, 'agents'), 'one', new Date(), [randomBytes(30_000)]);
    await createStoreAuditLog(repo.store).record({
      action: 'archive',
      actor: 'test',
      subject: 'one',
      outcome: 'ok',
      details: { manifestId: id },
    });
    expect((await replicate(store, new FileSystemStore(replicaRoot), base)).drift).toEqual([]);
    const sealedCli = (args: string[]) => {
      vi.stubEnv('STRATA_ENCRYPTION', 'true');
      vi.stubEnv('STRATA_ENCRYPTION_KEY_DIR', keyDir);
      return runCli(['--store', `file:${root}`, ...args]).finally(() => vi.unstubAllEnvs());
    };
    return { store, repo, root, replicaRoot, id, sealedCli };
  }

  test('restore --replica reads a corrupt sealed pack from the replica, checked with the keys, and heals it as stored', async () => {
    const p = await sealedReplicated();
    const [pack] = (await readManifest(p.repo, p.id)).packs.map((x) => packKey('g', x));
    const sealed = readFileSync(join(p.replicaRoot, ...pack!.split('/')));
    flipByte(p.root, pack!);
    expect((await p.sealedCli(['restore', 'one', '--to', join(dir.path, `bad-${n++}`)])).code).not.toBe(0);

    const out = join(dir.path, `r-${n++}`);
    const run = await p.sealedCli(['restore', 'one', '--to', out, '--replica', `file:${p.replicaRoot}`, '--heal']);
    expect(run.code, run.err).toBe(0);
    expect(run.err).toMatch(new RegExp(`replica: ${pack}: bad on the primary .*altered.*, healed`));
    // Healed with the sealed bytes as the replica holds them: nothing opened and sealed again.
    expect(readFileSync(join(p.root, ...pack!.split('/'))).equals(sealed)).toBe(true);
    expect((await p.store.sealerOf(pack!)).tenant).toBe('agents');
    expect((await verifyRepository(await openRepository(p.store), { readData: true })).problems).toEqual([]);
  });

  test('verify --replica --heal brings back a lost sealed pack and verifies clean', async () => {
    const p = await sealedReplicated();
    const [pack] = (await readManifest(p.repo, p.id)).packs.map((x) => packKey('g', x));
    await p.store.inner.delete([pack!]);
    const run = await p.sealedCli([
      'verify',
      '--read-data',
      '--replica',
      `file:${p.replicaRoot}`,
      '--heal',
      '-o',
      'json',
    ]);
    expect(run.err).toContain(`replica: ${pack}: missing on the primary: healed from file:${p.replicaRoot}`);
    expect(JSON.parse(run.out)).toMatchObject({ ok: true, problems: 0 });
    expect(run.code).toBe(0);
    expect(
      readFileSync(join(p.root, ...pack!.split('/'))).equals(readFileSync(join(p.replicaRoot, ...pack!.split('/')))),
    ).toBe(true);
  });
});
