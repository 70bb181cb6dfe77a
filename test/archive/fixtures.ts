// Test helpers for the archive engine: temp repositories on the file: store and in-memory bundles.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { BundleEntry, EntryKind, WorkflowBundle } from '../../lib/bundle/bundle.ts';
import { initRepository, type Repository, type RepositoryOptions } from '../../lib/archive/index.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { encryptedOver } from '../support/encrypted-store.ts';

export function tempDir(prefix = 'strata-archive-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Small chunks and packs so tests cross many chunk, frame and pack boundaries with little data. */
export const SMALL: RepositoryOptions = {
  chunker: { minSize: 1024, avgSize: 4096, maxSize: 16384, seed: 'test' },
  pack: { targetSize: 64 * 1024, frameSize: 16 * 1024, compressionLevel: 3 },
};

/** Repositories the engine's suites run against: as before, and sealed (format 3, keys in a local directory). */
export const REPOSITORY_MODES = ['plain', 'encrypted'] as const;
export type RepositoryMode = (typeof REPOSITORY_MODES)[number];

export async function tempRepository(
  opts: RepositoryOptions = SMALL,
  mode: RepositoryMode = 'plain',
): Promise<{ repo: Repository; root: string; keyDir?: string; cleanup(): void }> {
  const dir = tempDir();
  const plain = new FileSystemStore(join(dir.path, 'repo'));
  const keyDir = join(dir.path, 'keys');
  const store = mode === 'encrypted' ? encryptedOver(plain, keyDir) : plain;
  const repo = await initRepository(store, opts);
  return { repo, root: join(dir.path, 'repo'), ...(mode === 'encrypted' && { keyDir }), cleanup: dir.cleanup };
}

export interface FileSpec {
  path: string;
  kind?: EntryKind;
  nodeId?: string;
  container?: string;
  artifactName?: string;
  data: Uint8Array;
}

/** Streams the data in odd-sized pieces so the chunker sees realistic buffer boundaries. */
export function entryOf(f: FileSpec): BundleEntry {
  return {
    path: f.path,
    kind: f.kind ?? 'log',
    ...(f.nodeId !== undefined && { nodeId: f.nodeId }),
    ...(f.container !== undefined && { container: f.container }),
    ...(f.artifactName !== undefined && { artifactName: f.artifactName }),
    size: f.data.length,
    open: async () => {
      const parts: Buffer[] = [];
      for (let o = 0; o < f.data.length; o += 7919) parts.push(Buffer.from(f.data.subarray(o, o + 7919)));
      return Readable.from(parts);
    },
  };
}

export function bundleOf(uid: string, files: FileSpec[], workflow?: Record<string, unknown>): WorkflowBundle {
  return {
    uid,
    namespace: 'agents',
    name: `wf-${uid}`,
    workflow: workflow ?? {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: `wf-${uid}`, namespace: 'agents', uid, labels: { team: 'a' } },
      spec: { entrypoint: 'main' },
      status: { phase: 'Succeeded', finishedAt: '2026-11-01T00:00:00Z' },
    },
    entries: files.map(entryOf),
    missing: [],
  };
}

/** Log-like text: timestamped lines with a repeated block, deterministic from the seed. */
export function logText(seed: number, bytes: number): Buffer {
  let s = seed >>> 0;
  const r = () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
  const lines: string[] = [];
  let n = 0;
  let t = Date.UTC(2026, 10, 1) + seed * 1000;
  while (n < bytes) {
    t += Math.floor(r() * 500);
    const line = `${new Date(t).toISOString()} INFO step=${Math.floor(r() * 20)} id=${Math.floor(r() * 1e9).toString(16)} msg="processing item ${Math.floor(r() * 1000)}"`;
    lines.push(line);
    n += line.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n').subarray(0, bytes);
}

export async function readStream(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}
