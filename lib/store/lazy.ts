// An object store whose adapter loads on first use: the S3 SDK is about half of the CLI's code, parsed at every
// start-up though most commands on a file: store never touch it.
import type { Readable } from 'node:stream';
import type {
  ByteRange,
  ObjectInfo,
  ObjectLock,
  ObjectStore,
  ObjectVersion,
  ObjectVersions,
  PutOptions,
  PutResult,
  RestoreState,
  RestoreTier,
  RetentionMode,
  StorageClass,
  StorageClasses,
  UnfinishedWrite,
  UnfinishedWrites,
} from './store.ts';

export class LazyStore<S extends ObjectStore = ObjectStore> implements ObjectStore {
  private loaded: Promise<S> | undefined;

  constructor(
    readonly url: string,
    private readonly load: () => Promise<S>,
  ) {}

  protected store(): Promise<S> {
    return (this.loaded ??= this.load());
  }

  async put(key: string, body: Readable | Uint8Array, opts?: PutOptions): Promise<PutResult> {
    return (await this.store()).put(key, body, opts);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    return (await this.store()).get(key, range);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.store()).head(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    yield* (await this.store()).list(prefix);
  }

  async delete(keys: string[]): Promise<void> {
    return (await this.store()).delete(keys);
  }
}

type S3Like = ObjectStore & StorageClasses & ObjectLock & ObjectVersions & UnfinishedWrites;

/** A lazily loaded S3 store: it has S3's capabilities before it is loaded, so callers can find them synchronously. */
export class LazyS3Store
  extends LazyStore<S3Like>
  implements StorageClasses, ObjectLock, ObjectVersions, UnfinishedWrites
{
  async setStorageClass(key: string, storageClass: StorageClass): Promise<void> {
    return (await this.store()).setStorageClass(key, storageClass);
  }

  async restore(key: string, days: number, tier?: RestoreTier): Promise<RestoreState> {
    return (await this.store()).restore(key, days, tier);
  }

  async setLegalHold(key: string, on: boolean): Promise<void> {
    return (await this.store()).setLegalHold(key, on);
  }

  async setRetention(key: string, mode: RetentionMode, until: Date): Promise<void> {
    return (await this.store()).setRetention(key, mode, until);
  }

  async *listVersions(prefix: string): AsyncIterable<ObjectVersion> {
    yield* (await this.store()).listVersions(prefix);
  }

  async *listUnfinished(prefix: string): AsyncIterable<UnfinishedWrite> {
    yield* (await this.store()).listUnfinished(prefix);
  }

  async removeUnfinished(writes: UnfinishedWrite[]): Promise<UnfinishedWrite[]> {
    return (await this.store()).removeUnfinished(writes);
  }
}
