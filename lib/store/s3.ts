// The S3 object store adapter (placeholder until the full adapter lands; the file: store is the default).
import type { S3Config } from '../config/config.ts';
import { StoreError } from '../errors.ts';
import type { ObjectStore } from './store.ts';

export interface S3StoreOptions extends S3Config {
  bucket: string;
  prefix: string;
}

export class S3Store implements ObjectStore {
  readonly url: string;
  constructor(opts: S3StoreOptions) {
    this.url = `s3://${opts.bucket}/${opts.prefix}`;
  }
  private fail(): never {
    throw new StoreError(`${this.url}: the S3 adapter is not available yet`);
  }
  put = async () => this.fail();
  get = async () => this.fail();
  head = async () => this.fail();
  // eslint-disable-next-line require-yield
  list = async function* (this: S3Store) {
    this.fail();
  };
  delete = async () => this.fail();
  setStorageClass = async () => this.fail();
  restore = async () => this.fail();
  setLegalHold = async () => this.fail();
  setRetention = async () => this.fail();
  // eslint-disable-next-line require-yield
  listVersions = async function* (this: S3Store) {
    this.fail();
  };
}
