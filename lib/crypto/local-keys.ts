// KEKs in a local key directory (the embedded mode): `<dir>/<tenant>/<kekId>.kek` holds 32 random bytes (hex),
// `<dir>/<tenant>/current` names the one new data keys are wrapped with. Wrapping is AES-256-GCM with the tenant and
// data key id as additional data.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataKey } from './data-key.ts';
import { KeyUnavailableError } from './errors.ts';
import { wrapContext, type KekDestruction, type KeyWrapper } from './key-wrapper.ts';

const KEK_ID = /^[0-9a-f]{16}$/;

const aad = (tenant: string, keyId: Buffer) => Buffer.from(JSON.stringify(wrapContext(tenant, keyId)));

export class LocalKeyDirectory implements KeyWrapper {
  readonly description: string;

  constructor(private readonly dir: string) {
    this.description = `local key directory ${dir}`;
  }

  private tenantDir(tenant: string): string {
    return join(this.dir, tenant);
  }

  private async readKek(tenant: string, kek: string): Promise<Buffer | undefined> {
    if (!KEK_ID.test(kek)) return undefined;
    try {
      const hex = (await readFile(join(this.tenantDir(tenant), `${kek}.kek`), 'utf8')).trim();
      return /^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Writes a new KEK file (0600) and returns its id; does not make it current. */
  private async newKek(tenant: string): Promise<string> {
    const kek = randomBytes(32);
    const id = createHash('sha256').update(kek).digest('hex').slice(0, 16);
    await mkdir(this.tenantDir(tenant), { recursive: true, mode: 0o700 });
    const fh = await open(join(this.tenantDir(tenant), `${id}.kek`), 'wx', 0o600);
    try {
      await fh.writeFile(kek.toString('hex') + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    return id;
  }

  private async setCurrent(tenant: string, kek: string): Promise<void> {
    const tmp = join(this.tenantDir(tenant), `.current.${randomBytes(4).toString('hex')}`);
    await writeFile(tmp, kek + '\n', { mode: 0o600 });
    await rename(tmp, join(this.tenantDir(tenant), 'current'));
  }

  private async current(tenant: string): Promise<string | undefined> {
    try {
      const id = (await readFile(join(this.tenantDir(tenant), 'current'), 'utf8')).trim();
      return KEK_ID.test(id) ? id : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async wrap(key: DataKey, material: Buffer): Promise<{ kek: string; wrapped: Buffer }> {
    let kekId = await this.current(key.tenant);
    if (!kekId) {
      kekId = await this.newKek(key.tenant);
      await this.setCurrent(key.tenant, kekId);
    }
    const kek = await this.readKek(key.tenant, kekId);
    if (!kek) throw new KeyUnavailableError(`KEK ${kekId} of tenant "${key.tenant}" is missing from ${this.dir}`);
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', kek, nonce).setAAD(aad(key.tenant, key.id));
    const body = Buffer.concat([c.update(material), c.final()]);
    return { kek: kekId, wrapped: Buffer.concat([nonce, body, c.getAuthTag()]) };
  }

  async unwrap(tenant: string, keyId: Buffer, kekId: string, wrapped: Buffer): Promise<Buffer> {
    const kek = await this.readKek(tenant, kekId);
    if (!kek) {
      throw new KeyUnavailableError(
        `the key-encryption key ${kekId} of tenant "${tenant}" is not in ${this.dir} (destroyed, or another key directory)`,
      );
    }
    try {
      const d = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, 12)).setAAD(aad(tenant, keyId));
      d.setAuthTag(wrapped.subarray(wrapped.length - 16));
      return Buffer.concat([d.update(wrapped.subarray(12, wrapped.length - 16)), d.final()]);
    } catch {
      throw new KeyUnavailableError(`the data key of tenant "${tenant}" does not unwrap with KEK ${kekId} (altered)`);
    }
  }

  async rotate(tenant: string): Promise<void> {
    await this.setCurrent(tenant, await this.newKek(tenant));
  }

  async retire(tenant: string, kek: string): Promise<void> {
    if (KEK_ID.test(kek) && kek !== (await this.current(tenant)))
      await shred(join(this.tenantDir(tenant), `${kek}.kek`));
  }

  async destroy(tenant: string): Promise<KekDestruction> {
    const dir = this.tenantDir(tenant);
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const keks = names.filter((n) => n.endsWith('.kek')).map((n) => n.slice(0, -4));
    for (const n of names) await shred(join(dir, n));
    await rm(dir, { recursive: true, force: true });
    return { keks, state: keks.map((k) => `${k}: file overwritten and removed from ${this.dir}`) };
  }
}

/** Overwrites a key file before unlinking it (on filesystems that write in place, the bytes are then gone). */
async function shred(path: string): Promise<void> {
  try {
    const fh = await open(path, 'r+');
    try {
      const { size } = await fh.stat();
      await fh.write(Buffer.alloc(size), 0, size, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rm(path, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
