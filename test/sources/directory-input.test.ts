// The directory export source against input that is not what the layout promises: special files, links that
// reach other workflows, names that are not safe, unfinished workflows. Each case says what it skipped or refused.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isSourceProblem, type SourceProblem, type WorkflowIdentity } from '../../lib/bundle/bundle.ts';
import { collectFromSource } from '../../lib/sources/collect.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-dir-input-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, content: string) {
  const full = path.join(root, rel);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, content);
}

function mkfifo(rel: string) {
  const full = path.join(root, rel);
  mkdirSync(path.dirname(full), { recursive: true });
  execFileSync('mkfifo', [full]);
}

/** A finished workflow with one Pod node `<name>-1` that ran. */
function workflow(name: string, extra: { name?: string; namespace?: string; uid?: string; phase?: string } = {}) {
  return `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: ${JSON.stringify(name)}
  namespace: ${JSON.stringify(extra.namespace ?? 'ns')}
  uid: ${JSON.stringify(extra.uid ?? `uid-${name}`)}
status:
  phase: ${extra.phase ?? 'Succeeded'}
  finishedAt: "2026-01-01T00:10:00Z"
  nodes:
    ${name}-1: {id: ${name}-1, name: ${name}.a, type: Pod, phase: Succeeded, templateName: a}
`;
}

async function listAll(dir = root) {
  const ids: WorkflowIdentity[] = [];
  const problems: SourceProblem[] = [];
  for await (const x of openDirectorySource(dir).list()) {
    if (isSourceProblem(x)) problems.push(x);
    else ids.push(x);
  }
  return { ids, problems };
}

describe('special files (named pipes, sockets, devices) are never opened for reading', () => {
  test('a named pipe as a workflow file is a problem naming it, and the scan goes on', async () => {
    mkfifo('ns/piped/workflow.yaml');
    write('ns/good/workflow.yaml', workflow('good'));
    const { ids, problems } = await listAll();
    expect(ids.map((i) => i.name)).toEqual(['good']);
    expect(problems).toEqual([
      { where: path.join(root, 'ns/piped/workflow.yaml'), message: expect.stringMatching(/named pipe.*not read/) },
    ]);
  });

  test('a named pipe as a top-level workflow file is a problem, not silently passed over', async () => {
    mkfifo('all.yaml');
    const { ids, problems } = await listAll();
    expect(ids).toEqual([]);
    expect(problems).toEqual([{ where: path.join(root, 'all.yaml'), message: expect.stringMatching(/named pipe/) }]);
  });

  test('a named pipe in the data directory is a missing entry with the reason; the rest is collected', async () => {
    write('ns/w/workflow.yaml', workflow('w'));
    mkfifo('ns/w/logs/w-1/main.log');
    mkfifo('ns/w/notes.txt');
    write('ns/w/logs/w-1/wait.log', 'waited\n');
    const report = await collectFromSource(openDirectorySource(root));
    expect(report).toMatchObject({ workflows: 1, incomplete: 1, problems: [] });
    const bundle = await openDirectorySource(root).load({ uid: 'uid-w', namespace: 'ns', name: 'w' });
    expect(bundle.entries.map((e) => e.path).sort()).toEqual(['logs/w-1/wait.log', 'workflow.yaml']);
    expect(bundle.missing).toEqual([
      { path: 'logs/w-1/main.log', kind: 'log', nodeId: 'w-1', reason: 'named pipe, not a regular file: not read' },
      { path: 'notes.txt', kind: 'resource', reason: 'named pipe, not a regular file: not read' },
    ]);
  });
});

describe('links never pull another workflow’s files into a bundle', () => {
  test('a symlink to an ancestor directory is not followed, and is a missing entry saying why', async () => {
    write('ns/a/workflow.yaml', workflow('a'));
    write('ns/a/logs/a-1/main.log', 'log of a\n');
    write('ns/b/workflow.yaml', workflow('b'));
    write('ns/b/logs/b-1/main.log', 'log of b\n');
    symlinkSync('..', path.join(root, 'ns/a/loop'));
    symlinkSync('../../..', path.join(root, 'ns/a/logs/up'));
    const bundle = await openDirectorySource(root).load({ uid: 'uid-a', namespace: 'ns', name: 'a' });
    expect(bundle.entries.map((e) => e.path).sort()).toEqual(['logs/a-1/main.log', 'workflow.yaml']);
    expect(bundle.missing).toEqual([
      {
        path: 'logs/up',
        kind: 'log',
        nodeId: 'up',
        reason: "symlink to a directory outside this workflow's directory (the export root): not followed",
      },
      {
        path: 'loop',
        kind: 'resource',
        reason: "symlink to a directory outside this workflow's directory (ns): not followed",
      },
    ]);
  });

  test('links into a sibling workflow’s directory are not followed; links to shared files still are', async () => {
    write('ns/a/workflow.yaml', workflow('a'));
    write('ns/b/workflow.yaml', workflow('b'));
    write('ns/b/logs/b-1/main.log', 'log of b\n');
    write('shared/common.txt', 'shared\n');
    mkdirSync(path.join(root, 'ns/a/logs/a-1'), { recursive: true });
    symlinkSync('../../../b/logs/b-1/main.log', path.join(root, 'ns/a/logs/a-1/main.log'));
    symlinkSync('../b/logs', path.join(root, 'ns/a/borrowed'));
    symlinkSync('../../shared/common.txt', path.join(root, 'ns/a/common.txt'));
    const bundle = await openDirectorySource(root).load({ uid: 'uid-a', namespace: 'ns', name: 'a' });
    expect(bundle.entries.map((e) => e.path).sort()).toEqual(['common.txt', 'workflow.yaml']);
    expect(bundle.missing.map((m) => [m.path, m.reason])).toEqual([
      ['borrowed', 'symlink into the directory of workflow ns/b: not followed'],
      ['logs/a-1/main.log', 'symlink into the directory of workflow ns/b: not followed'],
    ]);
  });

  test('a data directory that is a link to the namespace takes none of the workflows in it', async () => {
    write('top.yaml', workflow('t'));
    write('ns/b/workflow.yaml', workflow('b'));
    write('ns/b/logs/b-1/main.log', 'log of b\n');
    write('ns/extra.txt', 'kept\n');
    symlinkSync('.', path.join(root, 'ns/t'));
    const { ids, problems } = await listAll();
    expect(problems).toEqual([]);
    expect(ids.map((i) => i.name).sort()).toEqual(['b', 't']);
    const t = await openDirectorySource(root).load({ uid: 'uid-t', namespace: 'ns', name: 't' });
    expect(t.entries.map((e) => e.path).sort()).toEqual(['extra.txt', 'workflow.yaml']);
    expect(t.missing.map((m) => [m.path, m.reason])).toContainEqual(['b', 'directory of workflow ns/b: not taken']);
  });
});

describe('namespaces, names and uids that are not safe are refused, naming the file and the value', () => {
  test.each([
    ['a name that climbs out', { name: '../x' }, /metadata\.name "\.\.\/x" is not a safe/],
    ['a name with a space', { name: 'a b' }, /metadata\.name "a b" is not a safe/],
    ['a namespace with a slash', { name: 'w', namespace: 'a/b' }, /metadata\.namespace "a\/b" is not a safe/],
    ['a uid with a slash', { name: 'w', uid: 'u/1' }, /metadata\.uid "u\/1" is not a safe/],
    ['a uid with ..', { name: 'w', uid: 'u..1' }, /metadata\.uid "u\.\.1" is not a safe/],
  ])('%s', async (_what, id, message) => {
    write('all.yaml', workflow(id.name, id) + '---\n' + workflow('fine'));
    const { ids, problems } = await listAll();
    expect(ids.map((i) => i.name)).toEqual(['fine']);
    expect(problems).toEqual([{ where: `${path.join(root, 'all.yaml')}:1`, message: expect.stringMatching(message) }]);
  });

  test('in a workflow directory too', async () => {
    write('ns/w/workflow.yaml', workflow('w', { uid: 'has space' }));
    const { ids, problems } = await listAll();
    expect(ids).toEqual([]);
    expect(problems).toEqual([
      {
        where: `${path.join(root, 'ns/w/workflow.yaml')}:1`,
        message: expect.stringMatching(/metadata\.uid "has space"/),
      },
    ]);
  });
});

describe('an unfinished workflow is incomplete, whatever the export says about it', () => {
  test.each([['Running'], ['Pending'], [undefined]])('status.phase %s: a missing entry says why', async (phase) => {
    const text = workflow('w', { phase: phase ?? 'Succeeded' });
    write('ns/w/workflow.yaml', phase ? text : text.replace(/\n {2}phase: Succeeded/, ''));
    write('ns/w/logs/w-1/main.log', 'so far\n');
    const report = await collectFromSource(openDirectorySource(root));
    expect(report).toMatchObject({ workflows: 1, incomplete: 1 });
    const bundle = await openDirectorySource(root).load({ uid: 'uid-w', namespace: 'ns', name: 'w' });
    expect(bundle.missing).toEqual([
      {
        path: 'status',
        kind: 'workflow',
        reason: expect.stringMatching(
          new RegExp(`^workflow has not finished \\(${phase ? `status.phase ${phase}` : 'no status.phase'}\\)`),
        ),
      },
    ]);
  });

  test.each([['Succeeded'], ['Failed'], ['Error']])('status.phase %s is finished', async (phase) => {
    write('ns/w/workflow.yaml', workflow('w', { phase }));
    write('ns/w/logs/w-1/main.log', 'done\n');
    const bundle = await openDirectorySource(root).load({ uid: 'uid-w', namespace: 'ns', name: 'w' });
    expect(bundle.missing).toEqual([]);
  });
});
