// Crash safety and concurrency: SIGKILL at random points, then a re-run; two archivers at once. Child processes on a file: store.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { listManifests, readManifest, verifyRepository, openRepository, openEntry } from '../../lib/archive/index.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { childBundle } from './archive-child.ts';
import { readStream, tempDir } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const CHILD = join(import.meta.dirname, 'archive-child.ts');

/** Runs the child; with killAfterMs, SIGKILLs it that long after it reports "started". */
function runChild(
  root: string,
  first: number,
  count: number,
  killAfterMs?: number,
  startAt?: number,
): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const args = [CHILD, root, String(first), String(count), ...(startAt ? [String(startAt)] : [])];
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: join(import.meta.dirname, '../..'),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== undefined && out.startsWith('started') && !child.killed) {
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}): ${err}`));
      else resolve({ code, signal, out });
    });
  });
}

async function expectRestorable(root: string, uids: string[]): Promise<void> {
  const repo = await openRepository(new FileSystemStore(root));
  const report = await verifyRepository(repo, { readData: true });
  expect(report.problems).toEqual([]);
  const byUid = new Map<string, string>();
  for await (const m of listManifests(repo)) byUid.set((await readManifest(repo, m.id)).workflow.uid, m.id);
  expect([...byUid.keys()].sort()).toEqual([...uids].sort());
  for (const uid of uids) {
    const n = Number(uid.slice(1));
    for (const e of childBundle(n).entries) {
      const got = await readStream(await openEntry(repo, byUid.get(uid)!, e.path));
      expect(got.equals(await readStream(await e.open()))).toBe(true);
    }
  }
}

describe('crash safety', () => {
  test('SIGKILL at random points, then a re-run, leaves a repository that verifies clean', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const root = join(dir.path, 'repo');
    let killed = 0;
    // Fresh workflows each round, so every round has real work to interrupt (a full round takes ~150 ms idle).
    for (let i = 0; i < 5; i++) {
      const run = await runChild(root, 1 + 3 * i, 3, Math.floor(Math.random() * 120));
      if (run.signal === 'SIGKILL') killed++;
      // Whatever was committed so far must verify: a crash never leaves a manifest pointing at nothing.
      const repo = await openRepository(new FileSystemStore(root));
      expect((await verifyRepository(repo, { readData: true })).problems).toEqual([]);
    }
    expect(killed).toBeGreaterThan(0);
    const final = await runChild(root, 1, 15);
    expect(final.code).toBe(0);
    await expectRestorable(
      root,
      Array.from({ length: 15 }, (_, i) => `w${i + 1}`),
    );
  });

  test('two archivers at once into one repository verify clean', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const root = join(dir.path, 'repo');
    const startAt = Date.now() + 3000;
    const [a, b] = await Promise.all([
      runChild(root, 1, 2, undefined, startAt),
      runChild(root, 2, 2, undefined, startAt),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    await expectRestorable(root, ['w1', 'w2', 'w3']);
  });
});
