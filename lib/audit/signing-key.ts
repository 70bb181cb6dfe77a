// Loads the log's Ed25519 keys from PEM files (a mounted Kubernetes Secret, or a local file in the embedded mode).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the audit ${what}: ${(err as Error).message}`, { file: path });
  }
}

function ensureEd25519(key: KeyObject, path: string, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ConfigError(`the audit ${what} must be an Ed25519 key, not ${String(key.asymmetricKeyType)}`, {
      file: path,
    });
  }
  return key;
}

export function loadSigningKey(path: string): KeyObject {
  const pem = readPem(path, 'signing key');
  try {
    return ensureEd25519(createPrivateKey(pem), path, 'signing key');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`not a PEM private key: ${(err as Error).message}`, { file: path });
  }
}

/** A public key file, or the public half of a private key file. */
export function loadPublicKey(path: string): KeyObject {
  const pem = readPem(path, 'public key');
  try {
    return ensureEd25519(createPublicKey(pem), path, 'public key');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`not a PEM public key: ${(err as Error).message}`, { file: path });
  }
}

/** A new key pair as PEM (PKCS#8 private, SPKI public). */
export function generateSigningKey(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
