// Archiving a directory export through the real CLI when the export holds more than the layout promises: what
// archive takes must restore, and what it skips or refuses is said (collect output, manifest missing entries).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { openRepository, resolveManifest } from '../../lib/archive/index.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { runCli } from '../support/run-cli.ts';

let root: string;
let exportDir: string;
let store: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-dir-archive-'));
  exportDir = path.join(root, 'export');
  store = `file:${path.join(root, 'repo')}`;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const strata = (args: string[]) => runCli(['--store', store, ...args]);

function write(rel: string, content: string) {
  const full = path.join(exportDir, rel);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, content);
}

function workflowYaml(name: string, phase = 'Succeeded') {
  return (
    `apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: ${name}, namespace: ns, uid: uid-${name}}\n` +
    `status:\n  phase: ${phase}\n  finishedAt: "2026-01-01T00:10:00Z"\n  nodes:\n` +
    `    ${name}-1: {id: ${name}-1, name: ${name}.a, type: Pod, phase: Succeeded, templateName: a}\n`
  );
}

async function manifestOf(ref: string) {
  const repo = await openRepository(new FileSystemStore(path.join(root, 'repo')));
  return (await resolveManifest(repo, ref)).manifest;
}

test('a named pipe in the export: collect and archive return, say it was not read, and record it', async () => {
  write('ns/w/workflow.yaml', workflowYaml('w'));
  write('ns/w/logs/w-1/wait.log', 'waited\n');
  mkdirSync(path.join(exportDir, 'ns/w/logs/w-1'), { recursive: true });
  execFileSync('mkfifo', [path.join(exportDir, 'ns/w/logs/w-1/main.log')]);
  mkdirSync(path.join(exportDir, 'ns/piped'), { recursive: true });
  execFileSync('mkfifo', [path.join(exportDir, 'ns/piped/workflow.yaml')]);

  const collect = await strata(['collect', '--from', exportDir, '-o', 'json']);
  expect(collect.code).toBe(0);
  expect(collect.err).toMatch(/problem: .*ns\/piped\/workflow\.yaml: named pipe, not a regular file: not read/);
  expect(collect.err).toMatch(/incomplete: ns\/w: 1 missing \(logs\/w-1\/main\.log: named pipe/);

  const archive = await strata(['archive', '--from', exportDir, '-o', 'json']);
  expect(archive.code).toBe(0);
  expect(JSON.parse(archive.out)).toMatchObject({ workflows: 1, archived: 1, incomplete: 1 });
  const manifest = await manifestOf('ns/w');
  expect(manifest.incomplete).toBe(true);
  expect(manifest.missing).toEqual([
    { path: 'logs/w-1/main.log', kind: 'log', nodeId: 'w-1', reason: 'named pipe, not a regular file: not read' },
  ]);
});

test('a symlink to an ancestor does not pull a sibling workflow into another archive', async () => {
  write('ns/a/workflow.yaml', workflowYaml('a'));
  write('ns/a/logs/a-1/main.log', 'log of a\n');
  write('ns/b/workflow.yaml', workflowYaml('b'));
  write('ns/b/logs/b-1/main.log', 'log of b\n');
  symlinkSync('..', path.join(exportDir, 'ns/a/loop'));

  const collect = await strata(['collect', '--from', exportDir]);
  expect(collect.err).toMatch(/incomplete: ns\/a: 1 missing \(loop: symlink to a directory outside this workflow/);
  const archive = await strata(['archive', '--from', exportDir, '-o', 'json']);
  expect(archive.code).toBe(0);
  expect(JSON.parse(archive.out)).toMatchObject({ workflows: 2, archived: 2 });
  const a = await manifestOf('ns/a');
  expect(a.entries.map((e) => e.path).sort()).toEqual(['logs/a-1/main.log', 'workflow.yaml']);
  expect(a.missing.map((m) => m.path)).toEqual(['loop']);
  const b = await manifestOf('ns/b');
  expect(b.entries.map((e) => e.path).sort()).toEqual(['logs/b-1/main.log', 'workflow.yaml']);
});

test('a workflow whose name or uid is not safe is refused by archive, naming the file and the value', async () => {
  write('wf.yaml', workflowYaml('w').replace('uid: uid-w', 'uid: "uid w"'));
  const archive = await strata(['archive', '--from', exportDir, '-o', 'json']);
  expect(archive.code).toBe(1);
  expect(JSON.parse(archive.out)).toMatchObject({ workflows: 0, archived: 0 });
  expect(archive.err).toMatch(/problem: .*wf\.yaml:1: metadata\.uid "uid w" is not a safe uid/);
});

test('a Running workflow archives as incomplete, and policy explain keeps it', async () => {
  write('ns/run/workflow.yaml', workflowYaml('run', 'Running'));
  write('ns/run/logs/run-1/main.log', 'so far\n');
  const archive = await strata(['archive', '--from', exportDir, '-o', 'json']);
  expect(archive.code).toBe(0);
  expect(JSON.parse(archive.out)).toMatchObject({ workflows: 1, archived: 1, incomplete: 1 });
  const manifest = await manifestOf('ns/run');
  expect(manifest).toMatchObject({ incomplete: true, workflow: { phase: 'Running' } });
  expect(manifest.missing).toEqual([
    {
      path: 'status',
      kind: 'workflow',
      reason: expect.stringMatching(/^workflow has not finished \(status.phase Running\)/),
    },
  ]);
  const explain = await strata([
    'policy',
    'explain',
    path.join(exportDir, 'ns/run/workflow.yaml'),
    '--policies',
    'policies',
  ]);
  expect(explain.out).toMatch(/action now: keep/);
});

test('a workflow with neither namespace nor uid has one identity in collect, archive and policy explain', async () => {
  write(
    'bare.yaml',
    'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: bare, creationTimestamp: "2026-01-01T00:00:00Z"}\n' +
      'status: {phase: Succeeded, finishedAt: "2026-01-01T00:10:00Z"}\n',
  );
  const collect = JSON.parse((await strata(['collect', '--from', exportDir, '-o', 'json'])).out) as {
    perWorkflow: Array<{ uid: string; namespace: string; name: string }>;
  };
  const [filed] = collect.perWorkflow;
  expect(filed).toMatchObject({ namespace: 'default', name: 'bare', uid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  const archive = JSON.parse((await strata(['archive', '--from', exportDir, '-o', 'json'])).out) as {
    results: Array<{ uid: string; namespace: string }>;
  };
  expect(archive.results[0]).toMatchObject({ uid: filed!.uid, namespace: 'default' });
  const explain = await strata(['policy', 'explain', path.join(exportDir, 'bare.yaml'), '--policies', 'policies']);
  expect(explain.out).toContain(`workflow default/bare (uid ${filed!.uid},`);
});

test('JSON with a key given twice is refused by archive, naming the file, the line and the key', async () => {
  write(
    'ns/dup/workflow.json',
    '{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",\n' +
      ' "metadata": {"name": "dup", "namespace": "ns", "uid": "uid-dup"},\n' +
      ' "status": {"phase": "Succeeded", "phase": "Failed", "finishedAt": "2026-01-01T00:10:00Z"}}\n',
  );
  const archive = await strata(['archive', '--from', exportDir, '-o', 'json']);
  expect(archive.code).toBe(1);
  expect(JSON.parse(archive.out)).toMatchObject({ workflows: 0, archived: 0 });
  expect(archive.err).toMatch(/problem: .*ns\/dup\/workflow\.json:3:\d+: duplicate key "phase" in one object/);
});

test('YAML with 150 aliases archives, restores and explains (one alias limit on every side)', async () => {
  const aliases = Array.from({ length: 150 }, () => '  - *step\n').join('');
  write(
    'ns/many/workflow.yaml',
    workflowYaml('many').replace(
      'status:',
      `spec:\n  step: &step {name: s, container: {image: busybox}}\n  templates:\n${aliases}status:`,
    ),
  );
  const archive = await strata(['archive', '--from', exportDir, '-o', 'json']);
  expect(archive.code).toBe(0);
  expect(JSON.parse(archive.out)).toMatchObject({ workflows: 1, archived: 1 });
  const restore = await strata(['restore', 'ns/many', '--to', path.join(root, 'out')]);
  expect(restore.err).not.toMatch(/alias/i);
  expect(restore.code).toBe(0);
  expect(readFileSync(path.join(root, 'out/workflow.resubmit.yaml'), 'utf8')).toContain('image: busybox');
  const explain = await strata(['policy', 'explain', path.join(root, 'out/workflow.yaml'), '--policies', 'policies']);
  expect(explain.code).toBe(0);
  expect(explain.out).toMatch(/workflow ns\/many \(uid uid-many/);
});
