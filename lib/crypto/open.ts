// Wraps the configured store in encryption when the config asks for it (encryption.enabled).
import type { EncryptionConfig, S3Config } from '../config/config.ts';
import type { ObjectStore } from '../store/store.ts';
import { EncryptedStore } from './encrypted-store.ts';
import type { KeyWrapper } from './key-wrapper.ts';
import { Keyring } from './keyring.ts';
import { KmsKeys } from './kms-keys.ts';
import { LocalKeyDirectory } from './local-keys.ts';

export function keyWrapperOf(enc: EncryptionConfig, s3: S3Config): KeyWrapper {
  if (enc.keys === 'local') return new LocalKeyDirectory(enc.keyDir);
  const credentials =
    s3.accessKeyId && s3.secretAccessKey
      ? {
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
          ...(s3.sessionToken && { sessionToken: s3.sessionToken }),
        }
      : undefined;
  return new KmsKeys(
    {
      region: enc.kms.region ?? s3.region,
      ...(enc.kms.endpoint && { endpoint: enc.kms.endpoint }),
      ...(credentials && { credentials }),
    },
    {
      aliasPrefix: enc.kms.aliasPrefix,
      deletionWindowDays: enc.kms.deletionWindowDays,
      description: `AWS KMS ${enc.kms.endpoint ?? enc.kms.region ?? s3.region}`,
    },
  );
}

/** The store as the core sees it: sealed when encryption is on, else as it is. */
export function withEncryption(store: ObjectStore, enc: EncryptionConfig, s3: S3Config): ObjectStore {
  if (!enc.enabled) return store;
  return new EncryptedStore(store, new Keyring(store, keyWrapperOf(enc, s3)), {
    acceptPlaintext: enc.acceptPlaintext,
    tenantOf: (namespace) => enc.tenants[namespace] ?? namespace,
  });
}
