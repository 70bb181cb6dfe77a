// Opens the configured catalog backend from one setting (`catalog` / --catalog / STRATA_CATALOG): a SQLite file (the
// embedded default), or a search engine by URL: elasticsearch+http(s)://host:port[/index-prefix][?replicas=N&shards=N].
import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type { Catalog } from './catalog.ts';
import { openElasticsearchCatalog } from './elasticsearch.ts';
import { openSqliteCatalog, type OpenCatalogOptions, type OpenCatalogResult } from './sqlite.ts';

export type CatalogLocation =
  | { kind: 'sqlite'; path: string }
  | { kind: 'elasticsearch'; node: string; prefix: string; replicas?: number; shards?: number };

const ES_SCHEME = /^elasticsearch\+(https?):\/\//;

export function catalogLocation(spec: string): CatalogLocation {
  const es = ES_SCHEME.exec(spec);
  if (!es) return { kind: 'sqlite', path: spec };
  let url: URL;
  try {
    url = new URL(spec.replace(ES_SCHEME, `${es[1]}://`));
  } catch {
    throw new ConfigError(`catalog ${JSON.stringify(spec)} is not a valid URL`, { key: 'catalog' });
  }
  const count = (name: string): number | undefined => {
    const v = url.searchParams.get(name);
    if (v === null) return undefined;
    if (!/^\d+$/.test(v))
      throw new ConfigError(`catalog URL: ${name} must be a whole number, got ${v}`, { key: 'catalog' });
    return Number(v);
  };
  const prefix = url.pathname.replace(/^\/+|\/+$/g, '') || 'strata';
  const replicas = count('replicas');
  const shards = count('shards');
  return {
    kind: 'elasticsearch',
    node: `${url.protocol}//${url.username ? `${url.username}:${url.password}@` : ''}${url.host}`,
    prefix,
    ...(replicas !== undefined && { replicas }),
    ...(shards !== undefined && { shards }),
  };
}

/** Opens the catalog `spec` names; `reset` empties it first (`strata index --rebuild`). */
export async function openCatalog(spec: string, opts: OpenCatalogOptions = {}): Promise<OpenCatalogResult> {
  const at = catalogLocation(spec);
  if (at.kind === 'sqlite') return openSqliteCatalog(at.path, opts);
  const catalog = await openElasticsearchCatalog({
    node: at.node,
    prefix: at.prefix,
    ...(at.replicas !== undefined && { replicas: at.replicas }),
    ...(at.shards !== undefined && { shards: at.shards }),
  });
  const fresh = opts.reset ? (await catalog.reset(), true) : await catalog.isEmpty();
  return { catalog, fresh };
}

/** The catalog to keep in step when archives are deleted: a server always, a SQLite file only if it exists. */
export async function existingCatalog(spec: string): Promise<Catalog | undefined> {
  const at = catalogLocation(spec);
  if (at.kind === 'sqlite' && !existsSync(at.path)) return undefined;
  return (await openCatalog(spec)).catalog;
}
