// The Glacier vault deep tier on moto's Glacier API: a workflow's packs move into a vault (the store keeps pointer
// records), a restore needs them back by a retrieval job (state kept in the store, polled as the restore template
// does), they come back verified; an emergency deletion waits for its vaulted pack, then leaves the vault empty.
import { CreateVaultCommand, GlacierClient } from '@aws-sdk/client-glacier';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { deleteArchives } from '../../lib/tier/index.ts';
import { readManifest, restoreWorkflow, type Repository } from '../../lib/archive/index.ts';
import { packKey, readObject, tenantRepository } from '../../lib/archive/repository.ts';
import type { EncryptedStore } from '../../lib/crypto/encrypted-store.ts';
import { emergencyDelete } from '../../lib/pipeline/emergency-delete.ts';
import { GlacierVault, treeHash } from '../../lib/store/s3-glacier-vault.ts';
import { listVaultRecords, moveToVault, sweepVault, thawFromVault, type VaultThaw } from '../../lib/tier/vault.ts';
import { tempDir, tempRepository } from '../archive/fixtures.ts';
import { s3PeerOrSkip } from '../support/s3-fixtures.ts';
import { archiveAt } from './helpers.ts';

const { peer, skip } = s3PeerOrSkip();
const dir = tempDir('strata-vault-');
afterAll(() => dir.cleanup());
const none = { holds: [], extensions: [] };

test('treeHash: one MiB is its SHA-256; more is the hash of the MiB hashes, pairwise', () => {
  const small = Buffer.from('strata');
  expect(treeHash(small)).toBe(createHash('sha256').update(small).digest('hex'));
  const big = randomBytes(1024 * 1024 + 10);
  const a = createHash('sha256')
    .update(big.subarray(0, 1024 * 1024))
    .digest();
  const b = createHash('sha256')
    .update(big.subarray(1024 * 1024))
    .digest();
  expect(treeHash(big)).toBe(createHash('sha256').update(a).update(b).digest('hex'));
});

/**
 * moto completes a retrieval job a few seconds (wall clock) after it starts (Expedited: 2 s); the loop polls as the
 * restore template's retries do, for at most a minute.
 */
async function thawAll(repo: Repository, vault: GlacierVault, packs: Array<{ group: string; packId: string }>) {
  const seen = new Set<VaultThaw['state']>();
  for (let i = 0; i < 120; i++) {
    const states = await thawFromVault(repo, vault, packs, 'Expedited', new Date(), 7);
    for (const s of states) seen.add(s.state);
    expect(states.filter((s) => s.state === 'failed')).toEqual([]);
    if (states.every((s) => s.state === 'restored')) return seen;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('retrieval jobs did not complete within a minute');
}

describe.skipIf(!peer || !peer.server.startsWith('moto'))(
  `a Glacier vault on ${peer?.server ?? `S3 (skipped: ${skip})`}`,
  () => {
    async function vaultOn(): Promise<GlacierVault> {
      const name = `strata-${randomBytes(4).toString('hex')}`;
      const settings = {
        region: peer!.region,
        endpoint: peer!.endpoint,
        accessKeyId: peer!.accessKeyId,
        secretAccessKey: peer!.secretAccessKey,
        maxAttempts: 3,
      };
      const client = new GlacierClient({
        region: settings.region,
        endpoint: settings.endpoint,
        credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      });
      await client.send(new CreateVaultCommand({ accountId: '-', vaultName: name }));
      client.destroy();
      return new GlacierVault(`glacier://${name}`, settings);
    }

    test('packs move into the vault; a restore waits for their retrieval, then reads them verified', async () => {
      const r = await tempRepository();
      const vault = await vaultOn();
      const files = [randomBytes(40_000), randomBytes(9_000)];
      const id = await archiveAt(r.repo, 'deep', new Date(), files);
      const packs = (await readManifest(r.repo, id)).packs.map((packId) => ({ group: 'g', packId }));

      const moved = await moveToVault(r.repo, vault, packs, new Date());
      expect(moved.map((m) => m.outcome)).toEqual(packs.map(() => 'moved'));
      for (const p of packs) expect(await r.repo.store.head(packKey(p.group, p.packId))).toBeUndefined();
      const records = [];
      for await (const rec of listVaultRecords(r.repo)) records.push(rec);
      expect(records).toHaveLength(packs.length);
      // Moving again changes nothing (a re-run after a crash).
      expect((await moveToVault(r.repo, vault, packs, new Date())).map((m) => m.outcome)).toEqual(
        packs.map(() => 'already'),
      );
      await expect(restoreWorkflow(r.repo, id, join(dir.path, 'early'))).rejects.toThrow();

      const seen = await thawAll(r.repo, vault, packs);
      expect(seen.has('requested')).toBe(true);
      const restored = await restoreWorkflow(r.repo, id, join(dir.path, 'late'));
      expect(restored.files).toBeGreaterThan(0);
      // The thawed copy stays its days; until then the tier run leaves it in the store.
      expect((await moveToVault(r.repo, vault, packs, new Date())).map((m) => m.outcome)).toEqual(
        packs.map(() => 'thawed'),
      );
    });

    test("an encrypted repository's packs go into the vault sealed and come back sealed as they were", async () => {
      const r = await tempRepository(undefined, 'encrypted');
      const store = r.repo.store as EncryptedStore;
      const vault = await vaultOn();
      const uploaded: Buffer[] = [];
      const watched = Object.assign(Object.create(vault) as GlacierVault, {
        upload: (body: Buffer, description: string) => (uploaded.push(body), vault.upload(body, description)),
      });
      const marker = Buffer.from(`secret-${randomBytes(8).toString('hex')}`);
      const writer = await tenantRepository(r.repo, 'agents');
      const id = await archiveAt(writer, 'sealed', new Date(), [Buffer.concat([marker, randomBytes(30_000)])]);
      const packs = (await readManifest(r.repo, id)).packs.map((packId) => ({ group: 'g', packId }));
      const sealed = new Map<string, Buffer>();
      for (const p of packs) sealed.set(p.packId, await readObject(store.inner, packKey(p.group, p.packId)));

      expect((await moveToVault(r.repo, watched, packs, new Date())).map((m) => m.outcome)).toEqual(
        packs.map(() => 'moved'),
      );
      expect(uploaded).toHaveLength(packs.length);
      for (const body of uploaded) {
        expect(body.subarray(0, 8).toString()).toBe('STRATAEN');
        expect(body.includes(marker)).toBe(false);
      }
      expect(uploaded.map((b) => b.toString('hex')).sort()).toEqual(
        [...sealed.values()].map((b) => b.toString('hex')).sort(),
      );

      await thawAll(r.repo, vault, packs);
      for (const p of packs) {
        const key = packKey(p.group, p.packId);
        expect((await readObject(store.inner, key)).equals(sealed.get(p.packId)!)).toBe(true);
        expect((await store.sealerOf(key)).tenant).toBe('agents');
      }
      await restoreWorkflow(r.repo, id, join(dir.path, 'sealed'));
      r.cleanup();
    });

    test('an emergency deletion waits for its vaulted pack, then the vault keeps nothing of the workflow', async () => {
      const r = await tempRepository();
      const vault = await vaultOn();
      const id = await archiveAt(r.repo, 'gone', new Date(), [randomBytes(20_000)]);
      const packs = (await readManifest(r.repo, id)).packs.map((packId) => ({ group: 'g', packId }));
      await moveToVault(r.repo, vault, packs, new Date());

      const asked = await emergencyDelete(
        { uid: 'gone', reason: 'erasure', approver: 'dpo', actor: 'oncall', breakGlass: false, dryRun: false },
        { repo: r.repo, holds: none, audit: { record: async () => {} }, now: new Date(), settleMs: 0 },
      );
      expect(asked.deletion?.outcome).toBe('pending');
      // Not deleted from the vault while the deletion's journal names the pack.
      expect((await sweepVault(r.repo, vault)).deleted).toEqual([]);

      await thawAll(r.repo, vault, packs);
      const finished = await deleteArchives(r.repo, [], {
        audit: { record: async () => {} },
        now: new Date(),
        holds: none,
        settleMs: 0,
      });
      expect(finished.outcomes.map((o) => o.outcome)).toEqual(['done']);
      const swept = await sweepVault(r.repo, vault);
      expect(swept).toEqual({ deleted: packs.map((p) => `${p.group}/${p.packId}`), problems: [] });
      const left = [];
      for await (const rec of listVaultRecords(r.repo)) left.push(rec);
      expect(left).toEqual([]);
    });
  },
);
