// Emergency deletion leaves no byte of the workflow's own content anywhere: not in any pack (shared ones are
// repacked), index, manifest, ref or journal, nor in the catalog's rows and full-text index; the workflow sharing
// packs with it stays whole.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { initRepository, restoreWorkflow, verifyRepository, type Repository } from '../../lib/archive/index.ts';
import { decodeFrame } from '../../lib/archive/frame-codec.ts';
import { decodePack } from '../../lib/archive/pack-format.ts';
import { PACKS_PREFIX, readObject } from '../../lib/archive/repository.ts';
import type { AuditRecord } from '../../lib/audit/audit.ts';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { emergencyDelete } from '../../lib/pipeline/emergency-delete.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { SMALL } from '../archive/fixtures.ts';
import { archiveAt, DAY, manifestsByUid } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-emergency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every place the marker could hide: raw object bytes, and inside packs the decompressed frames. */
async function findMarker(repo: Repository, marker: Buffer): Promise<string[]> {
  const hits: string[] = [];
  for await (const o of repo.store.list('')) {
    const bytes = await readObject(repo.store, o.key);
    if (bytes.includes(marker)) hits.push(o.key);
    if (!o.key.startsWith(PACKS_PREFIX)) continue;
    const table = decodePack(bytes, o.key);
    for (const f of table.frames) {
      const raw = decodeFrame(bytes.subarray(f.offset, f.offset + f.compressedLength), f.rawLength);
      if (raw.includes(marker)) hits.push(`${o.key} (frame at ${f.offset})`);
    }
  }
  return hits;
}

test('emergency deletion removes every byte of the workflow from packs, metadata and the catalog, now', async () => {
  const repo = await initRepository(new FileSystemStore(join(dir, 'repo')), SMALL);
  const marker = Buffer.from(`leaked-token-${randomBytes(8).toString('hex')}`);
  const secretLog = Buffer.from(
    Array.from(
      { length: 400 },
      (_, i) => `2026-11-01T00:00:${String(i % 60).padStart(2, '0')}Z auth ${marker} ${i}\n`,
    ).join(''),
  );
  const shared = randomBytes(30_000);
  const now = new Date();
  const victim = await archiveAt(repo, 'victim', new Date(now.getTime() - 2 * DAY), [shared, secretLog]);
  const other = await archiveAt(repo, 'other', new Date(now.getTime() - DAY), [shared, randomBytes(5_000)]);
  expect(await findMarker(repo, marker)).not.toEqual([]);

  const catalogPath = join(dir, 'catalog.db');
  const { catalog } = openSqliteCatalog(catalogPath);
  await indexCatalog(catalog, await archiveManifestSource(repo.store));
  expect((await catalog.searchText(`"${marker.toString()}"`)).length).toBeGreaterThan(0);

  const records: AuditRecord[] = [];
  const result = await emergencyDelete(
    { uid: 'victim', reason: 'leaked token', approver: 'ciso', actor: 'oncall', breakGlass: false, dryRun: false },
    {
      repo,
      holds: { holds: [], extensions: [] },
      audit: { record: async (r) => void records.push(r) },
      now,
      settleMs: 0,
      catalog,
    },
  );
  expect(result).toMatchObject({ refused: false, manifests: [victim], deletedManifests: 1 });
  expect(result.deletion).toMatchObject({ outcome: 'done', stillPresent: [] });
  expect(result.deletion!.repacked).toHaveLength(1);
  expect(await catalog.searchText(`"${marker.toString()}"`)).toEqual([]);
  expect((await catalog.manifestIds()).has(victim)).toBe(false);
  await catalog.close();

  expect(await findMarker(repo, marker)).toEqual([]);
  const left = await manifestsByUid(repo);
  expect([...left.keys()]).toEqual(['other']);
  expect(left.get('other')).not.toEqual([other]); // rewritten onto the repacked pack
  await restoreWorkflow(repo, left.get('other')![0]!, join(dir, 'other'));
  expect((await verifyRepository(repo, { readData: true })).problems).toEqual([]);
  for await (const o of repo.store.list('archive/refs/')) expect(o.key).not.toMatch(/victim/);

  const proof = records.find((r) => r.action === 'emergency-delete' && r.details?.journal);
  expect(proof).toMatchObject({ outcome: 'ok', actor: 'oncall', details: { approver: 'ciso', breakGlass: false } });
  expect((proof!.details as { chunksDeleted: string[] }).chunksDeleted.length).toBeGreaterThan(0);
});

test('refused under a legal hold unless break-glass; the hold keeps every byte', async () => {
  const repo = await initRepository(new FileSystemStore(join(dir, 'held')), SMALL);
  const id = await archiveAt(repo, 'held', new Date(), [randomBytes(8_000)]);
  const holds = {
    holds: [
      { id: 'case-9', workflowUid: 'held', actor: 'legal', reason: 'litigation', created: new Date().toISOString() },
    ],
    extensions: [],
  };
  const deps = { repo, holds, audit: { record: async () => {} }, now: new Date(), settleMs: 0 };
  const req = {
    uid: 'held',
    reason: 'erasure request',
    approver: 'dpo',
    actor: 'oncall',
    breakGlass: false,
    dryRun: false,
  };
  const refused = await emergencyDelete(req, deps);
  expect(refused.refused).toBe(true);
  expect((await manifestsByUid(repo)).get('held')).toEqual([id]);
  const forced = await emergencyDelete({ ...req, breakGlass: true }, deps);
  expect(forced.deletion?.outcome).toBe('done');
  expect(forced.reasons[0]).toMatch(/BREAK-GLASS over legal hold case-9/);
  expect((await manifestsByUid(repo)).has('held')).toBe(false);
});
