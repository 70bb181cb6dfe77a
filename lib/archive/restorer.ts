// Gets archived workflows back: one entry as a verified stream, or everything into a directory.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse, stringify } from 'yaml';
import { silentProgress, type Progress } from '../cli/progress.ts';
import { InputError, IntegrityError, NotFoundError } from '../errors.ts';
import type { Manifest, ManifestEntry } from './manifest.ts';
import { readManifest } from './manifest-lookup.ts';
import { PackReader } from './pack-reader.ts';
import { manifestKey, type Repository } from './repository.ts';

export interface EntrySelector {
  path?: string;
  nodeId?: string;
  /** With nodeId: the log of this container (default main). */
  container?: string;
  /** With nodeId: this artifact instead of a log. */
  artifactName?: string;
}

export function selectEntry(manifest: Manifest, sel: EntrySelector): ManifestEntry {
  const entry = sel.path
    ? manifest.entries.find((e) => e.path === sel.path)
    : sel.artifactName !== undefined
      ? manifest.entries.find(
          (e) => e.kind === 'artifact' && e.nodeId === sel.nodeId && e.artifactName === sel.artifactName,
        )
      : manifest.entries.find(
          (e) => e.kind === 'log' && e.nodeId === sel.nodeId && (e.container ?? 'main') === (sel.container ?? 'main'),
        );
  if (!entry) {
    const what = sel.path
      ? `path ${sel.path}`
      : sel.artifactName !== undefined
        ? `artifact "${sel.artifactName}" of node ${sel.nodeId}`
        : `${sel.container ?? 'main'} log of node ${sel.nodeId}`;
    const gone = manifest.missing.find((m) => m.path === sel.path || (sel.nodeId && m.nodeId === sel.nodeId));
    throw new NotFoundError(
      `workflow ${manifest.workflow.namespace}/${manifest.workflow.name} has no ${what}${gone ? ` (missing at archive time: ${gone.reason})` : ''}`,
    );
  }
  return entry;
}

/** Streams one entry's bytes; the stream errors with IntegrityError if size or SHA-256 differ from the manifest. */
export function streamEntry(
  repo: Repository,
  manifest: Manifest,
  entry: ManifestEntry,
  reader = new PackReader(repo),
): Readable {
  async function* chunks() {
    const hash = createHash('sha256');
    let size = 0;
    for (const [p, id] of entry.chunks) {
      const data = await reader.chunk(manifest.group, manifest.packs[p]!, id);
      hash.update(data);
      size += data.length;
      yield data;
    }
    const sha = hash.digest('hex');
    if (size !== entry.size || sha !== entry.sha256) {
      throw new IntegrityError(
        `restored ${size} bytes with SHA-256 ${sha}, manifest says ${entry.size} bytes ${entry.sha256}`,
        {
          file: entry.path,
        },
      );
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

export async function openEntry(repo: Repository, manifestId: string, path: string): Promise<Readable> {
  const manifest = await readManifest(repo, manifestId);
  const entry = manifest.entries.find((e) => e.path === path);
  if (!entry) throw new NotFoundError(`no entry at path ${path}`, { key: manifestKey(manifestId) });
  return streamEntry(repo, manifest, entry);
}

/** Where an entry lands under `root`; refuses absolute paths and anything that climbs out. */
export function safeTarget(root: string, path: string): string {
  const refuse = (why: string): never => {
    throw new InputError(`refusing to restore entry path ${JSON.stringify(path)}: ${why}`, { file: path });
  };
  if (path.length === 0 || path.includes('\0')) refuse('empty or contains NUL');
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.includes('\\'))
    refuse('absolute or not a POSIX relative path');
  if (path.split('/').some((s) => s === '..' || s === '.' || s === '')) refuse('has "..", "." or empty segments');
  const base = resolve(root);
  const target = resolve(base, path);
  if (!target.startsWith(base + sep)) refuse('escapes the target directory');
  return target;
}

/** Metadata Argo sets on a running object; a resubmitted Workflow must not carry it. */
const SERVER_FIELDS = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'managedFields',
  'generation',
  'selfLink',
  'ownerReferences',
];

/** The Workflow object in a form `argo submit` / `kubectl create` accepts: no status, no server-set metadata. */
export function resubmittable(workflow: Record<string, unknown>): Record<string, unknown> {
  const { status: _status, ...rest } = workflow;
  void _status;
  const metadata = { ...((workflow.metadata as Record<string, unknown> | undefined) ?? {}) };
  for (const f of SERVER_FIELDS) delete metadata[f];
  return { ...rest, metadata };
}

/** Picks the Workflow out of the stored entry, which may be a single object or a List. */
function findWorkflow(text: string, uid: string): Record<string, unknown> | undefined {
  const doc = parse(text) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object') return undefined;
  if (Array.isArray(doc.items)) {
    const items = doc.items as Array<Record<string, unknown>>;
    return items.find((i) => (i.metadata as { uid?: string } | undefined)?.uid === uid) ?? items[0];
  }
  return doc;
}

export const RESUBMIT_FILE = 'workflow.resubmit.yaml';

export interface RestoreOptions {
  progress?: Progress;
}

export interface RestoreResult {
  manifestId: string;
  files: number;
  bytes: number;
  resubmitPath?: string;
}

/**
 * Writes every entry at its path under `targetDir` (each via a temp file and rename), plus the Workflow object
 * ready for resubmission. All paths are checked before anything is written.
 */
export async function restoreWorkflow(
  repo: Repository,
  manifestId: string,
  targetDir: string,
  opts: RestoreOptions = {},
): Promise<RestoreResult> {
  const progress = opts.progress ?? silentProgress;
  const manifest = await readManifest(repo, manifestId);
  const targets = manifest.entries.map((e) => safeTarget(targetDir, e.path));
  const reader = new PackReader(repo);
  const result: RestoreResult = { manifestId, files: 0, bytes: 0 };
  progress.start(
    manifest.entries.reduce((a, e) => a + e.size, 0),
    `restore ${manifest.workflow.namespace}/${manifest.workflow.name}`,
  );
  for (const [i, entry] of manifest.entries.entries()) {
    const target = targets[i]!;
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.strata-tmp-${randomBytes(4).toString('hex')}`;
    try {
      const counted = streamEntry(repo, manifest, entry, reader);
      counted.on('data', (d: Buffer) => progress.advance(d.length));
      await pipeline(counted, createWriteStream(tmp));
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    result.files++;
    result.bytes += entry.size;
  }
  const wfEntry = manifest.entries.find((e) => e.path === manifest.workflowPath);
  if (wfEntry && !manifest.entries.some((e) => e.path === RESUBMIT_FILE)) {
    const text = await readAll(streamEntry(repo, manifest, wfEntry, reader));
    const wf = findWorkflow(text, manifest.workflow.uid);
    if (wf) {
      const path = safeTarget(targetDir, RESUBMIT_FILE);
      await writeFile(path, stringify(resubmittable(wf)));
      result.resubmitPath = path;
    }
  }
  progress.done();
  return result;
}

async function readAll(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
