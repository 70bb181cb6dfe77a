// Restore is staged: a refused or killed restore leaves the target as it was, a re-run converges, and one entry
// to an existing directory lands in it.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { archiveBundle, readManifest, restoreWorkflow, type Repository } from '../../lib/archive/index.ts';
import { PackReader } from '../../lib/archive/pack-reader.ts';
import { IntegrityError } from '../../lib/errors.ts';
import { runCli } from '../support/run-cli.ts';
import { bundleOf, tempDir, tempRepository } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const CHILD = join(import.meta.dirname, 'restore-child.ts');

/** Random (incompressible) files, so they spread over several of the small test packs in archive order. */
const FILES = ['a', 'b', 'c', 'd'].map((n) => ({
  path: `logs/${n}/main.log`,
  nodeId: n,
  container: 'main',
  data: randomBytes(90_000),
}));

async function setup(): Promise<{ repo: Repository; root: string; id: string; dir: string }> {
  const r = await tempRepository();
  cleanups.push(r.cleanup);
  const { manifestId } = await archiveBundle(r.repo, bundleOf('s1', FILES));
  const d = tempDir();
  cleanups.push(d.cleanup);
  return { repo: r.repo, root: r.root, id: manifestId, dir: d.path };
}

/** Every file below `dir` (relative path → bytes). */
function tree(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const d of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) for (const [k, v] of tree(dir, path)) out.set(k, v);
    else out.set(path, readFileSync(join(dir, path)));
  }
  return out;
}

function runChild(root: string, id: string, target: string, killAfter: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, root, id, target, String(killAfter)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: join(import.meta.dirname, '../..'),
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => (code ? reject(new Error(`child failed (${code}): ${err}`)) : resolve(signal)));
  });
}

describe('staged restore', () => {
  test('one entry to an existing directory lands in it under its own name', async () => {
    const s = await setup();
    const dir = join(s.dir, 'out');
    mkdirSync(dir);
    const run = await runCli(['--store', `file:${s.root}`, 'restore', 's1', '--node', 'b', '--to', dir]);
    expect(run.err).not.toMatch(/EISDIR/);
    expect(run.code).toBe(0);
    expect(readFileSync(join(dir, 'main.log')).equals(FILES[1]!.data)).toBe(true);
    expect(readdirSync(dir)).toEqual(['main.log']);
  });

  test('a restore refused for a corrupt chunk leaves the target as it was (and creates no target)', async () => {
    const s = await setup();
    const manifest = await readManifest(s.repo, s.id);
    const last = manifest.entries.at(-1)!;
    const packId = manifest.packs[last.chunks.at(-1)![0]]!;
    // Other entries' data lies in packs before it: they would be written before the corrupt chunk is reached.
    expect(manifest.entries.filter((e) => e.chunks.every(([p]) => manifest.packs[p] !== packId)).length).toBe(
      manifest.entries.length - 1,
    );
    const { table } = await new PackReader(s.repo).table(manifest.group, packId);
    const fd = openSync(join(s.root, 'archive/packs', manifest.group, packId), 'r+');
    const frame = table.frames.at(-1)!;
    writeSync(fd, randomBytes(frame.compressedLength), 0, frame.compressedLength, frame.offset);
    closeSync(fd);

    const existing = join(s.dir, 'existing');
    mkdirSync(existing);
    writeFileSync(join(existing, 'keep.txt'), 'mine\n');
    await expect(restoreWorkflow(s.repo, s.id, existing)).rejects.toThrow(IntegrityError);
    expect(readdirSync(existing)).toEqual(['keep.txt']);

    const fresh = join(s.dir, 'fresh');
    const run = await runCli(['--store', `file:${s.root}`, 'restore', 's1', '--to', fresh]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/frame|does not match/);
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(s.dir).sort()).toEqual(['existing']);
  });

  test('a restore killed at any point leaves no restored file; a re-run converges and removes the leftovers', async () => {
    const s = await setup();
    const clean = join(s.dir, 'clean');
    await restoreWorkflow(s.repo, s.id, clean);
    const expected = tree(clean);
    const total = FILES.reduce((a, f) => a + f.data.length, 0);
    const target = join(s.dir, 'target');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'mine\n');
    for (const killAfter of [1, Math.floor(total / 3), total - 1]) {
      expect(await runChild(s.root, s.id, target, killAfter)).toBe('SIGKILL');
      const left = readdirSync(target);
      expect(left.filter((n) => n !== 'keep.txt' && !n.startsWith('.strata-restore-'))).toEqual([]);
    }
    // Each run removed the one before it left; the last one's staging directory is there.
    expect(readdirSync(target).filter((n) => n.startsWith('.strata-restore-')).length).toBe(1);
    const result = await restoreWorkflow(s.repo, s.id, target);
    expect(result.leftoversRemoved).toHaveLength(1);
    const got = tree(target);
    expect(got.get('keep.txt')?.toString()).toBe('mine\n');
    got.delete('keep.txt');
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, v] of expected) expect(got.get(k)!.equals(v)).toBe(true);
  });

  test("another restore's staging directory is left alone while its process runs (or when it is another host's)", async () => {
    const s = await setup();
    const target = join(s.dir, 'target');
    const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const running = `.strata-restore-${host}-${process.ppid}-${'1'.repeat(16)}`;
    const foreign = `.strata-restore-00000000-1-${'2'.repeat(16)}`;
    mkdirSync(join(target, running), { recursive: true });
    mkdirSync(join(target, foreign));
    const result = await restoreWorkflow(s.repo, s.id, target);
    expect(result.leftoversRemoved).toBeUndefined();
    expect(
      readdirSync(target)
        .filter((n) => n.startsWith('.strata-restore-'))
        .sort(),
    ).toEqual([foreign, running].sort());
  });

  test('re-running into a target a previous restore half-filled (or someone edited) converges', async () => {
    const s = await setup();
    const target = join(s.dir, 'target');
    await restoreWorkflow(s.repo, s.id, target);
    const expected = tree(target);
    rmSync(join(target, 'logs/c'), { recursive: true });
    writeFileSync(join(target, 'logs/a/main.log'), 'stale');
    await restoreWorkflow(s.repo, s.id, target);
    const got = tree(target);
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, v] of expected) expect(got.get(k)!.equals(v)).toBe(true);
  });

  test('a target that exists as a file is refused by name', async () => {
    const s = await setup();
    const file = join(s.dir, 'file');
    writeFileSync(file, 'x');
    await expect(restoreWorkflow(s.repo, s.id, file)).rejects.toMatchObject({
      message: 'the restore target exists and is not a directory',
      location: { file },
    });
  });
});
