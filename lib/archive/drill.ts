// Restore drills: a random sample of archived workflows restored into a sandbox directory, every restored file hashed
// again against its manifest, the sandbox removed; the result is the evidence that restores work.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../errors.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { listManifests, readManifest } from './manifest-lookup.ts';
import type { Manifest } from './manifest.ts';
import type { Repository } from './repository.ts';
import { restoreWorkflow, safeTarget } from './restorer.ts';

export interface DrillOptions {
  /** How many workflows to restore (fewer when the archive holds fewer). */
  workflows: number;
  /** The directory the sandbox is made in (a fresh directory inside it, removed when the drill ends). */
  sandboxParent: string;
  /** Uniform in [0, 1): which workflows are drawn. */
  random?: () => number;
  /** Asked before a workflow's data is read; throws to refuse (the drill then stops, sandbox removed). */
  authorize?: (manifestId: string, manifest: Manifest) => Promise<void>;
  progress?: Progress;
}

export interface DrilledWorkflow {
  manifestId: string;
  uid?: string;
  namespace?: string;
  name?: string;
  /** Entries restored and hashed again, and their bytes. */
  files: number;
  bytes: number;
  ok: boolean;
  problems: string[];
}

export interface DrillReport {
  ok: boolean;
  /** Manifests the sample was drawn from. */
  manifests: number;
  workflows: DrilledWorkflow[];
  passed: number;
  failed: number;
  bytes: number;
  /** The sandbox used (already removed). */
  sandbox: string;
}

/** Reservoir sampling: `k` manifest ids drawn uniformly while listing, holding only `k` in memory. */
async function sampleManifests(
  repo: Repository,
  k: number,
  random: () => number,
): Promise<{ ids: string[]; seen: number }> {
  const ids: string[] = [];
  let seen = 0;
  for await (const m of listManifests(repo)) {
    seen++;
    if (ids.length < k) ids.push(m.id);
    else {
      const j = Math.floor(random() * seen);
      if (j < k) ids[j] = m.id;
    }
  }
  return { ids, seen };
}

async function sha256OfFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const piece of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(piece);
    size += piece.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Restores one workflow into `dir`, then reads every file back from the disk and checks it against the manifest. */
async function drillOne(
  repo: Repository,
  manifestId: string,
  dir: string,
  opts: DrillOptions,
): Promise<DrilledWorkflow> {
  const result: DrilledWorkflow = { manifestId, files: 0, bytes: 0, ok: false, problems: [] };
  let manifest: Manifest;
  try {
    manifest = await readManifest(repo, manifestId);
  } catch (err) {
    result.problems.push(`manifest: ${describeError(err)}`);
    return result;
  }
  result.uid = manifest.workflow.uid;
  result.namespace = manifest.workflow.namespace;
  result.name = manifest.workflow.name;
  await opts.authorize?.(manifestId, manifest);
  try {
    await restoreWorkflow(repo, manifestId, dir, { progress: opts.progress ?? silentProgress });
  } catch (err) {
    result.problems.push(`restore: ${describeError(err)}`);
    return result;
  }
  for (const entry of manifest.entries) {
    try {
      const got = await sha256OfFile(safeTarget(dir, entry.path));
      if (got.size !== entry.size || got.sha256 !== entry.sha256)
        result.problems.push(
          `${entry.path}: restored ${got.size} bytes hashing to ${got.sha256}, manifest says ${entry.size} bytes, ${entry.sha256}`,
        );
      result.files++;
      result.bytes += got.size;
    } catch (err) {
      result.problems.push(`${entry.path}: ${describeError(err)}`);
    }
  }
  result.ok = result.problems.length === 0;
  return result;
}

export async function drillRestores(repo: Repository, opts: DrillOptions): Promise<DrillReport> {
  const { ids, seen } = await sampleManifests(
    repo,
    Math.max(0, Math.floor(opts.workflows)),
    opts.random ?? Math.random,
  );
  await mkdir(opts.sandboxParent, { recursive: true });
  const sandbox = await mkdtemp(join(opts.sandboxParent, 'strata-drill-'));
  const workflows: DrilledWorkflow[] = [];
  try {
    for (const id of ids) {
      const dir = join(sandbox, id);
      try {
        workflows.push(await drillOne(repo, id, dir, opts));
      } finally {
        // One workflow's bytes at a time in the sandbox.
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(sandbox, { recursive: true, force: true });
  }
  const failed = workflows.filter((w) => !w.ok).length;
  return {
    ok: failed === 0,
    manifests: seen,
    workflows,
    passed: workflows.length - failed,
    failed,
    bytes: workflows.reduce((n, w) => n + w.bytes, 0),
    sandbox,
  };
}
