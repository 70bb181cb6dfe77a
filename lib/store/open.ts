// Picks an object store adapter from a URL: file:… (embedded default) or s3://bucket/prefix.
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import { FileSystemStore } from './fs.ts';
import { LazyS3Store } from './lazy.ts';
import type { ObjectStore } from './store.ts';

export type StoreLocation = { kind: 'file'; root: string } | { kind: 's3'; bucket: string; prefix: string };

export function parseStoreUrl(url: string, cwd = process.cwd()): StoreLocation {
  if (url.startsWith('file://')) {
    let root: string;
    try {
      root = fileURLToPath(url);
    } catch {
      throw new ConfigError(
        `store URL "${url}" is not a valid file URL (use file:///absolute/path or file:relative/path)`,
      );
    }
    return { kind: 'file', root };
  }
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length);
    if (!path) throw new ConfigError(`store URL "${url}" has no path`);
    return { kind: 'file', root: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new ConfigError(`store URL "${url}" has no valid bucket name (expected s3://bucket/prefix)`);
    }
    return { kind: 's3', bucket, prefix: prefix ? `${prefix}/` : '' };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw new ConfigError(
    scheme
      ? `store URL scheme "${scheme}:" is not supported (use file: or s3://)`
      : `store "${url}" is not a URL (use file:/path or s3://bucket/prefix)`,
  );
}

/** The store at `url`; the S3 adapter (and SDK) is loaded on the store's first request. */
export function openStore(url: string, s3: S3Config): ObjectStore {
  const loc = parseStoreUrl(url);
  if (loc.kind === 'file') return new FileSystemStore(loc.root);
  return new LazyS3Store(`s3://${loc.bucket}/${loc.prefix}`, async () => {
    const { S3Store } = await import('./s3.ts');
    return new S3Store({ ...s3, bucket: loc.bucket, prefix: loc.prefix });
  });
}
