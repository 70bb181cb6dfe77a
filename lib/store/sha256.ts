// SHA-256 of data as it passes, and the one check of it against what was expected (an id, a recorded hash and size).
import { createHash } from 'node:crypto';
import { IntegrityError, type ErrorLocation } from '../errors.ts';

export interface Digest {
  sha256: string;
  size: number;
}

/** Hashes and counts bytes as they pass (on their way to disk, to S3, or out of a restore). */
export class Sha256Tally {
  private readonly hash = createHash('sha256');
  private result: Digest | undefined;
  private size = 0;

  add(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  digest(): Digest {
    return (this.result ??= { sha256: this.hash.digest('hex'), size: this.size });
  }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The SHA-256 and size of everything a stream yields (strings as UTF-8). */
export async function digestOf(stream: AsyncIterable<unknown>): Promise<Digest> {
  const tally = new Sha256Tally();
  for await (const chunk of stream) tally.add(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
  return tally.digest();
}

export interface ExpectedDigest {
  /** Hex; compared case-insensitively. Absent: only the size is checked. */
  sha256?: string;
  size?: number;
}

export function matchesDigest(expected: ExpectedDigest, actual: Digest): boolean {
  return (
    (expected.sha256 === undefined || expected.sha256.toLowerCase() === actual.sha256) &&
    (expected.size === undefined || expected.size === actual.size)
  );
}

/** IntegrityError naming both sides when the data is not what was expected. `what` says whose data it is. */
export function checkDigest(expected: ExpectedDigest, actual: Digest, what: string, where?: ErrorLocation): void {
  if (matchesDigest(expected, actual)) return;
  const shaDiffers = !matchesDigest({ sha256: expected.sha256 }, actual);
  const want = [
    expected.size !== undefined && `${expected.size} bytes`,
    expected.sha256 && `SHA-256 ${expected.sha256}`,
  ]
    .filter(Boolean)
    .join(' ');
  throw new IntegrityError(
    `${what}: ${shaDiffers ? 'SHA-256' : 'size'} mismatch: expected ${want}, received ${actual.size} bytes SHA-256 ${actual.sha256}`,
    where,
  );
}

/** A content-addressed object (manifest, pack, chunk) must hash to the id it is stored under. */
export function checkContentId(data: Uint8Array, id: string, what: string, where?: ErrorLocation): void {
  const actual = sha256Hex(data);
  if (actual !== id) throw new IntegrityError(`${what} content hashes to ${actual}, not its id ${id}`, where);
}
