// Ed25519 signatures of tree heads (node:crypto): who may extend the log is whoever holds the private key.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { signedBytesOf, type TreeHead } from './log-format.ts';

/** First 16 hex digits of the SHA-256 of the public key's SPKI DER: names the key in each signature. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

export function signHead(head: TreeHead, privateKey: KeyObject): TreeHead {
  const { signature: _old, ...unsigned } = head;
  const value = sign(null, signedBytesOf(unsigned), privateKey).toString('base64');
  return { ...unsigned, signature: { alg: 'ed25519', keyId: keyIdOf(privateKey), value } };
}

/** Undefined when the head carries a valid signature by this key; otherwise why not. */
export function headSignatureProblem(head: TreeHead, publicKey: KeyObject): string | undefined {
  const sig = head.signature;
  if (!sig) return 'is not signed';
  if (sig.alg !== 'ed25519') return `is signed with ${String(sig.alg)}, not ed25519`;
  const expected = keyIdOf(publicKey);
  if (sig.keyId !== expected) return `is signed by key ${sig.keyId}, not by the log's key ${expected}`;
  let ok: boolean;
  try {
    ok = verify(null, signedBytesOf(head), publicKey, Buffer.from(sig.value, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? undefined : 'has a signature that does not verify (forged or altered head)';
}
