// The archive repository: its config object, the key layout under archive/, and opening or creating one.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AlreadyExistsError, ConfigError, IntegrityError, NotFoundError } from '../errors.ts';
import type { ObjectStore } from '../store/store.ts';
import { checkChunkerParams, DEFAULT_CHUNKER } from './chunker.ts';
import { EncryptedStore } from '../crypto/encrypted-store.ts';
import { isEncrypted } from '../crypto/segments.ts';
import { CONTENT_HASH_IDS, type ChunkIds } from './chunk-ids.ts';
import { ENCRYPTED_FORMAT_VERSION, FORMAT_VERSION, FORMAT_VERSIONS } from './pack-format.ts';
import { readObject } from '../store/read-whole.ts';

export const ARCHIVE_PREFIX = 'archive/';
export const CONFIG_KEY = `${ARCHIVE_PREFIX}config`;
export const PACKS_PREFIX = `${ARCHIVE_PREFIX}packs/`;
export const INDEX_PREFIX = `${ARCHIVE_PREFIX}index/`;
export const CONDEMNED_PREFIX = `${ARCHIVE_PREFIX}condemned/`;
export const MANIFESTS_PREFIX = `${ARCHIVE_PREFIX}manifests/`;

export const packKey = (group: string, packId: string) => `${PACKS_PREFIX}${group}/${packId}`;
export const indexKey = (group: string, packId: string) => `${INDEX_PREFIX}${group}/${packId}`;
export const condemnedKey = (group: string, packId: string) => `${CONDEMNED_PREFIX}${group}/${packId}`;
export const manifestKey = (manifestId: string) => `${MANIFESTS_PREFIX}${manifestId}`;

export const HEX_ID = /^[0-9a-f]{64}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._=-]{0,127}$/;
export const DEFAULT_GROUP = 'default';

/** Timeline groups become one key segment, so they are restricted to a safe alphabet. */
export function checkGroup(group: string): string {
  if (!GROUP.test(group)) {
    throw new ConfigError(`timeline group "${group}" must match ${GROUP.source} (e.g. "standard-2026-11")`);
  }
  return group;
}

/** Splits `<prefix><group>/<id>` keys; undefined for anything else (temp files, foreign objects). */
export function parseGroupKey(prefix: string, key: string): { group: string; packId: string } | undefined {
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (!key.startsWith(prefix) || slash < 0) return undefined;
  const group = rest.slice(0, slash);
  const packId = rest.slice(slash + 1);
  return GROUP.test(group) && HEX_ID.test(packId) ? { group, packId } : undefined;
}

const configSchema = z
  .object({
    format: z.literal('strata-archive'),
    version: z.union(FORMAT_VERSIONS.map((v) => z.literal(v)) as [z.ZodLiteral<1>, z.ZodLiteral<2>, z.ZodLiteral<3>]),
    id: z.string().regex(/^[0-9a-f]{32}$/),
    createdAt: z.string(),
    chunker: z.object({
      minSize: z.number().int().positive(),
      avgSize: z.number().int().positive(),
      maxSize: z.number().int().positive(),
      seed: z.string().min(1),
    }),
    pack: z.object({
      /** A pack is closed once its compressed frames reach this size. */
      targetSize: z.number().int().positive(),
      /** Chunks are compressed together in zstd frames of about this many raw bytes (the unit of random access). */
      frameSize: z.number().int().positive(),
      compressionLevel: z.number().int().min(1).max(22),
    }),
    /** Format 3 only: how objects are sealed and chunk ids keyed (docs/format.md). */
    encryption: z
      .object({
        objects: z.literal('aes-256-gcm-64k-segments'),
        chunkIds: z.literal('hmac-sha256-per-tenant'),
        chunkerSeed: z.literal('per-tenant'),
      })
      .strict()
      .optional(),
  })
  .strict();

export type RepositoryConfig = z.infer<typeof configSchema>;

export interface Repository {
  readonly store: ObjectStore;
  readonly config: RepositoryConfig;
  /** How chunk ids are made and checked: SHA-256 when absent (formats 1 and 2). */
  readonly chunkIds?: ChunkIds;
}

export const chunkIdsOf = (repo: Repository): ChunkIds => repo.chunkIds ?? CONTENT_HASH_IDS;

export type RepositoryOptions = Partial<Pick<RepositoryConfig, 'chunker' | 'pack'>>;

/**
 * Packs of new repositories (existing ones keep theirs). 8 MiB frames at level 6 store what 4 MiB at level 8 did
 * (pods corpus: 24.33 vs 24.25 MB of packs; play: 13.32 vs 12.85) for ~0.4 CPU-s less per 200 MB (docs/format.md).
 */
export const DEFAULT_PACK: RepositoryConfig['pack'] = {
  targetSize: 8 * 1024 * 1024,
  frameSize: 8 * 1024 * 1024,
  compressionLevel: 6,
};

export function defaultConfig(opts: RepositoryOptions = {}): RepositoryConfig {
  return {
    format: 'strata-archive',
    version: FORMAT_VERSION,
    id: randomBytes(16).toString('hex'),
    createdAt: new Date().toISOString(),
    chunker: opts.chunker ?? { ...DEFAULT_CHUNKER },
    pack: opts.pack ?? { ...DEFAULT_PACK },
  };
}

/** Bounded objects only (config, manifests, indexes, one pack): re-exported where the archive's key layout lives. */
export { readObject };

function parseConfig(bytes: Buffer, store: ObjectStore): RepositoryConfig {
  if (isEncrypted(bytes))
    throw new ConfigError(
      'the repository is encrypted: configure its keys (encryption in the Strata config, docs/encryption.md)',
      { key: CONFIG_KEY, file: store.url },
    );
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IntegrityError('repository config is not JSON', { key: CONFIG_KEY, file: store.url });
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IntegrityError(`repository config: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, {
      key: CONFIG_KEY,
      file: store.url,
    });
  }
  const bad = checkChunkerParams(parsed.data.chunker);
  if (bad) throw new IntegrityError(`repository config: chunker: ${bad}`, { key: CONFIG_KEY, file: store.url });
  return parsed.data;
}

export async function openRepository(store: ObjectStore): Promise<Repository> {
  let bytes: Buffer;
  try {
    bytes = await readObject(store, CONFIG_KEY);
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new ConfigError(`no archive repository at ${store.url} (run "strata archive" or initRepository first)`, {
        key: CONFIG_KEY,
      });
    }
    throw err;
  }
  return withKeys(store, parseConfig(bytes, store));
}

/** Format 3 through an encrypting store: chunk ids and the gear seed come from the writing tenant's data key. */
async function withKeys(store: ObjectStore, config: RepositoryConfig): Promise<Repository> {
  if (config.version !== ENCRYPTED_FORMAT_VERSION) return { store, config };
  if (!(store instanceof EncryptedStore))
    throw new ConfigError('the repository is encrypted (format 3): configure its keys (docs/encryption.md)', {
      key: CONFIG_KEY,
      file: store.url,
    });
  const writer = await store.writerKey();
  const chunkIds: ChunkIds = {
    of: (data) => writer.chunkId(data),
    forPack: async (key) => {
      const sealer = await store.sealerOf(key);
      return (data) => sealer.chunkId(data);
    },
    // An object whose header cannot be read is left to the normal read (and its error).
    mayMatch: async (key) => (await store.sealedWith(key).catch(() => undefined))?.equals(writer.id) ?? true,
  };
  return { store, config: { ...config, chunker: { ...config.chunker, seed: writer.chunkerSeed } }, chunkIds };
}

/** The repository as `tenant` writes it: its packs, indexes and manifests sealed with that tenant's data key. */
export async function tenantRepository(repo: Repository, tenant: string): Promise<Repository> {
  if (!(repo.store instanceof EncryptedStore) || repo.store.tenant === tenant) return repo;
  return withKeys(repo.store.forTenant(tenant), repo.config);
}

/**
 * The repository as the tenant whose key sealed the object at `key` writes it: what is rewritten from an object
 * (a repacked pack, a rewritten manifest, a moved index) stays that tenant's, so erasing the tenant still reaches it.
 */
export async function sealerRepository(repo: Repository, key: string): Promise<Repository> {
  const tenant = await sealingTenant(repo, key);
  return tenant === undefined ? repo : tenantRepository(repo, tenant);
}

/** The tenant whose key sealed the object at `key`; undefined outside format 3 (one key, or none, seals all). */
export async function sealingTenant(repo: Repository, key: string): Promise<string | undefined> {
  if (!(repo.store instanceof EncryptedStore) || repo.config.version !== ENCRYPTED_FORMAT_VERSION) return undefined;
  return (await repo.store.sealerOf(key)).tenant;
}

/** Creates the repository config, or opens the existing one (two concurrent inits agree on whichever landed first). */
export async function initRepository(store: ObjectStore, opts: RepositoryOptions = {}): Promise<Repository> {
  const config = defaultConfig(opts);
  if (store instanceof EncryptedStore) {
    config.version = ENCRYPTED_FORMAT_VERSION;
    config.encryption = {
      objects: 'aes-256-gcm-64k-segments',
      chunkIds: 'hmac-sha256-per-tenant',
      chunkerSeed: 'per-tenant',
    };
  }
  const bad = checkChunkerParams(config.chunker);
  if (bad) throw new ConfigError(`chunker: ${bad}`);
  try {
    await store.put(CONFIG_KEY, Buffer.from(JSON.stringify(config, null, 2) + '\n'), {
      ifNoneMatch: true,
      contentType: 'application/json',
    });
    return await withKeys(store, config);
  } catch (err) {
    if (err instanceof AlreadyExistsError) return openRepository(store);
    throw err;
  }
}
