// Helpers for lifecycle tests: workflows archived at chosen ages, a store that crashes after N writes, scans.
import type { Readable } from 'node:stream';
import {
  archiveBundle,
  listManifests,
  openRepository,
  readManifest,
  type Repository,
} from '../../lib/archive/index.ts';
import { decodeIndex, decodePack } from '../../lib/archive/pack-format.ts';
import { INDEX_PREFIX, PACKS_PREFIX, readObject } from '../../lib/archive/repository.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import {
  objectLockOf,
  type ByteRange,
  type ObjectInfo,
  type ObjectLock,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type RetentionMode,
} from '../../lib/store/store.ts';
import { bundleOf } from '../archive/fixtures.ts';

export const DAY = 86_400_000;

export function workflowAt(uid: string, finishedAt: Date, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name: `wf-${uid}`, namespace: 'agents', uid, labels },
    status: { phase: 'Succeeded', startedAt: finishedAt.toISOString(), finishedAt: finishedAt.toISOString() },
  };
}

/** Archives files as workflow `uid` that finished `finishedAt`; returns the manifest id. */
export async function archiveAt(
  repo: Repository,
  uid: string,
  finishedAt: Date,
  files: Buffer[],
  group = 'g',
): Promise<string> {
  const bundle = bundleOf(
    uid,
    files.map((data, i) => ({ path: `logs/${i}.log`, data })),
    workflowAt(uid, finishedAt),
  );
  return (await archiveBundle(repo, bundle, { group })).manifestId;
}

export class Crash extends Error {}

/**
 * Forwards to a store and throws Crash instead of the Nth mutating request (put, delete, lock). It offers Object
 * Lock as the store it wraps does (a directory store does): hiding it would make the code under test skip locking.
 */
export class CrashingStore implements ObjectStore, ObjectLock {
  private writes = 0;
  constructor(
    private readonly inner: ObjectStore,
    private readonly crashAt: number,
  ) {}
  get url() {
    return this.inner.url;
  }
  private tick() {
    if (++this.writes === this.crashAt) throw new Crash(`crash at write ${this.crashAt}`);
  }
  async put(key: string, body: Readable | Uint8Array, opts?: PutOptions): Promise<PutResult> {
    this.tick();
    return this.inner.put(key, body, opts);
  }
  get(key: string, range?: ByteRange): Promise<Readable> {
    return this.inner.get(key, range);
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  async delete(keys: string[]): Promise<void> {
    this.tick();
    return this.inner.delete(keys);
  }
  async setLegalHold(key: string, on: boolean): Promise<void> {
    this.tick();
    return this.lock().setLegalHold(key, on);
  }
  async setRetention(key: string, mode: RetentionMode, until: Date): Promise<void> {
    this.tick();
    return this.lock().setRetention(key, mode, until);
  }
  private lock(): ObjectLock {
    const lock = objectLockOf(this.inner);
    if (!lock) throw new Error(`${this.inner.url} has no Object Lock`);
    return lock;
  }
  get crashed(): boolean {
    return this.writes >= this.crashAt;
  }
}

/** Every chunk id held by any pack (from the packs themselves, not their indexes) and by any index. */
export async function storedChunks(repo: Repository): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const o of repo.store.list(PACKS_PREFIX)) {
    for (const c of decodePack(await readObject(repo.store, o.key), o.key).chunks) out.add(c.id);
  }
  for await (const o of repo.store.list(INDEX_PREFIX)) {
    for (const c of decodeIndex(await readObject(repo.store, o.key), o.key).table.chunks) out.add(c.id);
  }
  return out;
}

/** Chunk ids of a manifest. */
export async function chunksOf(repo: Repository, manifestId: string): Promise<Set<string>> {
  const m = await readManifest(repo, manifestId);
  return new Set(m.entries.flatMap((e) => e.chunks.map(([, id]) => id)));
}

/** uid → manifest ids now in the store. */
export async function manifestsByUid(repo: Repository): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const info of listManifests(repo)) {
    const m = await readManifest(repo, info.id);
    out.set(m.workflow.uid, [...(out.get(m.workflow.uid) ?? []), info.id]);
  }
  return out;
}

export async function reopen(root: string): Promise<Repository> {
  return openRepository(new FileSystemStore(root));
}
