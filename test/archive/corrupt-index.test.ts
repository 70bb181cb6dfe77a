// A pack index that does not verify (not missing: corrupt) must not block restore, archive or verify while its pack
// is intact: the table comes from the pack's tail, and each says so.
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  archiveBundle,
  readManifest,
  restoreWorkflow,
  verifyRepository,
  type Repository,
} from '../../lib/archive/index.ts';
import { IntegrityError } from '../../lib/errors.ts';
import { runCli } from '../support/run-cli.ts';
import { bundleOf, logText, tempDir, tempRepository } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const LOG = logText(21, 60_000);

/** Overwrites `length` bytes at `offset` of a stored object's file in place (its size and inode stay). */
function scribble(path: string, offset: number, length: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(length, 0xa5), 0, length, offset);
  closeSync(fd);
}

async function setup(): Promise<{ repo: Repository; root: string; id: string; index: string; out: string }> {
  const r = await tempRepository();
  cleanups.push(r.cleanup);
  const b = bundleOf('c1', [{ path: 'logs/a/main.log', nodeId: 'a', container: 'main', data: LOG }]);
  const { manifestId } = await archiveBundle(r.repo, b);
  const m = await readManifest(r.repo, manifestId);
  const index = join(r.root, 'archive/index', m.group, m.packs[0]!);
  const out = tempDir();
  cleanups.push(out.cleanup);
  return { repo: r.repo, root: r.root, id: manifestId, index, out: out.path };
}

describe('a corrupt pack index', () => {
  test.each([
    ['a bad checksum', 60, 8],
    ['a bad magic (whole head)', 0, 56],
  ])('with %s: restore reads the table from the pack tail and warns', async (_what, offset, length) => {
    const s = await setup();
    scribble(s.index, offset, length);
    const result = await restoreWorkflow(s.repo, s.id, join(s.out, 'w'));
    expect(readFileSync(join(s.out, 'w/logs/a/main.log')).equals(LOG)).toBe(true);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings![0]).toMatch(/key archive\/index\/.*: pack index .*; read the table from the pack's tail/);

    const cli = await runCli(['--store', `file:${s.root}`, 'restore', 'c1', '--node', 'a']);
    expect(cli.code).toBe(0);
    expect(cli.out).toBe(LOG.toString());
    expect(cli.err).toMatch(/warning: .*pack index .*read the table from the pack's tail instead/);
  });

  test('verify reports the index and says the pack is readable without it; references are still checked', async () => {
    const s = await setup();
    scribble(s.index, 60, 8);
    const report = await verifyRepository(s.repo, { readData: true });
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ kind: 'index' });
    expect(report.problems[0]!.message).toMatch(/checksum does not match; the pack's own table .* restore falls back/);
  });

  test('archiving into the group goes on (the corrupt index is skipped for dedup)', async () => {
    const s = await setup();
    scribble(s.index, 60, 8);
    const again = bundleOf('c2', [{ path: 'logs/a/main.log', nodeId: 'a', container: 'main', data: LOG }]);
    const { manifestId } = await archiveBundle(s.repo, again);
    const result = await restoreWorkflow(s.repo, manifestId, join(s.out, 'again'));
    expect(readFileSync(join(s.out, 'again/logs/a/main.log')).equals(LOG)).toBe(true);
    expect(result.files).toBe(2);
  });

  test('when the pack tail is broken too, restore fails with an IntegrityError and writes nothing', async () => {
    const s = await setup();
    scribble(s.index, 60, 8);
    const pack = s.index.replace('/archive/index/', '/archive/packs/');
    const size = readFileSync(pack).length;
    scribble(pack, size - 8, 8);
    await expect(restoreWorkflow(s.repo, s.id, join(s.out, 'w'))).rejects.toThrow(IntegrityError);
    expect(readdirSync(s.out)).toEqual([]);
  });
});
