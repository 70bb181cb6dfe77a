// Opens a configured catalog backend from its location (`catalog`, `catalogAlso`): a SQLite file (the embedded
// default), PostgreSQL by URL: postgres(ql)://user:pw@host:port/db[?schema=name], or a search engine by URL:
// elasticsearch+http(s)://host:port[/index-prefix][?replicas=N&shards=N].
import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type { ObjectStore } from '../store/store.ts';
import { archiveManifestSource } from './archive-source.ts';
import type { Catalog } from './catalog.ts';
import { indexCatalog, type ManifestSource } from './rebuild.ts';
import { withSearchThreads } from './search-threads.ts';
import { archiveSegmentReader } from './segment-reader.ts';
import { openSqliteCatalog, type OpenCatalogOptions, type OpenCatalogResult } from './sqlite.ts';

export type CatalogLocation =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; schema?: string }
  | { kind: 'elasticsearch'; node: string; prefix: string; replicas?: number; shards?: number };

const ES_SCHEME = /^elasticsearch\+(https?):\/\//;
const PG_SCHEME = /^postgres(ql)?:\/\//;

export function catalogLocation(spec: string, key = 'catalog'): CatalogLocation {
  if (PG_SCHEME.test(spec)) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new ConfigError(`${key} ${JSON.stringify(redactLocation(spec))} is not a valid URL`, { key });
    }
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    return { kind: 'postgres', url: url.toString(), ...(schema !== undefined && { schema }) };
  }
  const es = ES_SCHEME.exec(spec);
  if (!es) return { kind: 'sqlite', path: spec };
  let url: URL;
  try {
    url = new URL(spec.replace(ES_SCHEME, `${es[1]}://`));
  } catch {
    throw new ConfigError(`${key} ${JSON.stringify(redactLocation(spec))} is not a valid URL`, { key });
  }
  const count = (name: string): number | undefined => {
    const v = url.searchParams.get(name);
    if (v === null) return undefined;
    if (!/^\d+$/.test(v)) throw new ConfigError(`${key} URL: ${name} must be a whole number, got ${v}`, { key });
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

export interface CatalogOpenOptions extends OpenCatalogOptions {
  key?: string;
  /**
   * The archive, to rebuild a SQLite catalog from when opening it dropped rows of another layout or an older schema
   * (the catalog is derived data): a command that only reads or removes rows then finds the catalog whole, not empty.
   */
  rebuildFrom?: () => Promise<ManifestSource>;
  /** Told before such a rebuild starts (it reads every manifest and log of the archive). */
  log?: (message: string) => void;
  /**
   * A SQLite file's full-text searches run on this many threads of their own, each with a read-only connection
   * (search-threads.ts), instead of on the caller's thread: what a server wants. Other backends wait on the network.
   */
  searchThreads?: number;
}

/**
 * How a SQLite catalog is opened under the `catalogText` setting: `archive` (compact, the default) reads segment text
 * back from the store; `rebuildFrom` is that store, for a catalog found in the other layout (see CatalogOpenOptions).
 * `strata index` takes only `textFrom`: it indexes a dropped catalog itself.
 */
export function catalogTextOptions(
  config: { catalogText?: 'stored' | 'archive' },
  store: () => ObjectStore,
  log?: (message: string) => void,
): Pick<CatalogOpenOptions, 'textFrom' | 'rebuildFrom' | 'log'> {
  // Opened on first use and kept: most queries never read text back, and a store that is down fails only them.
  let source: Promise<ManifestSource> | undefined;
  const rebuildFrom = () =>
    (source ??= archiveManifestSource(store()).catch((err: unknown) => {
      source = undefined;
      throw err;
    }));
  const common = { rebuildFrom, ...(log && { log }) };
  if (config.catalogText === 'stored') return common;
  return {
    textFrom: archiveSegmentReader({ openEntry: async (id, path) => (await rebuildFrom()).openEntry(id, path) }),
    ...common,
  };
}

/**
 * Opens the catalog `spec` names; `reset` empties it first (`strata index --rebuild`). A catalog whose rows were
 * dropped (an older schema, another text layout, a reset) carries a rebuild mark until a full pass over the store
 * completes: given `rebuildFrom`, that pass runs here, before the caller reads anything, whichever backend it is and
 * whether the rows were dropped just now or by a process that was killed while rebuilding. Several processes may run
 * it at once (each indexes what it finds missing; writes are idempotent). Without `rebuildFrom` (`strata index`) the
 * caller runs the pass and calls `rebuild.done()`.
 */
export async function openCatalog(spec: string, opts: CatalogOpenOptions = {}): Promise<OpenCatalogResult> {
  const at = catalogLocation(spec, opts.key);
  const opened = await openBackend(at, opts);
  // SQLite's full-text searches run on worker threads with their own connections, once the file is whole.
  const threaded = (o: OpenCatalogResult): OpenCatalogResult =>
    at.kind !== 'sqlite' || opts.searchThreads === undefined || at.path === ':memory:'
      ? o
      : {
          ...o,
          catalog: withSearchThreads(o.catalog, {
            path: at.path,
            threads: opts.searchThreads,
            ...(opts.textFrom && { textFrom: opts.textFrom }),
          }),
        };
  if (!opened.rebuild || !opts.rebuildFrom) return threaded(opened);
  const shown = redactLocation(spec);
  opts.log?.(
    `catalog ${shown} held another text layout or an older schema, or its rebuild did not finish: ` +
      'rebuilding it from the archive (strata index)',
  );
  try {
    const report = await indexCatalog(opened.catalog, await opts.rebuildFrom());
    for (const p of report.problems) opts.log?.(`strata: ${shown}: manifest ${p.manifestId}: ${p.message}`);
    await opened.rebuild.done();
  } catch (err) {
    await opened.catalog.close();
    throw err;
  }
  return threaded({ catalog: opened.catalog, fresh: false });
}

async function openBackend(at: CatalogLocation, opts: CatalogOpenOptions): Promise<OpenCatalogResult> {
  if (at.kind === 'sqlite') return openSqliteCatalog(at.path, opts);
  // The server backends load their clients (pg; @elastic/elasticsearch with undici and arrow) only when configured:
  // every step pod starts the CLI, and most never open either.
  if (at.kind === 'postgres') {
    const { openPostgresCatalog } = await import('./postgres.ts');
    return openPostgresCatalog(at.url, {
      reset: Boolean(opts.reset),
      ...(at.schema !== undefined && { schema: at.schema }),
    });
  }
  const { openElasticsearchCatalog } = await import('./elasticsearch.ts');
  const catalog = await openElasticsearchCatalog({
    node: at.node,
    prefix: at.prefix,
    ...(at.replicas !== undefined && { replicas: at.replicas }),
    ...(at.shards !== undefined && { shards: at.shards }),
  });
  try {
    const state = await catalog.ensureSchema(Boolean(opts.reset));
    const fresh = state.fresh || (await catalog.isEmpty());
    return { catalog, fresh, ...(state.rebuilding && { rebuild: { done: () => catalog.markRebuilt() } }) };
  } catch (err) {
    await catalog.close();
    throw err;
  }
}

/** The catalog to keep in step when archives are deleted: a server always, a SQLite file only if it exists. */
export async function existingCatalog(
  spec: string,
  key = 'catalog',
  opts: Pick<CatalogOpenOptions, 'textFrom' | 'rebuildFrom' | 'log'> = {},
): Promise<Catalog | undefined> {
  const at = catalogLocation(spec, key);
  if (at.kind === 'sqlite' && !existsSync(at.path)) return undefined;
  return (await openCatalog(spec, { key, ...opts })).catalog;
}

/** Every configured catalog location: the one queries read, then the ones `strata index` also writes. */
export function catalogLocations(config: { catalog: string; catalogAlso?: readonly string[] }): string[] {
  return [config.catalog, ...(config.catalogAlso ?? [])];
}

/**
 * Every configured catalog that exists, as one for removals (expiry, erasure): a manifest's rows go from each, and it
 * counts as still present while any catalog has it. Undefined when there is no catalog at all.
 */
export async function existingCatalogs(
  config: {
    catalog: string;
    catalogAlso?: readonly string[];
  },
  opts: Pick<CatalogOpenOptions, 'textFrom' | 'rebuildFrom' | 'log'> = {},
): Promise<(Pick<Catalog, 'remove' | 'manifestIds' | 'close'> & { each: Catalog[] }) | undefined> {
  const each: Catalog[] = [];
  try {
    for (const [n, location] of catalogLocations(config).entries()) {
      const c = await existingCatalog(location, n === 0 ? 'catalog' : 'catalogAlso', opts);
      if (c) each.push(c);
    }
  } catch (err) {
    for (const c of each) await c.close().catch(() => {});
    throw err;
  }
  if (!each.length) return undefined;
  return {
    each,
    async remove(id) {
      for (const c of each) await c.remove(id);
    },
    async manifestIds() {
      const ids = new Set<string>();
      for (const c of each) for (const id of await c.manifestIds()) ids.add(id);
      return ids;
    },
    async close() {
      for (const c of each) await c.close();
    },
  };
}

/** The location as it may be printed: a URL's password replaced. */
export function redactLocation(location: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  try {
    const url = new URL(location);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return location.replace(/\/\/[^@/]*@/, '//***@');
  }
}
