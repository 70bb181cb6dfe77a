// KEKs in AWS KMS: one symmetric KMS key per tenant behind the alias `alias/<prefix><tenant>`, created on first use.
// Data keys are wrapped with Encrypt under an encryption context naming the tenant and data key id.
// The SDK loads on first use (test/architecture: commands on a file: store never parse it).
import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import type { DataKey } from './data-key.ts';
import { KeyUnavailableError } from './errors.ts';
import { wrapContext, type KekDestruction, type KeyWrapper } from './key-wrapper.ts';

export interface KmsKeyOptions {
  /** Alias prefix (default `strata/`): tenant T's KEK is `alias/<prefix>T`. */
  aliasPrefix?: string;
  /** Days KMS waits before deleting a destroyed tenant's key (7-30; the key refuses to decrypt from the start). */
  deletionWindowDays?: number;
  description?: string;
}

/** The key id of a key ARN (`arn:aws:kms:…:key/<id>`); some KMS peers take only ids in key management calls. */
const keyIdOf = (kek: string) => (kek.startsWith('arn:') ? kek.slice(kek.lastIndexOf('/') + 1) : kek);

const errName = (err: unknown) => (err as { name?: string }).name ?? '';

export class KmsKeys implements KeyWrapper {
  readonly description: string;
  private readonly prefix: string;

  private client: Promise<{ kms: KMSClient; sdk: typeof import('@aws-sdk/client-kms') }> | undefined;

  constructor(
    private readonly clientConfig: KMSClientConfig,
    private readonly opts: KmsKeyOptions = {},
  ) {
    this.prefix = opts.aliasPrefix ?? 'strata/';
    this.description = opts.description ?? 'AWS KMS';
  }

  private async send<T>(make: (sdk: typeof import('@aws-sdk/client-kms')) => unknown): Promise<T> {
    const { kms, sdk } = await (this.client ??= import('@aws-sdk/client-kms').then((sdk) => ({
      kms: new sdk.KMSClient(this.clientConfig),
      sdk,
    })));
    return (await kms.send(make(sdk) as never)) as T;
  }

  private alias(tenant: string): string {
    return `alias/${this.prefix}${tenant}`;
  }

  private async keyOfAlias(tenant: string): Promise<string | undefined> {
    try {
      const out = await this.send<import('@aws-sdk/client-kms').DescribeKeyCommandOutput>(
        (k) => new k.DescribeKeyCommand({ KeyId: this.alias(tenant) }),
      );
      return out.KeyMetadata?.Arn ?? out.KeyMetadata?.KeyId;
    } catch (err) {
      if (errName(err) === 'NotFoundException') return undefined;
      throw err;
    }
  }

  private async createKey(tenant: string): Promise<string> {
    const out = await this.send<import('@aws-sdk/client-kms').CreateKeyCommandOutput>(
      (k) =>
        new k.CreateKeyCommand({
          Description: `Strata KEK of tenant ${tenant}`,
          Tags: [{ TagKey: 'strata.dev/tenant', TagValue: tenant }],
        }),
    );
    return out.KeyMetadata!.Arn ?? out.KeyMetadata!.KeyId!;
  }

  /** The tenant's current KEK, created with its alias when there is none (a lost alias race uses the winner's). */
  private async currentKey(tenant: string): Promise<string> {
    const existing = await this.keyOfAlias(tenant);
    if (existing) return existing;
    const key = await this.createKey(tenant);
    try {
      await this.send<import('@aws-sdk/client-kms').CreateAliasCommandOutput>(
        (k) => new k.CreateAliasCommand({ AliasName: this.alias(tenant), TargetKeyId: key }),
      );
      return key;
    } catch (err) {
      if (errName(err) !== 'AlreadyExistsException') throw err;
      await this.send<import('@aws-sdk/client-kms').ScheduleKeyDeletionCommandOutput>(
        (k) => new k.ScheduleKeyDeletionCommand({ KeyId: key, PendingWindowInDays: 7 }),
      );
      return (await this.keyOfAlias(tenant))!;
    }
  }

  async wrap(key: DataKey, material: Buffer): Promise<{ kek: string; wrapped: Buffer }> {
    const kek = await this.currentKey(key.tenant);
    const out = await this.send<import('@aws-sdk/client-kms').EncryptCommandOutput>(
      (k) =>
        new k.EncryptCommand({
          KeyId: kek,
          Plaintext: material,
          EncryptionContext: wrapContext(key.tenant, key.id),
        }),
    );
    return { kek: out.KeyId!, wrapped: Buffer.from(out.CiphertextBlob!) };
  }

  async unwrap(tenant: string, keyId: Buffer, kek: string, wrapped: Buffer): Promise<Buffer> {
    try {
      // KMS refuses Decrypt under a disabled or doomed key; asking first holds on peers that do not (moto 5).
      const described = await this.send<import('@aws-sdk/client-kms').DescribeKeyCommandOutput>(
        (k) => new k.DescribeKeyCommand({ KeyId: keyIdOf(kek) }),
      );
      const state = described.KeyMetadata?.KeyState;
      if (state !== undefined && state !== 'Enabled')
        throw new KeyUnavailableError(`the KEK ${kek} of tenant "${tenant}" is ${state}`);
      const out = await this.send<import('@aws-sdk/client-kms').DecryptCommandOutput>(
        (k) =>
          new k.DecryptCommand({ KeyId: kek, CiphertextBlob: wrapped, EncryptionContext: wrapContext(tenant, keyId) }),
      );
      return Buffer.from(out.Plaintext!);
    } catch (err) {
      if (err instanceof KeyUnavailableError) throw err;
      const name = errName(err);
      if (
        ['KMSInvalidStateException', 'NotFoundException', 'DisabledException', 'InvalidCiphertextException'].includes(
          name,
        )
      )
        throw new KeyUnavailableError(`KMS refuses the KEK ${kek} of tenant "${tenant}" (${name})`, undefined, {
          cause: err,
        });
      throw err;
    }
  }

  async rotate(tenant: string): Promise<void> {
    const key = await this.createKey(tenant);
    if (await this.keyOfAlias(tenant))
      await this.send<import('@aws-sdk/client-kms').UpdateAliasCommandOutput>(
        (k) => new k.UpdateAliasCommand({ AliasName: this.alias(tenant), TargetKeyId: key }),
      );
    else
      await this.send<import('@aws-sdk/client-kms').CreateAliasCommandOutput>(
        (k) => new k.CreateAliasCommand({ AliasName: this.alias(tenant), TargetKeyId: key }),
      );
  }

  async retire(tenant: string, kek: string): Promise<void> {
    if (kek !== (await this.keyOfAlias(tenant)))
      await this.send<import('@aws-sdk/client-kms').DisableKeyCommandOutput>(
        (k) => new k.DisableKeyCommand({ KeyId: keyIdOf(kek) }),
      );
  }

  async destroy(tenant: string, extra: string[] = []): Promise<KekDestruction> {
    const current = await this.keyOfAlias(tenant);
    const keks = [...new Set([...(current ? [current] : []), ...extra])];
    const state: string[] = [];
    for (const kek of keks) {
      try {
        // Disabled first: refuses Decrypt at once on every KMS (some peers still decrypt with a key pending deletion).
        await this.send<import('@aws-sdk/client-kms').DisableKeyCommandOutput>(
          (k) => new k.DisableKeyCommand({ KeyId: keyIdOf(kek) }),
        );
        const out = await this.send<import('@aws-sdk/client-kms').ScheduleKeyDeletionCommandOutput>(
          (k) =>
            new k.ScheduleKeyDeletionCommand({
              KeyId: keyIdOf(kek),
              PendingWindowInDays: this.opts.deletionWindowDays ?? 7,
            }),
        );
        state.push(`${kek}: ${out.KeyState ?? 'PendingDeletion'} until ${out.DeletionDate?.toISOString() ?? '?'}`);
      } catch (err) {
        if (errName(err) !== 'KMSInvalidStateException') throw err;
        state.push(`${kek}: already pending deletion`);
      }
    }
    if (current)
      await this.send<import('@aws-sdk/client-kms').DeleteAliasCommandOutput>(
        (k) => new k.DeleteAliasCommand({ AliasName: this.alias(tenant) }),
      );
    return { keks, state };
  }
}
