// The one data path behind every API (REST, GraphQL, the dashboard): what a verified caller may list, open, read and
// search, with namespace checks and an audit record before any archived byte leaves.
import { Readable } from 'node:stream';
import type { AuditLog } from '../../lib/audit/audit.ts';
import {
  DAY_MS,
  dayName,
  type Catalog,
  type CatalogEntry,
  type CatalogWorkflow,
  type TextHit,
  type TimeRange,
} from '../../lib/catalog/catalog.ts';
import { readManifest } from '../../lib/archive/manifest-lookup.ts';
import type { Manifest, ManifestEntry } from '../../lib/archive/manifest.ts';
import { entryRange } from '../../lib/archive/entry-range.ts';
import { archivedWorkflowObject, streamEntry } from '../../lib/archive/restorer.ts';
import type { Repository } from '../../lib/archive/repository.ts';
import { ConfigError, describeError, StrataError } from '../../lib/errors.ts';
import type { HoldsAndExtensions } from '../../lib/policy/holds.ts';
import { compileFilter } from '../api/cel-filter.ts';
import { decodeCursor, encodeCursor, queryFingerprint } from '../api/cursor.ts';
import { BadRequest, HttpError } from '../api/errors.ts';
import { parseLabelSelector } from '../api/label-selector.ts';
import type { WorkflowFilters } from '../api/list-params.ts';
import { nodeTree, type NodeView } from '../../lib/bundle/node-tree.ts';
import { visibleNamespaces, type Authorizer, type Caller } from '../auth/access.ts';
import { parseTextQuery } from '../../lib/catalog/text-query.ts';
import { filteredPage } from './filtered-page.ts';
import { SearchQueue } from './search-queue.ts';
import { grepLines, type ByteSpan } from './log-stream.ts';

/** A Workflow object larger than this is not inlined in the detail (its entry can be restored instead). */
export const MAX_OBJECT_BYTES = 32 * 1024 * 1024;

/** The daily stats route's default and largest span, in days. */
const DAILY_DEFAULT_DAYS = 30;
const DAILY_MAX_DAYS = 366;

export interface ArchiveServiceDeps {
  catalog: Catalog;
  repository(): Promise<Repository>;
  holds(workflowUid: string): Promise<HoldsAndExtensions>;
  authorizer: Authorizer;
  audit: AuditLog;
  /** Admission for full-text searches (default limits when absent). */
  searchQueue?: SearchQueue;
}

export interface WorkflowListPage {
  items: CatalogWorkflow[];
  nextCursor?: string;
}

type Released = Omit<HoldsAndExtensions['holds'][number], 'workflowUid'>;
type Extension = Omit<HoldsAndExtensions['extensions'][number], 'workflowUid'>;

export interface WorkflowDetail {
  workflow: CatalogWorkflow;
  object?: Record<string, unknown>;
  nodes: NodeView[];
  entries: CatalogEntry[];
  holds: Released[];
  extensions: Extension[];
}

/** One log or artifact the caller may read; bytes flow only from `read`, after the audit record is written. */
export interface EntryHandle {
  workflow: CatalogWorkflow;
  entry: ManifestEntry;
  read(opts?: { span?: ByteSpan; grep?: string }): Promise<EntryReader>;
}

export interface EntryReader {
  body: AsyncIterable<Uint8Array | string>;
  /** Stops reading the archive (the client went away, or enough was read). */
  close(): void;
}

export type EntrySelect = { kind: 'log'; nodeId: string; container: string } | { kind: 'artifact'; path: string };

function checkRange(r: TimeRange | undefined, name: string): void {
  if (r?.from && r.to && r.from >= r.to)
    throw new BadRequest(`${name}After must be before ${name}Before`, `${name}After`);
}

export type { WorkflowFilters };

export class ArchiveService {
  readonly searchQueue: SearchQueue;

  constructor(private readonly deps: ArchiveServiceDeps) {
    this.searchQueue = deps.searchQueue ?? new SearchQueue();
  }

  /** The namespaces a list or search may read: those asked for (each must be allowed), else every allowed one. */
  async readableNamespaces(caller: Caller, asked: readonly string[] | undefined): Promise<string[]> {
    if (asked !== undefined) {
      const allowed = await visibleNamespaces(this.deps.authorizer, caller, 'list', asked);
      const denied = asked.filter((ns) => !allowed.includes(ns));
      if (denied.length) throw new HttpError(403, `${caller.username} may not list archives in namespace ${denied[0]}`);
      return allowed;
    }
    return visibleNamespaces(this.deps.authorizer, caller, 'list', await this.deps.catalog.namespaces());
  }

  /**
   * Workflows per UTC day and phase in `namespaces` (already authorized), over the days `from`..`to` (inclusive,
   * YYYY-MM-DD; default the 30 days up to today): one counter row per day and phase, whatever the catalog's size.
   */
  async dailyCounts(namespaces: readonly string[], from: string | undefined, to: string | undefined, now: Date) {
    const last = to !== undefined ? Date.parse(`${to}T00:00:00Z`) : Math.floor(now.getTime() / DAY_MS) * DAY_MS;
    const first = from !== undefined ? Date.parse(`${from}T00:00:00Z`) : last - (DAILY_DEFAULT_DAYS - 1) * DAY_MS;
    if (first > last) throw new BadRequest(`query parameter from: ${from} is after to`, 'from');
    if ((last - first) / DAY_MS + 1 > DAILY_MAX_DAYS)
      throw new BadRequest(`query parameters from/to: at most ${DAILY_MAX_DAYS} days at once`, 'from');
    const days = await this.deps.catalog.countByDay({
      namespaces,
      from: new Date(first),
      to: new Date(last + DAY_MS),
    });
    return { namespaces: [...namespaces], from: dayName(first / DAY_MS), to: dayName(last / DAY_MS), days };
  }

  async listWorkflows(
    caller: Caller,
    filters: WorkflowFilters,
    page: { limit: number; cursor?: string },
  ): Promise<WorkflowListPage> {
    checkRange(filters.started, 'started');
    checkRange(filters.finished, 'finished');
    checkRange(filters.archived, 'archived');
    const normalized = {
      namespaces: filters.namespaces,
      namePrefix: filters.namePrefix,
      phases: filters.phases,
      labels: filters.labelSelector !== undefined ? parseLabelSelector(filters.labelSelector) : undefined,
      incomplete: filters.incomplete,
      started: filters.started,
      finished: filters.finished,
      archived: filters.archived,
      sort: filters.sort ?? 'newest',
    };
    // A cursor belongs to its filter too (JSON drops an undefined one: cursors of unfiltered lists are unchanged).
    const fingerprint = queryFingerprint({ ...normalized, filter: filters.filter });
    const after = page.cursor !== undefined ? decodeCursor(page.cursor, fingerprint) : undefined;
    const keep = filters.filter !== undefined ? compileFilter(filters.filter, new Date()) : undefined;
    const namespaces = await this.readableNamespaces(caller, filters.namespaces);
    const result = keep
      ? await filteredPage(this.deps.catalog, { ...normalized, namespaces }, after, page.limit, keep)
      : await this.deps.catalog.page({ ...normalized, namespaces, ...(after && { after }), limit: page.limit });
    return { items: result.items, ...(result.last && { nextCursor: encodeCursor(fingerprint, result.last) }) };
  }

  /** The catalog row of a manifest the caller may `get`; the same 404 whether absent or in a namespace they cannot see. */
  async readableWorkflow(caller: Caller, manifestId: string): Promise<CatalogWorkflow> {
    const row = (await this.deps.catalog.get(manifestId)).find((w) => w.manifestId === manifestId);
    const notFound = new HttpError(404, `no archived workflow with manifest id ${manifestId}`);
    if (!row) throw notFound;
    if (await this.deps.authorizer.allows(caller, 'get', row.namespace)) return row;
    // Someone who may list the namespace already knows the workflow exists: tell them why they cannot open it.
    if (await this.deps.authorizer.allows(caller, 'list', row.namespace))
      throw new HttpError(403, `${caller.username} may not read archives in namespace ${row.namespace}`);
    throw notFound;
  }

  /** The catalog row of a manifest in a namespace the caller may `list` (a search hit's workflow), else 404. */
  async listedWorkflow(caller: Caller, manifestId: string): Promise<CatalogWorkflow> {
    const row = (await this.deps.catalog.get(manifestId)).find((w) => w.manifestId === manifestId);
    if (!row || !(await this.deps.authorizer.allows(caller, 'list', row.namespace)))
      throw new HttpError(404, `no archived workflow with manifest id ${manifestId}`);
    return row;
  }

  /** Writes the read's audit record; a read whose record cannot be written does not happen (503). */
  async audited(caller: Caller, subject: string, details: Record<string, unknown>): Promise<void> {
    try {
      await this.deps.audit.record({
        action: 'read',
        actor: caller.username,
        verified: true,
        subject,
        outcome: 'ok',
        details: { ...details, authenticatedBy: caller.via, groups: caller.groups },
      });
    } catch (err) {
      throw new HttpError(503, `cannot record the audit entry of this read: ${describeError(err)}`);
    }
  }

  async workflow(caller: Caller, manifestId: string): Promise<WorkflowDetail> {
    const row = await this.readableWorkflow(caller, manifestId);
    const repo = await this.deps.repository();
    const manifest = await readManifest(repo, manifestId);
    await this.audited(caller, manifestId, { what: 'workflow', namespace: row.namespace, name: row.name });
    const object = await archivedWorkflowObject(repo, manifest, MAX_OBJECT_BYTES);
    const entries = await this.deps.catalog.entries(manifestId);
    const { holds, extensions } = await this.deps.holds(row.uid);
    return {
      workflow: row,
      ...(object && { object }),
      nodes: nodeTree(object, entries),
      entries,
      holds: holds.map(({ workflowUid: _u, ...h }) => (void _u, h)),
      extensions: extensions.map(({ workflowUid: _u, ...e }) => (void _u, e)),
    };
  }

  /** A workflow's artifacts (catalog metadata: listing them is not a read of archived content). */
  async artifacts(caller: Caller, manifestId: string): Promise<CatalogEntry[]> {
    await this.readableWorkflow(caller, manifestId);
    return (await this.deps.catalog.entries(manifestId)).filter((e) => e.kind === 'artifact');
  }

  /** A log or artifact the caller may read, found in the manifest (404 naming what is missing). */
  async entry(caller: Caller, manifestId: string, select: EntrySelect): Promise<EntryHandle> {
    const row = await this.readableWorkflow(caller, manifestId);
    const repo = await this.deps.repository();
    const manifest: Manifest = await readManifest(repo, manifestId);
    const entry =
      select.kind === 'log'
        ? manifest.entries.find(
            (e) => e.kind === 'log' && e.nodeId === select.nodeId && (e.container ?? 'main') === select.container,
          )
        : manifest.entries.find((e) => e.kind === 'artifact' && e.path === select.path);
    if (!entry) {
      const what =
        select.kind === 'log' ? `${select.container} log of node ${select.nodeId}` : `artifact at ${select.path}`;
      throw new HttpError(404, `workflow ${row.namespace}/${row.name} has no ${what}`);
    }
    return {
      workflow: row,
      entry,
      read: async (opts = {}) => {
        await this.audited(caller, manifestId, {
          what: select.kind,
          namespace: row.namespace,
          name: row.name,
          path: entry.path,
          ...(opts.grep !== undefined && { grep: opts.grep }),
          ...(opts.span && { range: `${opts.span.start}-${opts.span.end}` }),
        });
        // A range starts at the chunk holding its first byte (entry-range.ts); grep and whole reads stream it all.
        const source = opts.span
          ? Readable.from(entryRange(repo, manifest, entry, opts.span), { objectMode: false })
          : streamEntry(repo, manifest, entry);
        const body = opts.grep !== undefined ? grepLines(source, opts.grep) : source;
        return { body, close: () => source.destroy() };
      },
    };
  }

  /** Full-text hits in namespaces the caller may list; `signal` aborts when the client goes away (the search stops). */
  async search(
    caller: Caller,
    q: string,
    opts: { namespaces?: string[]; limit: number; signal?: AbortSignal },
  ): Promise<TextHit[]> {
    // Namespaces asked for are checked before admission (no catalog read); "every one I may list" asks the catalog,
    // which only an admitted search does: a refusal under load costs next to nothing.
    const asked = opts.namespaces && (await this.readableNamespaces(caller, opts.namespaces));
    let namespaces: string[] = [];
    let hits: TextHit[];
    try {
      this.searchQueue.checkCost(parseTextQuery(q), q);
      hits = await this.searchQueue.run(
        `${caller.via}:${caller.username}`,
        async (signal) => {
          namespaces = asked ?? (await this.readableNamespaces(caller, undefined));
          return this.deps.catalog.searchText(q, { namespaces, limit: opts.limit }, { signal });
        },
        { ...(opts.signal && { signal: opts.signal }) },
      );
    } catch (err) {
      if (err instanceof ConfigError) throw new BadRequest(`q: ${err.message}`, 'q');
      // The backend could not answer (its search thread stopped, the archive text could not be read back): say so.
      if (err instanceof StrataError) throw new HttpError(503, `full-text search failed: ${err.message}`);
      throw err;
    }
    await this.audited(caller, 'search', {
      what: 'search',
      q,
      namespaces,
      manifests: [...new Set(hits.map((h) => h.manifestId))],
    });
    return hits;
  }
}
