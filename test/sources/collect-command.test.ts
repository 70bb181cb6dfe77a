// `strata collect` through the real CLI: JSON summary, problems on stderr, exit codes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { runCli } from '../support/run-cli.ts';

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-collect-cli-'));
  mkdirSync(path.join(root, 'ns/w/logs/w-1'), { recursive: true });
  writeFileSync(
    path.join(root, 'ns/w/workflow.yaml'),
    'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: ns, uid: u-w}\n' +
      'status:\n  phase: Succeeded\n  nodes:\n    w-1: {id: w-1, name: w.a, type: Pod, phase: Succeeded, templateName: a}\n',
  );
  writeFileSync(path.join(root, 'ns/w/logs/w-1/main.log'), 'hello\n');
  writeFileSync(path.join(root, 'broken.yaml'), 'kind: [\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const strata = (args: string[]) => runCli(args);

test('prints the summary as JSON and names malformed files on stderr', async () => {
  const r = await strata(['collect', '--from', root, '-o', 'json']);
  expect(r.code).toBe(0);
  const report = JSON.parse(r.out) as { workflows: number; entries: number; bytes: number; problems: unknown[] };
  expect(report).toMatchObject({ workflows: 1, entries: 2, missing: 0 });
  expect(report.problems).toHaveLength(1);
  expect(r.err).toMatch(/problem: .*broken\.yaml:\d+:\d+: malformed YAML/);
});

test('exits 1 when the selected workflow is not there or the directory is unreadable', async () => {
  expect((await strata(['collect', '--from', root, '--workflow', 'nope', '-o', 'json'])).code).toBe(1);
  const missing = await strata(['collect', '--from', path.join(root, 'absent')]);
  expect(missing.code).toBe(1);
  expect(missing.err).toMatch(/absent: export directory is not readable/);
});

test('--artifacts reads what the export lacks from the artifact repository', async () => {
  const exportDir = mkdtempSync(path.join(tmpdir(), 'strata-collect-art-'));
  try {
    mkdirSync(path.join(exportDir, 'ns/v'), { recursive: true });
    writeFileSync(
      path.join(exportDir, 'ns/v/workflow.yaml'),
      'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: v, namespace: ns, uid: u-v}\nstatus:\n' +
        '  phase: Succeeded\n  nodes:\n    v-1:\n      {id: v-1, name: v.a, type: Pod, phase: Succeeded, templateName: a,\n' +
        '       outputs: {artifacts: [{name: main-logs, s3: {key: v/v-a-1/main.log}}]}}\n',
    );
    const bucketDir = path.join(exportDir, '..', path.basename(exportDir) + '-bucket');
    await new FileSystemStore(bucketDir).put('v/v-a-1/main.log', Buffer.from('archived log\n'));
    try {
      const without = JSON.parse((await strata(['collect', '--from', exportDir, '-o', 'json'])).out);
      expect(without).toMatchObject({ workflows: 1, missing: 1 });
      const withBucket = await strata([
        'collect',
        '--from',
        exportDir,
        '--artifacts',
        `file:${bucketDir}`,
        '-o',
        'json',
      ]);
      expect(JSON.parse(withBucket.out)).toMatchObject({ workflows: 1, entries: 2, missing: 0, incomplete: 0 });
    } finally {
      rmSync(bucketDir, { recursive: true, force: true });
    }
  } finally {
    rmSync(exportDir, { recursive: true, force: true });
  }
});
