// Encrypted stores for tests: an EncryptedStore over any store, with KEKs in a temporary local key directory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncryptedStore, type EncryptedStoreOptions } from '../../lib/crypto/encrypted-store.ts';
import { Keyring } from '../../lib/crypto/keyring.ts';
import { LocalKeyDirectory } from '../../lib/crypto/local-keys.ts';
import type { ObjectStore } from '../../lib/store/store.ts';

/** A fresh key directory under the OS temp dir (callers remove it). */
export function tempKeyDir(): string {
  return mkdtempSync(join(tmpdir(), 'strata-keys-'));
}

export function encryptedOver(inner: ObjectStore, keyDir: string, opts: EncryptedStoreOptions = {}): EncryptedStore {
  return new EncryptedStore(inner, new Keyring(inner, new LocalKeyDirectory(keyDir)), opts);
}
