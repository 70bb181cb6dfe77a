// A directory artifact (`artifacts/<node>/<name>/…`) restores whole, to a directory; stdout takes one file only.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { archiveBundle } from '../../lib/archive/index.ts';
import { runCli } from '../support/run-cli.ts';
import { bundleOf, logText, tempDir, tempRepository, type FileSpec } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const artifact = (path: string, artifactName: string, seed: number): FileSpec => ({
  path,
  kind: 'artifact',
  nodeId: 'n1',
  artifactName,
  data: logText(seed, 3_000 + seed),
});
const DIR_FILES = [
  artifact('artifacts/n1/out/a.txt', 'out', 1),
  artifact('artifacts/n1/out/sub/b.txt', 'out', 2),
  artifact('artifacts/n1/out/c.bin', 'out', 3),
];
const REPORT = artifact('artifacts/n1/report.json', 'report', 4);

async function setup() {
  const r = await tempRepository();
  cleanups.push(r.cleanup);
  await archiveBundle(r.repo, bundleOf('d1', [...DIR_FILES, REPORT]));
  const out = tempDir();
  cleanups.push(out.cleanup);
  return { strata: (args: string[]) => runCli(['--store', `file:${r.root}`, 'restore', 'd1', ...args]), out: out.path };
}

test('--artifact <directory artifact> --to restores every file of it below the target', async () => {
  const { strata, out } = await setup();
  const run = await strata(['--node', 'n1', '--artifact', 'out', '--to', join(out, 'd'), '-o', 'json']);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.out)).toMatchObject({
    files: expect.any(Array),
    bytes: DIR_FILES.reduce((a, f) => a + f.data.length, 0),
  });
  for (const f of DIR_FILES) {
    const rel = f.path.slice('artifacts/n1/out/'.length);
    expect(readFileSync(join(out, 'd', rel)).equals(f.data)).toBe(true);
  }
  expect(readdirSync(join(out, 'd')).sort()).toEqual(['a.txt', 'c.bin', 'sub']);

  const byPath = await strata(['--path', 'artifacts/n1/out', '--to', join(out, 'p')]);
  expect(byPath.code).toBe(0);
  expect(readFileSync(join(out, 'p/sub/b.txt')).equals(DIR_FILES[1]!.data)).toBe(true);
});

test('a directory artifact to stdout is refused, naming its files and --to', async () => {
  const { strata } = await setup();
  const run = await strata(['--node', 'n1', '--artifact', 'out']);
  expect(run.code).toBe(2);
  expect(run.out).toBe('');
  expect(run.err).toMatch(/artifact "out" of node n1 \(directory artifacts\/n1\/out\/, 3 files: /);
  for (const f of DIR_FILES) expect(run.err).toContain(f.path);
  expect(run.err).toMatch(/--to <directory>/);
});

test('a file artifact still restores as one file, to a file or to stdout', async () => {
  const { strata, out } = await setup();
  expect((await strata(['--node', 'n1', '--artifact', 'report', '--to', join(out, 'r.json')])).code).toBe(0);
  expect(readFileSync(join(out, 'r.json')).equals(REPORT.data)).toBe(true);
  const stdout = await strata(['--node', 'n1', '--artifact', 'report']);
  expect(stdout.code).toBe(0);
  expect(stdout.out).toBe(REPORT.data.toString());
});
