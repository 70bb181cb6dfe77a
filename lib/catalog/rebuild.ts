// Brings the catalog in line with the store's manifests: index new ones, drop vanished ones, one transaction each.
import { parseWorkflowDocument } from '../bundle/workflow-text.ts';
import type { Readable } from 'node:stream';
import { describeError, IntegrityError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import type { Catalog, CatalogEntry, CatalogWorkflow, LogSegment } from './catalog.ts';
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
}

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
  for (const id of todo) {
    try {
      const manifest = await source.readManifest(id);
      const summary = manifest.summary ?? summarizeWorkflow(await readWorkflowObject(source, manifest));
      const tally = { logSegments: 0, logBytes: 0 };
      await catalog.upsertManifest(
        catalogWorkflow(manifest, summary),
        manifest.entries,
        countSegments(logSegments(source, manifest), tally),
      );
      // Counted only once committed: a rolled-back manifest added nothing to the catalog.
      report.indexed++;
      report.logSegments += tally.logSegments;
      report.logBytes += tally.logBytes;
    } catch (err) {
      report.problems.push({ manifestId: id, message: describeError(err) });
    }
    opts.progress?.advance();
  }
  opts.progress?.done();
  return report;
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
