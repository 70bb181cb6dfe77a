// Restore never writes outside its target through a link already in it, and never uses a predictable temp name.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { archiveBundle, restoreWorkflow, type Repository } from '../../lib/archive/index.ts';
import { InputError } from '../../lib/errors.ts';
import { runCli } from '../support/run-cli.ts';
import { bundleOf, logText, tempDir, tempRepository } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const LOG = logText(11, 20_000);

async function setup(): Promise<{ repo: Repository; root: string; id: string; dir: string; outside: string }> {
  const r = await tempRepository();
  cleanups.push(r.cleanup);
  const b = bundleOf('l1', [{ path: 'logs/a/main.log', nodeId: 'a', container: 'main', data: LOG }]);
  const { manifestId } = await archiveBundle(r.repo, b);
  const d = tempDir();
  cleanups.push(d.cleanup);
  const outside = join(d.path, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'precious'), 'do not touch\n');
  return { repo: r.repo, root: r.root, id: manifestId, dir: d.path, outside };
}

test('a linked directory in the target refuses the restore; nothing is written there or in the target', async () => {
  const s = await setup();
  const t = join(s.dir, 't');
  mkdirSync(t);
  symlinkSync(s.outside, join(t, 'logs'));
  symlinkSync(join(s.outside, 'precious'), join(t, 'workflow.resubmit.yaml'));
  const err = await restoreWorkflow(s.repo, s.id, t).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  expect((err as Error).message).toMatch(/logs is a symbolic link \(to .*outside\)/);
  expect(readdirSync(s.outside).sort()).toEqual(['precious']);
  expect(readFileSync(join(s.outside, 'precious'), 'utf8')).toBe('do not touch\n');
  expect(readdirSync(t).sort()).toEqual(['logs', 'workflow.resubmit.yaml']);
});

test('a link where the archive has a file is replaced by the file, never written through', async () => {
  const s = await setup();
  const t = join(s.dir, 't');
  mkdirSync(join(t, 'logs/a'), { recursive: true });
  symlinkSync(join(s.outside, 'precious'), join(t, 'workflow.resubmit.yaml'));
  symlinkSync(join(s.outside, 'precious'), join(t, 'logs/a/main.log'));
  const result = await restoreWorkflow(s.repo, s.id, t);
  expect(result.files).toBe(2);
  expect(readFileSync(join(s.outside, 'precious'), 'utf8')).toBe('do not touch\n');
  expect(lstatSync(join(t, 'workflow.resubmit.yaml')).isFile()).toBe(true);
  expect(readFileSync(join(t, 'logs/a/main.log')).equals(LOG)).toBe(true);
  expect(readdirSync(t).sort()).toEqual(['logs', 'workflow.json', 'workflow.resubmit.yaml']);
});

test('one entry to a file: a link planted at the old temp name or at the file is not written through', async () => {
  const s = await setup();
  const store = `file:${s.root}`;
  const to = join(s.dir, 'one.log');
  symlinkSync(join(s.outside, 'precious'), `${to}.strata-tmp`);
  symlinkSync(join(s.outside, 'precious'), to);
  const run = await runCli(['--store', store, 'restore', 'l1', '--node', 'a', '--to', to]);
  expect(run.code).toBe(0);
  expect(readFileSync(join(s.outside, 'precious'), 'utf8')).toBe('do not touch\n');
  expect(lstatSync(to).isFile()).toBe(true);
  expect(readFileSync(to).equals(LOG)).toBe(true);
  // The staging directory is gone; only the planted link at the old temp name is left, untouched.
  expect(readdirSync(s.dir).sort()).toEqual(['one.log', 'one.log.strata-tmp', 'outside']);
  expect(lstatSync(`${to}.strata-tmp`).isSymbolicLink()).toBe(true);
});

test('the target the user names may itself be a link (theirs to point anywhere)', async () => {
  const s = await setup();
  const real = join(s.dir, 'real');
  mkdirSync(real);
  symlinkSync(real, join(s.dir, 'via-link'));
  const result = await restoreWorkflow(s.repo, s.id, join(s.dir, 'via-link'));
  expect(result.to).toBe(real);
  expect(readFileSync(join(real, 'logs/a/main.log')).equals(LOG)).toBe(true);
  expect(existsSync(join(real, 'workflow.resubmit.yaml'))).toBe(true);
});
