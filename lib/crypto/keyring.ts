// Tenants' data keys, kept wrapped in the store under keys/ (plaintext objects: the blobs are useless without the
// KEK), unwrapped on first use and cached for the process. `keys/<tenant>/data-key` is created once, create-only,
// so concurrent first writers of a tenant agree on one key; rotation rewrites it with the same key under a new KEK.
import { z } from 'zod';
import { AlreadyExistsError, describeError, IntegrityError, NotFoundError } from '../errors.ts';
import { readObject } from '../store/read-whole.ts';
import type { ObjectStore } from '../store/store.ts';
import { checkTenant, DataKey } from './data-key.ts';
import { KeyUnavailableError } from './errors.ts';
import type { KekDestruction, KeyWrapper } from './key-wrapper.ts';

export const KEYS_PREFIX = 'keys/';
const dataKeyKey = (tenant: string) => `${KEYS_PREFIX}${tenant}/data-key`;
const erasedKey = (tenant: string, keyId: string) => `${KEYS_PREFIX}${tenant}/erased-${keyId}`;

const keyObjectSchema = z
  .object({
    format: z.literal('strata-data-key'),
    version: z.literal(1),
    tenant: z.string(),
    id: z.string().regex(/^[0-9a-f]{32}$/),
    kek: z.string().min(1),
    wrapped: z.string().min(1),
    checkValue: z.string().regex(/^[0-9a-f]{32}$/),
    createdAt: z.string(),
    rewrappedAt: z.string().optional(),
  })
  .strict();
type KeyObject = z.infer<typeof keyObjectSchema>;

/** What erasing a tenant destroyed: the evidence for the audit record. */
export interface ErasureProof {
  tenant: string;
  dataKeys: Array<{ id: string; checkValue: string; createdAt: string }>;
  destroyed: KekDestruction;
  erasedAt: string;
  /** True once the wrapped key no longer unwraps (checked after the KEK is destroyed). */
  unwrapRefused: boolean;
}

const erasedSchema = z.object({ tenant: z.string(), id: z.string(), erasedAt: z.string() }).passthrough();

/**
 * How long an unwrapped key is used before its wrapped key is read (and unwrapped) again: a long-running process
 * (watch, serve) stops using a tenant's key within this time of its erasure by another process.
 */
export const KEY_CACHE_MS = 5 * 60_000;

export class Keyring {
  private readonly byTenant = new Map<string, Promise<DataKey>>();
  private readonly byId = new Map<string, Promise<DataKey>>();
  private loadedAt = Date.now();
  /** Data key ids of erased tenants → tenant and when, for a clear error. */
  private erased = new Map<string, { tenant: string; erasedAt: string }>();
  private scanned: Promise<void> | undefined;

  constructor(
    /** The raw store (keys/ objects are not sealed). */
    private readonly store: ObjectStore,
    readonly wrapper: KeyWrapper,
    private readonly maxAgeMs = KEY_CACHE_MS,
  ) {}

  /** Forgets every unwrapped key once they are older than maxAgeMs (they are loaded again on next use). */
  private expire(): void {
    if (Date.now() - this.loadedAt < this.maxAgeMs) return;
    this.byTenant.clear();
    this.byId.clear();
    this.loadedAt = Date.now();
  }

  private async readKeyObject(tenant: string): Promise<KeyObject | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readObject(this.store, dataKeyKey(tenant));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    const parsed = keyObjectSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    if (!parsed.success || parsed.data.tenant !== tenant)
      throw new IntegrityError(`data key object of tenant "${tenant}" does not parse`, { key: dataKeyKey(tenant) });
    return parsed.data;
  }

  private async unwrapObject(o: KeyObject): Promise<DataKey> {
    const id = Buffer.from(o.id, 'hex');
    let material: Buffer;
    try {
      material = await this.wrapper.unwrap(o.tenant, id, o.kek, Buffer.from(o.wrapped, 'base64'));
    } catch (err) {
      if (err instanceof KeyUnavailableError) throw err;
      throw new KeyUnavailableError(
        `cannot unwrap the data key of tenant "${o.tenant}" (${this.wrapper.description})`,
        {
          key: dataKeyKey(o.tenant),
        },
        { cause: err },
      );
    }
    const key = new DataKey(o.tenant, id, material);
    if (key.checkValue !== o.checkValue)
      throw new KeyUnavailableError(`the data key of tenant "${o.tenant}" unwraps to the wrong key (check value)`, {
        key: dataKeyKey(o.tenant),
      });
    return key;
  }

  /** The tenant's data key, created (and wrapped) on first use. */
  forTenant(tenant: string): Promise<DataKey> {
    checkTenant(tenant);
    this.expire();
    let p = this.byTenant.get(tenant);
    if (!p) {
      p = this.loadOrCreate(tenant);
      this.byTenant.set(tenant, p);
      p.catch(() => this.byTenant.delete(tenant));
    }
    return p;
  }

  private async loadOrCreate(tenant: string): Promise<DataKey> {
    const existing = await this.readKeyObject(tenant);
    if (existing) return this.remember(this.unwrapObject(existing), existing.id);
    const { key, material } = DataKey.generate(tenant);
    const { kek, wrapped } = await this.wrapper.wrap(key, material);
    const object: KeyObject = {
      format: 'strata-data-key',
      version: 1,
      tenant,
      id: key.id.toString('hex'),
      kek,
      wrapped: wrapped.toString('base64'),
      checkValue: key.checkValue,
      createdAt: new Date().toISOString(),
    };
    try {
      await this.store.put(dataKeyKey(tenant), Buffer.from(JSON.stringify(object, null, 2) + '\n'), {
        ifNoneMatch: true,
        contentType: 'application/json',
      });
      return this.remember(Promise.resolve(key), object.id);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      const winner = (await this.readKeyObject(tenant))!;
      return this.remember(this.unwrapObject(winner), winner.id);
    }
  }

  private remember(p: Promise<DataKey>, id: string): Promise<DataKey> {
    this.byId.set(id, p);
    return p;
  }

  /** The data key that sealed an object (its header's key id); `key` names the object in errors. */
  async byKeyId(keyId: Buffer, key: string): Promise<DataKey> {
    const id = keyId.toString('hex');
    this.expire();
    const known = this.byId.get(id);
    if (known) return known;
    await (this.scanned ??= this.scan().finally(() => (this.scanned = undefined)));
    const found = this.byId.get(id);
    if (found) return found;
    const erased = this.erased.get(id);
    if (erased)
      throw new KeyUnavailableError(
        `sealed with the data key of tenant "${erased.tenant}", erased at ${erased.erasedAt}: its data is gone for good`,
        { key },
      );
    throw new KeyUnavailableError(
      `sealed with data key ${id}, which is not in this store's keys/ (wrong store or keys)`,
      {
        key,
      },
    );
  }

  /** Lists keys/ for data keys not loaded yet (a reader meets other tenants' objects) and erasure tombstones. */
  private async scan(): Promise<void> {
    for await (const o of this.store.list(KEYS_PREFIX)) {
      const [tenant, name] = o.key.slice(KEYS_PREFIX.length).split('/');
      if (!tenant || !name) continue;
      if (name === 'data-key' && !this.byTenant.has(tenant)) {
        const object = await this.readKeyObject(tenant);
        if (!object) continue;
        const p = this.remember(this.unwrapObject(object), object.id);
        p.catch(() => {}); // reported to whoever reads an object it sealed
        this.byTenant.set(tenant, p);
      } else if (name.startsWith('erased-')) {
        const t = erasedSchema.safeParse(JSON.parse((await readObject(this.store, o.key)).toString('utf8')));
        if (t.success) this.erased.set(t.data.id, { tenant: t.data.tenant, erasedAt: t.data.erasedAt });
      }
    }
  }

  /**
   * Why a keys/ object's bytes (a copy: a replica's) are not good, or undefined: a wrapped data key must unwrap
   * under its KEK to a key with its check value, an erasure tombstone must parse. Other keys/ objects say nothing.
   */
  async keyObjectProblem(key: string, bytes: Buffer): Promise<string | undefined> {
    const [tenant, name, extra] = key.slice(KEYS_PREFIX.length).split('/');
    if (!tenant || !name || extra !== undefined) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch {
      return 'not JSON';
    }
    if (name.startsWith('erased-')) return erasedSchema.safeParse(raw).success ? undefined : 'not an erasure record';
    if (name !== 'data-key') return undefined;
    const parsed = keyObjectSchema.safeParse(raw);
    if (!parsed.success || parsed.data.tenant !== tenant) return 'not a wrapped data key of this tenant';
    try {
      await this.unwrapObject(parsed.data);
      return undefined;
    } catch (err) {
      return describeError(err);
    }
  }

  /** Wraps the tenant's data key under a new KEK and retires the old one: no sealed object is rewritten. */
  async rotate(tenant: string): Promise<{ tenant: string; from: string; to: string }> {
    checkTenant(tenant);
    const object = await this.readKeyObject(tenant);
    if (!object) throw new NotFoundError(`tenant "${tenant}" has no data key`, { key: dataKeyKey(tenant) });
    const key = await this.unwrapObject(object);
    await this.wrapper.rotate(tenant);
    const material = await this.wrapper.unwrap(tenant, key.id, object.kek, Buffer.from(object.wrapped, 'base64'));
    const { kek, wrapped } = await this.wrapper.wrap(key, material);
    const next: KeyObject = {
      ...object,
      kek,
      wrapped: wrapped.toString('base64'),
      rewrappedAt: new Date().toISOString(),
    };
    // A plain overwrite: either blob unwraps until the old KEK is retired, which happens only after this write.
    await this.store.put(dataKeyKey(tenant), Buffer.from(JSON.stringify(next, null, 2) + '\n'), {
      contentType: 'application/json',
    });
    await this.wrapper.retire(tenant, object.kek);
    return { tenant, from: object.kek, to: kek };
  }

  /**
   * Crypto-shredding: destroys the tenant's KEK (every copy of its wrapped data key, wherever the bucket was copied,
   * becomes useless), deletes the wrapped key, and leaves a tombstone naming the key id so reads say "erased".
   */
  async erase(tenant: string): Promise<ErasureProof> {
    checkTenant(tenant);
    const object = await this.readKeyObject(tenant);
    const destroyed = await this.wrapper.destroy(tenant, object ? [object.kek] : []);
    let unwrapRefused = true;
    if (object) {
      try {
        await this.wrapper.unwrap(
          tenant,
          Buffer.from(object.id, 'hex'),
          object.kek,
          Buffer.from(object.wrapped, 'base64'),
        );
        unwrapRefused = false;
      } catch {
        unwrapRefused = true;
      }
    }
    const erasedAt = new Date().toISOString();
    if (object) {
      await this.store.put(
        erasedKey(tenant, object.id),
        Buffer.from(
          JSON.stringify({ tenant, id: object.id, checkValue: object.checkValue, erasedAt, destroyed }) + '\n',
        ),
        { contentType: 'application/json' },
      );
      await this.store.delete([dataKeyKey(tenant)]);
      this.erased.set(object.id, { tenant, erasedAt });
      this.byId.delete(object.id);
    }
    this.byTenant.delete(tenant);
    return {
      tenant,
      dataKeys: object ? [{ id: object.id, checkValue: object.checkValue, createdAt: object.createdAt }] : [],
      destroyed,
      erasedAt,
      unwrapRefused,
    };
  }
}
