// Restore refuses manifest entry paths that would escape the target directory, before writing anything.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { encodeManifest, type Manifest } from '../../lib/archive/manifest.ts';
import { archiveBundle, readManifest, restoreWorkflow } from '../../lib/archive/index.ts';
import { safeTarget } from '../../lib/archive/restorer.ts';
import { InputError } from '../../lib/errors.ts';
import { bundleOf, logText, tempDir, tempRepository } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const HOSTILE = ['../../etc/passwd', '/etc/passwd', 'logs/../../x', 'a/./b', 'C:\\x', 'a\\..\\..\\b', '', 'a//b', '..'];

test.each(HOSTILE)('safeTarget refuses %j', (path) => {
  expect(() => safeTarget('/tmp/restore', path)).toThrow(InputError);
});

test('safeTarget accepts ordinary nested paths', () => {
  expect(safeTarget('/tmp/restore', 'logs/n1/main.log')).toBe('/tmp/restore/logs/n1/main.log');
  expect(safeTarget('/tmp/restore', '..hidden/x')).toBe('/tmp/restore/..hidden/x');
});

test('restoring a manifest with a hostile path writes nothing and names the path', async () => {
  const r = await tempRepository();
  cleanups.push(r.cleanup);
  const res = await archiveBundle(r.repo, bundleOf('h1', [{ path: 'ok.log', data: logText(31, 10_000) }]));
  const m: Manifest = await readManifest(r.repo, res.manifestId);
  m.entries.push({ ...m.entries[1]!, path: '../../etc/passwd' });
  const { id, bytes } = encodeManifest(m);
  await r.repo.store.put(`archive/manifests/${id}`, bytes);
  const out = tempDir();
  cleanups.push(out.cleanup);
  const target = join(out.path, 'a', 'b');
  await expect(restoreWorkflow(r.repo, id, target)).rejects.toThrow(
    /refusing to restore entry path "\.\.\/\.\.\/etc\/passwd"/,
  );
  expect(existsSync(target)).toBe(false);
  expect(readdirSync(out.path)).toEqual([]);
});

test.each([
  ['two entries at one path', ['ok.log', 'ok.log'], /two entries at path "ok\.log"/],
  ['a file where another entry needs a directory', ['ok.log', 'ok.log/x'], /"ok\.log" is both a file and a directory/],
  ['the name of a restore staging directory', ['.strata-restore-0123456789abcdef/x'], /restore staging directory/],
])('restoring a manifest with %s writes nothing', async (_what, paths, message) => {
  const r = await tempRepository();
  cleanups.push(r.cleanup);
  const res = await archiveBundle(r.repo, bundleOf('h2', [{ path: 'ok.log', data: logText(32, 5_000) }]));
  const m: Manifest = await readManifest(r.repo, res.manifestId);
  const template = m.entries.find((e) => e.path === 'ok.log')!;
  m.entries = [...m.entries.filter((e) => e.path !== 'ok.log'), ...paths.map((path) => ({ ...template, path }))];
  const { id, bytes } = encodeManifest(m);
  await r.repo.store.put(`archive/manifests/${id}`, bytes);
  const out = tempDir();
  cleanups.push(out.cleanup);
  await expect(restoreWorkflow(r.repo, id, join(out.path, 't'))).rejects.toThrow(message);
  expect(readdirSync(out.path)).toEqual([]);
});
