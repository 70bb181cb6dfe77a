// A store that cannot take the audit record (disk full): results are still printed, the failure is named, exit 3.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { runCli } from '../support/run-cli.ts';
import { BATCH_WORKFLOWS } from '../../lib/archive/batch.ts';

/** Paths whose writes fail as on a full disk (ENOSPC from write(2), after open succeeded). */
const disk = vi.hoisted(() => ({ full: (_path: string): boolean => false }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const enospc = () =>
    Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  const open = async (...args: Parameters<typeof real.open>): Promise<FileHandle> => {
    const handle = await real.open(...args);
    if (disk.full(String(args[0]))) {
      handle.write = (async () => {
        throw enospc();
      }) as never;
      handle.writeFile = (async () => {
        throw enospc();
      }) as never;
    }
    return handle;
  };
  return { ...real, open, default: { ...real, open } };
});

let root: string;
let repo: string;
const strata = (args: string[]) => runCli(['--store', `file:${repo}`, ...args]);
const auditFull = (p: string) => p.includes(`${path.sep}audit${path.sep}`);

function exportOf(dir: string, count: number, says = 'hello'): string {
  for (let i = 0; i < count; i++) {
    const wf = path.join(dir, `ns/w${i}`);
    mkdirSync(path.join(wf, 'logs/n1'), { recursive: true });
    writeFileSync(
      path.join(wf, 'workflow.yaml'),
      `apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w${i}, namespace: ns, uid: u-${i}}\n` +
        `status:\n  phase: Succeeded\n  nodes:\n    n1: {id: n1, name: w${i}.a, type: Pod, phase: Succeeded}\n`,
    );
    writeFileSync(path.join(wf, 'logs/n1/main.log'), `workflow ${i} says ${says}\n`.repeat(50));
  }
  return dir;
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-audit-full-'));
  repo = path.join(root, 'repo');
  const archived = await strata(['archive', '--from', exportOf(path.join(root, 'one'), 1), '-o', 'json']);
  expect(archived.code, archived.err).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  disk.full = () => false;
});

const lastLine = (s: string) => s.trimEnd().split('\n').at(-1)!;

/** A fresh --outputs-dir, and the auditWriteFailures parameter the step wrote there (what the templates count). */
function outputs(): { args: string[]; auditWriteFailures: () => string } {
  const dir = mkdtempSync(path.join(root, 'outputs-'));
  return {
    args: ['--outputs-dir', dir],
    auditWriteFailures: () => readFileSync(path.join(dir, 'auditWriteFailures'), 'utf8'),
  };
}

describe('an audit record that cannot be written', () => {
  test('a verify run that cannot be recorded is not run: nothing checked, exit 1', async () => {
    disk.full = auditFull;
    const out = outputs();
    const run = await strata(['verify', '-o', 'json', ...out.args]);
    expect(run.out).toBe('');
    expect(lastLine(run.err)).toMatch(/^strata: verify of \S+ refused: its audit record could not be written/);
    expect(run.code).toBe(1);
    expect(out.auditWriteFailures()).toBe('1');
  });

  test('verify recorded as started prints its result, then names the failed closing audit write, exit 3', async () => {
    // The writer's first record ("started") goes through, its second (the result) does not.
    disk.full = (p) => auditFull(p) && p.includes('0000000001');
    const out = outputs();
    const run = await strata(['verify', '-o', 'json', ...out.args]);
    expect(JSON.parse(run.out)).toMatchObject({ ok: true, manifests: 1, problems: 0 });
    expect(out.auditWriteFailures()).toBe('1');
    expect(lastLine(run.err)).toMatch(
      /^strata: audit record of verify .* not written: .*audit\/pending\/.*: cannot write: no space left on device/,
    );
    expect(run.code).toBe(3);
  });

  test('verify that finds a problem keeps its own exit code 1, and still reports the audit failure', async () => {
    const packs = path.join(repo, 'archive/packs/default');
    const pack = readdirSync(packs).find((f) => !f.startsWith('.'))!;
    const moved = path.join(root, 'moved-pack');
    const { renameSync } = await import('node:fs');
    renameSync(path.join(packs, pack), moved);
    try {
      disk.full = (p) => auditFull(p) && p.includes('0000000001');
      const run = await strata(['verify', '-o', 'json']);
      expect(JSON.parse(run.out)).toMatchObject({ ok: false });
      expect(run.err).toMatch(/strata: audit record of verify .* not written/);
      expect(run.code).toBe(1);
    } finally {
      renameSync(moved, path.join(packs, pack));
    }
  });

  test('gc --dry-run prints what it did, then the audit failure', async () => {
    const fine = outputs();
    expect((await strata(['gc', '--dry-run', '--grace', '0', '-o', 'json', ...fine.args])).code).toBe(0);
    expect(fine.auditWriteFailures()).toBe('0');
    disk.full = auditFull;
    const out = outputs();
    const gc = await strata(['gc', '--dry-run', '--grace', '0', '-o', 'json', ...out.args]);
    expect(out.auditWriteFailures()).toBe('1');
    expect(JSON.parse(gc.out)).toMatchObject({ dryRun: true, referencedPacks: 1 });
    expect(lastLine(gc.err)).toMatch(/^strata: audit record of gc .* not written: .*no space left on device/);
    expect(gc.code).toBe(3);
  });

  test('a restore whose read cannot be recorded is refused: nothing is served', async () => {
    disk.full = auditFull;
    const to = path.join(root, 'refused');
    const restore = await strata(['restore', 'ns/w0', '--to', to, '-o', 'json']);
    expect(restore.out).toBe('');
    expect(lastLine(restore.err)).toMatch(
      /^strata: restore of \S+ refused: its audit record could not be written: .*no space left/,
    );
    expect(restore.code).toBe(1);
    expect(() => readdirSync(to)).toThrow(/ENOENT/);
    const toStdout = await strata(['restore', 'ns/w0', '--path', 'logs/n1/main.log']);
    expect(toStdout.out).toBe('');
    expect(toStdout.code).toBe(1);
  });

  test('a restore that was recorded before the read and then cannot record its result prints it, exit 3', async () => {
    // The writer's first record ("started") goes through, its second (the result) does not.
    disk.full = (p) => auditFull(p) && p.includes('0000000001');
    const restore = await strata(['restore', 'ns/w0', '--to', path.join(root, 'restored'), '-o', 'json']);
    expect(JSON.parse(restore.out)).toMatchObject({ files: expect.any(Number) });
    expect(lastLine(restore.err)).toMatch(/^strata: audit record of restore .* not written: .*no space left/);
    expect(restore.code).toBe(3);
  });

  test('a failed restore reports its own error, not only the audit failure', async () => {
    disk.full = auditFull;
    const run = await strata(['restore', 'ns/nope', '--to', path.join(root, 'x')]);
    expect(run.code).toBe(1);
    expect(run.err).not.toMatch(/audit record/);
    const partial = await strata([
      'restore',
      'ns/w0',
      '--node',
      'n1',
      '--artifact',
      'nope',
      '--to',
      path.join(root, 'y'),
    ]);
    expect(partial.code).toBe(1);
    expect(partial.err).toMatch(/has no artifact "nope"/);
  });

  test('archive -o json prints what it archived, names the audit failure, starts no further workflows', async () => {
    disk.full = auditFull;
    // More than one commit batch: the second batch is not started once a record failed.
    const count = BATCH_WORKFLOWS + 8;
    const run = await strata(['archive', '--from', exportOf(path.join(root, 'many'), count), '-o', 'json']);
    const report = JSON.parse(run.out) as {
      workflows: number;
      archived: number;
      unchanged: number;
      results: { manifestId?: string; unrecorded?: string }[];
      manifests: string;
      stopped?: { reason: string; notStarted: number };
    };
    expect(report.archived).toBeGreaterThan(0);
    expect(report.results.filter((r) => r.manifestId)).toHaveLength(report.archived + report.unchanged);
    // Finalize deletes by `manifests`: a workflow whose archive is not on record is not in it.
    const unrecorded = report.results.filter((r) => r.unrecorded);
    expect(unrecorded.length).toBeGreaterThan(0);
    expect(report.manifests.split(',').filter(Boolean)).toHaveLength(
      report.archived + report.unchanged - unrecorded.length,
    );
    expect(report.stopped).toMatchObject({ reason: expect.stringMatching(/no space left on device/) });
    expect(report.workflows + report.stopped!.notStarted).toBe(count);
    expect(report.stopped!.notStarted).toBeGreaterThan(0);
    expect(run.err).toMatch(/strata: audit record of archive .* not written: .*no space left on device/);
    expect(run.code).toBe(3);
  });

  test('archive on a full store prints the failed workflows and exits 1', async () => {
    disk.full = (p) => p.startsWith(repo);
    const run = await strata(['archive', '--from', exportOf(path.join(root, 'two'), 2, 'nothing new'), '-o', 'json']);
    const report = JSON.parse(run.out) as { failed: number; results: { error?: string }[] };
    expect(report.failed).toBe(2);
    expect(report.results[0]!.error).toMatch(/no space left on device/);
    expect(run.err).toMatch(/strata: audit record of archive .* not written/);
    expect(run.code).toBe(1);
  });
});
