// Reading through to the replica: when the primary's pack, pack index or manifest is missing or fails its own check
// (a pack hashes to its id, an index carries its checksum, a manifest hashes to its id), the replica's copy is read
// instead, once it proves good, and optionally copied back (heal). Every fallback is reported. An encrypted
// repository's objects are checked opened with its keys and served (and healed) as stored, sealed.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { decodeManifest } from '../archive/manifest.ts';
import { HEX_ID, INDEX_PREFIX, MANIFESTS_PREFIX, PACKS_PREFIX, parseGroupKey } from '../archive/repository.ts';
import { refKeys } from '../archive/workflow-refs.ts';
import { describeError, IntegrityError, NotFoundError } from '../errors.ts';
import { readObject } from '../store/read-whole.ts';
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions, PutResult } from '../store/store.ts';
import { contentOfStored, EncryptedStore, storeAsStored } from '../crypto/encrypted-store.ts';
import { contentProblem } from './replicate.ts';

export interface Fallback {
  key: string;
  /** What is wrong with the primary's copy. */
  why: string;
  /** Copied back to the primary (read back and hashed). */
  healed: boolean;
}

/** Objects that prove themselves by their content: the only ones a replica may stand in for. */
export function selfProving(key: string): boolean {
  return Boolean(
    parseGroupKey(PACKS_PREFIX, key) ||
    parseGroupKey(INDEX_PREFIX, key) ||
    (key.startsWith(MANIFESTS_PREFIX) && HEX_ID.test(key.slice(MANIFESTS_PREFIX.length))),
  );
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The content of an object from its stored bytes: as they are, or (an encrypted repository) opened with the keys. */
export type Opener = (key: string, stored: Buffer) => Promise<Buffer>;
const asStored: Opener = async (_key, stored) => stored;

/** The stored bytes' content and what is wrong with it (no content: it does not open). */
async function judge(open: Opener, key: string, stored: Buffer): Promise<{ content?: Buffer; bad?: string }> {
  let content: Buffer;
  try {
    content = await open(key, stored);
  } catch (err) {
    return { bad: describeError(err) };
  }
  return { content, bad: contentProblem(key, content) };
}

/** Why the primary's copy of `key` cannot be used (undefined: it is good), reading it whole. */
async function primaryProblem(primary: ObjectStore, key: string, open: Opener): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readObject(primary, key);
  } catch (err) {
    if (err instanceof NotFoundError) return 'missing on the primary';
    if (err instanceof IntegrityError) return `unreadable on the primary (${describeError(err)})`;
    throw err;
  }
  const { bad } = await judge(open, key, bytes);
  return bad && `bad on the primary (${bad})`;
}

/**
 * The replica's copy of `key`, when it proves good; throws IntegrityError saying why not. A manifest missing on the
 * primary is taken from the replica only when a ref on the primary still names it: without one it was deleted
 * there (expiry, emergency deletion), and a stale replica must not bring it back.
 */
export async function replicaCopy(
  primary: ObjectStore,
  replica: ObjectStore,
  key: string,
  why: string,
  open: Opener = asStored,
): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readObject(replica, key);
  } catch (err) {
    if (err instanceof NotFoundError) throw new IntegrityError(`${key}: ${why}, and the replica has no copy`);
    throw err;
  }
  const { content, bad } = await judge(open, key, bytes);
  if (bad || !content) throw new IntegrityError(`${key}: ${why}, and the replica's copy is bad too (${bad})`);
  if (key.startsWith(MANIFESTS_PREFIX) && why === 'missing on the primary') {
    const id = key.slice(MANIFESTS_PREFIX.length);
    const refs = refKeys(decodeManifest(id, content, key).workflow, id);
    let named = false;
    for (const ref of refs) if (await primary.head(ref)) named = true;
    if (!named)
      throw new IntegrityError(
        `${key}: missing on the primary and no ref there names it (deleted, not lost): not taken from the replica`,
      );
  }
  return bytes;
}

/** Copies verified bytes back to the primary and reads them back. */
export async function healPrimary(primary: ObjectStore, key: string, bytes: Buffer): Promise<void> {
  const digest = sha(bytes);
  await primary.put(key, bytes, { sha256: digest, contentLength: bytes.length });
  const back = await readObject(primary, key);
  if (sha(back) !== digest) throw new IntegrityError(`${key}: the healed copy read back does not match`);
}

/**
 * Checks one self-proving object of the primary and, when it is missing or bad, whether the replica's copy is
 * good (healing the primary with it when asked). Returns the fallback, or undefined when the primary is good.
 */
export async function recoverFromReplica(
  primary: ObjectStore,
  replica: ObjectStore,
  key: string,
  heal: boolean,
  open: Opener = asStored,
): Promise<Fallback | undefined> {
  const why = await primaryProblem(primary, key, open);
  if (!why) return undefined;
  const bytes = await replicaCopy(primary, replica, key, why, open);
  if (heal) await healPrimary(primary, key, bytes);
  return { key, why, healed: heal };
}

export interface FallbackOptions {
  heal: boolean;
  onFallback?: (f: Fallback) => void;
  /** How stored bytes are opened for their check (default: as they are). */
  open?: Opener;
}

/**
 * The primary store, whose packs, indexes and manifests are each checked whole on first use and, if missing or
 * bad, served from the replica (verified). Writes, listings and deletions go to the primary only. The check reads
 * each such object once more than a plain read would: the price of restoring through a replica.
 */
export class ReplicaFallbackStore implements ObjectStore {
  readonly url: string;
  private readonly source = new Map<string, Promise<ObjectStore>>();
  readonly fallbacks: Fallback[] = [];

  constructor(
    private readonly primary: ObjectStore,
    private readonly replica: ObjectStore,
    private readonly opts: FallbackOptions,
  ) {
    this.url = primary.url;
  }

  /** Which store serves `key`: decided once per key. */
  private from(key: string): Promise<ObjectStore> {
    if (!selfProving(key)) return Promise.resolve(this.primary);
    let p = this.source.get(key);
    if (!p) {
      p = (async () => {
        const open = this.opts.open ?? asStored;
        const why = await primaryProblem(this.primary, key, open);
        if (!why) return this.primary;
        const bytes = await replicaCopy(this.primary, this.replica, key, why, open);
        if (this.opts.heal) await healPrimary(this.primary, key, bytes);
        const f = { key, why, healed: this.opts.heal };
        this.fallbacks.push(f);
        this.opts.onFallback?.(f);
        return this.opts.heal ? this.primary : this.replica;
      })();
      this.source.set(key, p);
      p.catch(() => this.source.delete(key));
    }
    return p;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    return (await this.from(key)).get(key, range);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    if (selfProving(key) && !(await this.primary.head(key))) {
      // Missing here: the replica's copy stands in only if it proves good (and a lost manifest is still named).
      try {
        return (await this.from(key)).head(key);
      } catch (err) {
        if (err instanceof IntegrityError) return undefined;
        throw err;
      }
    }
    return (await this.from(key)).head(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.primary.list(prefix);
  }

  put(key: string, body: Readable | Uint8Array, opts?: PutOptions): Promise<PutResult> {
    return this.primary.put(key, body, opts);
  }

  delete(keys: string[]): Promise<void> {
    return this.primary.delete(keys);
  }
}

/**
 * The primary as a repository reads it, falling back to the replica. An encrypted repository: the fallback sits
 * under the encryption, between the sealed copies, checking each opened with the keys, so what it serves or heals
 * is the sealed object as stored (never opened and sealed again).
 */
export function withReplicaFallback(
  primary: ObjectStore,
  replica: ObjectStore,
  opts: Omit<FallbackOptions, 'open'>,
): { store: ObjectStore; fallbacks: Fallback[] } {
  if (!(primary instanceof EncryptedStore)) {
    const fallback = new ReplicaFallbackStore(primary, replica, opts);
    return { store: fallback, fallbacks: fallback.fallbacks };
  }
  const fallback = new ReplicaFallbackStore(primary.inner, storeAsStored(replica), {
    ...opts,
    open: (key, stored) => primary.unseal(key, stored),
  });
  return { store: primary.over(fallback), fallbacks: fallback.fallbacks };
}

/** The self-proving objects a verify report's problems name (a missing pack or index is named in the message). */
export function recoverableKeys(problems: ReadonlyArray<{ kind: string; key: string; message: string }>): string[] {
  const keys = new Set<string>();
  for (const p of problems) {
    const missing = /^(?:pack|index) (\S+) is missing/.exec(p.message);
    if (p.kind === 'reference' && missing) keys.add(missing[1]!);
    else if ((p.kind === 'pack' || p.kind === 'index' || p.kind === 'manifest') && selfProving(p.key)) keys.add(p.key);
  }
  return [...keys].sort();
}

/** For each key: the fallback the replica offers (healed when asked), or why it cannot help. */
export async function recoverAll(
  primary: ObjectStore,
  replica: ObjectStore,
  keys: readonly string[],
  heal: boolean,
): Promise<{ recovered: Fallback[]; unrecoverable: Array<{ key: string; why: string }> }> {
  const recovered: Fallback[] = [];
  const unrecoverable: Array<{ key: string; why: string }> = [];
  // An encrypted repository: sealed copies compared and healed as stored, checked opened with the keys.
  const open: Opener = (key, stored) => contentOfStored(primary, key, stored);
  const [from, to] = [storeAsStored(primary), storeAsStored(replica)];
  for (const key of keys) {
    try {
      const f = await recoverFromReplica(from, to, key, heal, open);
      if (f) recovered.push(f);
    } catch (err) {
      unrecoverable.push({ key, why: describeError(err) });
    }
  }
  return { recovered, unrecoverable };
}
