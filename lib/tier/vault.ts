// The Glacier vault deep tier, as the core sees it: a narrow port (upload an archive, retrieval jobs, delete) that
// an adapter implements (lib/store/glacier-vault.ts), and the tier steps over it: packs in the deep tier move into
// the vault (a pointer record stays in the store beside the pack's index), come back by a retrieval job for a
// restore or a repack, and leave the vault once no manifest or pending deletion references them.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { decodeManifest } from '../archive/manifest.ts';
import { listManifests } from '../archive/manifest-lookup.ts';
import { readJournals } from '../archive/deletion-journal.ts';
import {
  ARCHIVE_PREFIX,
  manifestKey,
  packKey,
  parseGroupKey,
  readObject,
  type Repository,
} from '../archive/repository.ts';
import { contentOfStored, storeAsStored } from '../crypto/encrypted-store.ts';
import { AlreadyExistsError, describeError, IntegrityError, NotFoundError } from '../errors.ts';
import type { RestoreTier } from '../store/store.ts';
import type { ArchiveVault } from '../store/vault-port.ts';

export type { ArchiveVault };

/** `archive/vault/<group>/<packId>`: where a pack moved to, with what to check it by. */
export const VAULT_PREFIX = `${ARCHIVE_PREFIX}vault/`;
const recordKey = (group: string, packId: string) => `${VAULT_PREFIX}${group}/${packId}`;
const jobKey = (group: string, packId: string) => `${VAULT_PREFIX}jobs/${group}/${packId}`;

const recordSchema = z
  .object({ vault: z.string(), archiveId: z.string().min(1), size: z.number().int(), at: z.string() })
  .strict();
const jobSchema = z
  .object({ jobId: z.string().min(1), tier: z.string(), at: z.string(), keepUntil: z.string() })
  .strict();
export type VaultRecord = z.infer<typeof recordSchema> & { group: string; packId: string };

async function readJson<T>(repo: Repository, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
  try {
    const parsed = schema.safeParse(JSON.parse((await readObject(repo.store, key)).toString('utf8')));
    if (!parsed.success) throw new IntegrityError(`${key}: ${parsed.error.issues[0]!.message}`, { key });
    return parsed.data;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

async function putJson(repo: Repository, key: string, body: object, createOnly: boolean): Promise<void> {
  try {
    await repo.store.put(key, Buffer.from(JSON.stringify(body) + '\n'), {
      ifNoneMatch: createOnly,
      contentType: 'application/json',
    });
  } catch (err) {
    if (!(createOnly && err instanceof AlreadyExistsError)) throw err;
  }
}

export async function vaultRecord(repo: Repository, group: string, packId: string): Promise<VaultRecord | undefined> {
  const r = await readJson(repo, recordKey(group, packId), recordSchema);
  return r && { ...r, group, packId };
}

export async function* listVaultRecords(repo: Repository): AsyncIterable<VaultRecord> {
  for await (const o of repo.store.list(VAULT_PREFIX)) {
    if (o.key.startsWith(`${VAULT_PREFIX}jobs/`)) continue;
    const parsed = parseGroupKey(VAULT_PREFIX, o.key);
    if (!parsed) continue;
    const r = await vaultRecord(repo, parsed.group, parsed.packId);
    if (r) yield r;
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface VaultMove {
  pack: string;
  /** 'thawed': brought back for a restore, kept in the store until its thaw's days end. */
  outcome: 'moved' | 'already' | 'locked' | 'thawed' | 'failed';
  archiveId?: string;
  error?: string;
}

/**
 * Moves packs into the vault: upload (the vault checks the bytes), the pointer record (create-only: the commit
 * point), then the pack object is deleted from the store. A crash before the record leaves an archive no record
 * names (an orphan in the vault, listed by its description); after it, the next run finds the record and only
 * deletes the pack. A pack under Object Lock stays (its lock binds the store's copy).
 */
export async function moveToVault(
  repo: Repository,
  vault: ArchiveVault,
  packs: ReadonlyArray<{ group: string; packId: string }>,
  now: Date,
): Promise<VaultMove[]> {
  const out: VaultMove[] = [];
  for (const { group, packId } of packs) {
    const pack = `${group}/${packId}`;
    try {
      const info = await repo.store.head(packKey(group, packId));
      const existing = await vaultRecord(repo, group, packId);
      if (!info) {
        out.push({ pack, outcome: existing ? 'already' : 'failed', ...(!existing && { error: 'pack is gone' }) });
        continue;
      }
      if (info.legalHold || (info.retainUntil && info.retainUntil > now)) {
        out.push({ pack, outcome: 'locked' });
        continue;
      }
      const thawed = existing && (await readJson(repo, jobKey(group, packId), jobSchema));
      if (thawed && new Date(thawed.keepUntil) > now) {
        out.push({ pack, outcome: 'thawed' });
        continue;
      }
      let archiveId = existing?.archiveId;
      if (!archiveId) {
        // As stored: an encrypted repository's pack goes into the vault sealed, and comes back sealed as it was.
        const key = packKey(group, packId);
        const bytes = await readObject(storeAsStored(repo.store), key);
        if (sha(await contentOfStored(repo.store, key, bytes)) !== packId)
          throw new IntegrityError(`pack ${pack} does not hash to its id: not moved`);
        archiveId = await vault.upload(bytes, `strata ${key}`);
        await putJson(
          repo,
          recordKey(group, packId),
          { vault: vault.url, archiveId, size: bytes.length, at: now.toISOString() },
          true,
        );
      }
      await repo.store.delete([packKey(group, packId), jobKey(group, packId)]);
      out.push({ pack, outcome: 'moved', archiveId });
    } catch (err) {
      out.push({ pack, outcome: 'failed', error: describeError(err) });
    }
  }
  return out;
}

export interface VaultThaw {
  pack: string;
  state: 'requested' | 'in-progress' | 'restored' | 'failed';
  error?: string;
}

/**
 * Brings vaulted packs back into the store: starts a retrieval job (its id kept in the store, so a step that ends
 * and runs again polls the same job), and once it is ready downloads, checks the bytes hash to the pack id and
 * puts the pack back (hot), where it stays `days` (the job record says until when). A job the vault forgot
 * (expired) is started again.
 */
export async function thawFromVault(
  repo: Repository,
  vault: ArchiveVault,
  packs: ReadonlyArray<{ group: string; packId: string }>,
  tier: RestoreTier,
  now: Date,
  /** Days the thawed copy stays in the store before the tier run moves it back into the vault. */
  days: number,
): Promise<VaultThaw[]> {
  const out: VaultThaw[] = [];
  for (const { group, packId } of packs) {
    const pack = `${group}/${packId}`;
    try {
      if (await repo.store.head(packKey(group, packId))) {
        out.push({ pack, state: 'restored' });
        continue;
      }
      const record = await vaultRecord(repo, group, packId);
      if (!record) throw new NotFoundError(`pack ${pack} is neither in the store nor in the vault`);
      const job = await readJson(repo, jobKey(group, packId), jobSchema);
      const state = job ? await vault.retrievalState(job.jobId) : 'gone';
      if (state === 'gone' || state === 'failed') {
        const jobId = await vault.requestRetrieval(record.archiveId, tier);
        const keepUntil = new Date(now.getTime() + days * 86_400_000).toISOString();
        await putJson(repo, jobKey(group, packId), { jobId, tier, at: now.toISOString(), keepUntil }, false);
        out.push({ pack, state: 'requested' });
        continue;
      }
      if (state === 'in-progress') {
        out.push({ pack, state: 'in-progress' });
        continue;
      }
      const bytes = await vault.retrievalOutput(job!.jobId);
      const key = packKey(group, packId);
      const content = await contentOfStored(repo.store, key, bytes).catch((err: unknown) => {
        throw new IntegrityError(`pack ${pack} retrieved from ${vault.url} does not open: ${describeError(err)}`);
      });
      if (sha(content) !== packId)
        throw new IntegrityError(`pack ${pack} retrieved from ${vault.url} does not hash to its id: not put back`);
      try {
        await storeAsStored(repo.store).put(key, bytes, { sha256: sha(bytes), ifNoneMatch: true });
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
      out.push({ pack, state: 'restored' });
    } catch (err) {
      out.push({ pack, state: 'failed', error: describeError(err) });
    }
  }
  return out;
}

/**
 * Deletes from the vault every archive whose pack no manifest and no pending deletion references (expired or
 * emergency-deleted workflows), then its records; a pack back in the store keeps its store copy. Nothing is
 * deleted while a manifest or journal cannot be read.
 */
export async function sweepVault(
  repo: Repository,
  vault: ArchiveVault,
): Promise<{ deleted: string[]; problems: string[] }> {
  const referenced = new Set<string>();
  for await (const info of listManifests(repo)) {
    const key = manifestKey(info.id);
    try {
      const m = decodeManifest(info.id, await readObject(repo.store, key), key);
      for (const p of m.packs) referenced.add(`${m.group}/${p}`);
    } catch (err) {
      return { deleted: [], problems: [`unreadable manifest ${info.id} (${describeError(err)}): nothing deleted`] };
    }
  }
  const journals = await readJournals(repo);
  if (journals.unreadable.length)
    return { deleted: [], problems: [`unreadable deletion journal ${journals.unreadable[0]}: nothing deleted`] };
  for (const j of journals.journals) for (const p of j.packs) referenced.add(p);
  const deleted: string[] = [];
  const problems: string[] = [];
  for await (const r of listVaultRecords(repo)) {
    const name = `${r.group}/${r.packId}`;
    if (referenced.has(name)) continue;
    try {
      await vault.deleteArchive(r.archiveId);
      await repo.store.delete([recordKey(r.group, r.packId), jobKey(r.group, r.packId)]);
      deleted.push(name);
    } catch (err) {
      problems.push(`${name}: ${describeError(err)}`);
    }
  }
  return { deleted, problems };
}
