// Brings the catalog in line with the store's manifests: index new ones, drop vanished ones, many per commit.
import { parseWorkflowDocument } from '../bundle/workflow-text.ts';
import type { Readable } from 'node:stream';
import { ConfigError, describeError, IntegrityError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import type { Catalog, CatalogEntry, CatalogWorkflow, LogSegment, ManifestUpsert, UpsertOutcome } from './catalog.ts';
import { artifactText } from './artifact-text.ts';
import { segmentLines } from './log-segments.ts';
import { readWhole } from '../store/read-whole.ts';

/** What the catalog needs to know of one manifest (a projection of the archive engine's manifest). */
export interface IndexableManifest {
  id: string;
  uid: string;
  namespace: string;
  name: string;
  createdAt?: string;
  group?: string;
  incomplete: boolean;
  entries: CatalogEntry[];
  /** Phase, times and labels when the manifest carries them; otherwise they are read from the `workflow` entry. */
  summary?: WorkflowSummary;
}

export interface WorkflowSummary {
  phase?: string;
  startedAt?: string;
  finishedAt?: string;
  labels?: Record<string, string>;
}

/** The archive as the catalog reads it; lib/catalog/archive-source.ts adapts the archive engine to this. */
export interface ManifestSource {
  listManifestIds(): AsyncIterable<string>;
  readManifest(id: string): Promise<IndexableManifest>;
  /** Streams one entry's original bytes (verified by the engine). */
  openEntry(manifestId: string, path: string): Promise<Readable>;
}

export interface IndexOptions {
  /** Re-index every manifest, not only the ones the catalog lacks. */
  full?: boolean;
  /** Index only these manifest ids (e.g. the one an archive step just wrote); nothing is listed or removed. */
  only?: string[];
  progress?: Progress;
  /**
   * Manifests committed together (one transaction, or one bulk commit): at most this many (default 100), and a batch
   * closes once its manifests hold BATCH_TEXT_BYTES of logs and artifacts. 1 commits each manifest on its own.
   */
  batch?: number;
}

/**
 * A batch closes once its manifests' log and artifact entries add up to this many bytes. A SQLite batch holds the
 * write lock while its logs stream in from the archive, and another writer (a tier run removing rows) waits at most
 * its busy timeout (30 s): 16 MiB keeps that wait to seconds even from a slow store, and still amortizes the commit.
 */
export const BATCH_TEXT_BYTES = 16 * 1024 * 1024;
const DEFAULT_BATCH = 100;

export interface IndexReport {
  listed: number;
  indexed: number;
  removed: number;
  unchanged: number;
  logSegments: number;
  logBytes: number;
  problems: { manifestId: string; message: string }[];
}

// A Workflow object is metadata, not data; anything larger than this is not one we should parse in memory.
const MAX_WORKFLOW_OBJECT_BYTES = 64 * 1024 * 1024;

export async function indexCatalog(
  catalog: Catalog,
  source: ManifestSource,
  opts: IndexOptions = {},
): Promise<IndexReport> {
  const report: IndexReport = {
    listed: 0,
    indexed: 0,
    removed: 0,
    unchanged: 0,
    logSegments: 0,
    logBytes: 0,
    problems: [],
  };
  const known = await catalog.manifestIds();
  const listed = new Set<string>(opts.only ?? []);
  if (!opts.only) {
    for await (const id of source.listManifestIds()) listed.add(id);
    for (const id of known) {
      if (listed.has(id)) continue;
      await catalog.remove(id);
      report.removed++;
    }
  }
  report.listed = listed.size;
  const todo = [...listed].filter((id) => opts.full || !known.has(id)).sort();
  report.unchanged = listed.size - todo.length;
  opts.progress?.start(todo.length, 'index');
  const batchSize = opts.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ConfigError(`batch must be a positive integer, got ${batchSize}`);
  for (let next = 0; next < todo.length;) {
    // Per manifest of the batch, in order: read and handed to the catalog (with its tally), or why it was not.
    const taken: { id: string; tally?: { logSegments: number; logBytes: number }; problem?: string }[] = [];
    const items = async function* (): AsyncGenerator<ManifestUpsert> {
      let bytes = 0;
      while (next < todo.length && taken.length < batchSize && bytes < BATCH_TEXT_BYTES) {
        const id = todo[next++]!;
        let item: ManifestUpsert;
        const tally = { logSegments: 0, logBytes: 0 };
        try {
          const manifest = await source.readManifest(id);
          const summary = manifest.summary ?? summarizeWorkflow(await readWorkflowObject(source, manifest));
          bytes += textBytes(manifest);
          item = {
            workflow: catalogWorkflow(manifest, summary),
            entries: manifest.entries,
            segments: countSegments(logSegments(source, manifest), tally),
          };
        } catch (err) {
          taken.push({ id, problem: describeError(err) });
          continue;
        }
        taken.push({ id, tally });
        yield item;
      }
    };
    let outcomes: UpsertOutcome[];
    try {
      outcomes = await catalog.upsertManifests(items());
    } catch (err) {
      // The batch as a whole failed (the backend refused its commit): none of it was indexed.
      outcomes = taken.filter((t) => t.tally).map((t) => ({ manifestId: t.id, error: err }));
    }
    const outcomeOf = new Map(outcomes.map((o) => [o.manifestId, o]));
    for (const t of taken) {
      const outcome = outcomeOf.get(t.id);
      const problem = t.problem ?? (outcome?.error !== undefined ? describeError(outcome.error) : undefined);
      if (problem !== undefined) report.problems.push({ manifestId: t.id, message: problem });
      else if (t.tally) {
        // Counted only once committed: a rolled-back manifest added nothing to the catalog.
        report.indexed++;
        report.logSegments += t.tally.logSegments;
        report.logBytes += t.tally.logBytes;
      }
      opts.progress?.advance();
    }
  }
  opts.progress?.done();
  return report;
}

/** The bytes of a manifest's entries the full-text index reads (logs and artifacts). */
function textBytes(m: IndexableManifest): number {
  return m.entries.reduce((n, e) => n + (e.kind === 'log' || e.kind === 'artifact' ? (e.size ?? 0) : 0), 0);
}

/** The catalog row for a manifest: identity from the manifest, phase/times/labels from its summary. */
export function catalogWorkflow(m: IndexableManifest, summary: WorkflowSummary): CatalogWorkflow {
  return {
    manifestId: m.id,
    uid: m.uid,
    namespace: m.namespace,
    name: m.name,
    ...(summary.phase && { phase: summary.phase }),
    ...(summary.startedAt && { startedAt: summary.startedAt }),
    ...(summary.finishedAt && { finishedAt: summary.finishedAt }),
    ...(m.createdAt !== undefined && { archivedAt: m.createdAt }),
    labels: { ...summary.labels },
    ...(m.group !== undefined && { group: m.group }),
    incomplete: m.incomplete,
    entries: m.entries.length,
    bytes: m.entries.reduce((n, e) => n + (e.size ?? 0), 0),
  };
}

/** Phase, times and labels from an Argo Workflow object (anything unexpected is left out, not guessed). */
export function summarizeWorkflow(workflow: Record<string, unknown> | undefined): WorkflowSummary {
  const metadata = record(workflow?.metadata);
  const status = record(workflow?.status);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(metadata.labels))) if (typeof v === 'string') labels[k] = v;
  return {
    ...optionalString('phase', status.phase),
    ...optionalString('startedAt', status.startedAt),
    ...optionalString('finishedAt', status.finishedAt),
    labels,
  };
}

/** The text the full-text index holds: every log, and the text in artifacts (files inside archives named by path). */
export async function* logSegments(source: ManifestSource, m: IndexableManifest): AsyncGenerator<LogSegment> {
  for (const e of m.entries) {
    if (e.kind !== 'log' && e.kind !== 'artifact') continue;
    const stream = await source.openEntry(m.id, e.path);
    const texts = e.kind === 'log' ? segmentLines(stream) : artifactText(e.path, stream);
    for await (const s of texts) {
      yield {
        path: e.path,
        ...(e.nodeId !== undefined && { nodeId: e.nodeId }),
        ...(e.container !== undefined && { container: e.container }),
        ...s,
      };
    }
  }
}

async function* countSegments(
  segments: AsyncIterable<LogSegment>,
  tally: { logSegments: number; logBytes: number },
): AsyncGenerator<LogSegment> {
  for await (const s of segments) {
    tally.logSegments++;
    tally.logBytes += Buffer.byteLength(s.text);
    yield s;
  }
}

async function readWorkflowObject(
  source: ManifestSource,
  m: IndexableManifest,
): Promise<Record<string, unknown> | undefined> {
  const entry = m.entries.find((e) => e.kind === 'workflow');
  if (!entry) return undefined;
  const bytes = await readWhole(await source.openEntry(m.id, entry.path), {
    maxBytes: MAX_WORKFLOW_OBJECT_BYTES,
    tooLarge: () =>
      new IntegrityError(`workflow object is larger than ${MAX_WORKFLOW_OBJECT_BYTES} bytes`, {
        key: entry.path,
        workflow: m.name,
      }),
  });
  let value: unknown;
  try {
    value = parseWorkflowDocument(bytes.toString('utf8'), entry.path);
  } catch (err) {
    throw new IntegrityError(`workflow object does not parse: ${describeError(err)}`, {
      key: entry.path,
      workflow: m.name,
    });
  }
  return record(value);
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function optionalString<K extends string>(key: K, v: unknown): Partial<Record<K, string>> {
  return typeof v === 'string' && v !== '' ? ({ [key]: v } as Record<K, string>) : {};
}
