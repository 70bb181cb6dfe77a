// The directory export source: layout, List files, missing entries, problems that do not stop the batch, hostile paths.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isSourceProblem, type WorkflowIdentity, type SourceProblem } from '../../lib/bundle/bundle.ts';
import { InputError } from '../../lib/errors.ts';
import { fnv32a } from '../../lib/sources/argo-nodes.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-dir-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, content: string) {
  const full = path.join(root, rel);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, content);
}

/** A play workflow with two pods: `implement` (log + diff artifact) and `test` (log + report artifact). */
function playWorkflow(name: string, uid = `uid-${name}`) {
  return `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: ${name}
  namespace: agents
  uid: ${uid}
  annotations: {workflows.argoproj.io/pod-name-format: v2}
status:
  phase: Succeeded
  nodes:
    ${name}: {id: ${name}, name: ${name}, displayName: ${name}, type: DAG, phase: Succeeded, templateName: main}
    ${name}-1:
      id: ${name}-1
      name: ${name}.implement
      displayName: implement
      type: Pod
      phase: Succeeded
      templateName: agent-coderun
      outputs:
        artifacts:
        - {name: diff, path: /tmp/diff, s3: {key: ${name}/p1/diff.tgz}}
        - {name: main-logs, s3: {key: ${name}/p1/main.log}}
    ${name}-2:
      id: ${name}-2
      name: ${name}.test
      displayName: test
      type: Pod
      phase: Failed
      startedAt: "2026-01-01T00:00:00Z"
      templateName: run-tests
      outputs:
        artifacts:
        - {name: test-report, path: /tmp/report.xml, s3: {key: ${name}/p2/test-report.tgz}}
    ${name}-3: {id: ${name}-3, name: ${name}.skipped, displayName: skipped, type: Pod, phase: Skipped, templateName: x}
`;
}

async function listAll(dir: string) {
  const ids: WorkflowIdentity[] = [];
  const problems: SourceProblem[] = [];
  for await (const x of openDirectorySource(dir).list()) (isSourceProblem(x) ? problems : ids).push(x as never);
  return { ids, problems };
}

describe('openDirectorySource', () => {
  test('loads a workflow directory: object, logs, artifacts, related resources and their pod logs', async () => {
    write('agents/play-1/workflow.yaml', playWorkflow('play-1'));
    write('agents/play-1/logs/play-1-1/main.log', '2026-01-01T00:00:00Z hello\n');
    write('agents/play-1/logs/play-1-1/wait.log', 'waiting\n');
    write('agents/play-1/logs/play-1-2/main.log', 'tests failed\n');
    write('agents/play-1/artifacts/play-1-1/diff.tgz', 'DIFF');
    write('agents/play-1/artifacts/play-1-2/test-report.xml', '<testsuite/>');
    write(
      'agents/play-1/resources/CodeRun/coderun-7-abc.yaml',
      'apiVersion: agents.platform/v1\nkind: CodeRun\nmetadata: {name: coderun-7-abc}\n',
    );
    write('agents/play-1/resources/CodeRun/coderun-7-abc/logs/coderun-7-abc-job-x/claude.log', 'agent output\n');

    const source = openDirectorySource(root);
    const { ids, problems } = await listAll(root);
    expect(problems).toEqual([]);
    expect(ids).toEqual([{ uid: 'uid-play-1', namespace: 'agents', name: 'play-1' }]);

    const bundle = await source.load(ids[0]!);
    expect(bundle.workflow.kind).toBe('Workflow');
    expect(bundle.missing).toEqual([]);
    const byPath = new Map(bundle.entries.map((e) => [e.path, e]));
    expect([...byPath.keys()].sort()).toEqual([
      'artifacts/play-1-1/diff.tgz',
      'artifacts/play-1-2/test-report.xml',
      'logs/play-1-1/main.log',
      'logs/play-1-1/wait.log',
      'logs/play-1-2/main.log',
      'resources/CodeRun/coderun-7-abc.yaml',
      'resources/CodeRun/coderun-7-abc/logs/coderun-7-abc-job-x/claude.log',
      'workflow.yaml',
    ]);
    const main = byPath.get('logs/play-1-1/main.log')!;
    expect(main).toMatchObject({ kind: 'log', nodeId: 'play-1-1', container: 'main', size: 27 });
    expect(main.meta?.podName).toBe(`play-1-agent-coderun-${fnv32a('play-1.implement')}`);
    expect(await text(await main.open())).toBe('2026-01-01T00:00:00Z hello\n');
    expect(byPath.get('artifacts/play-1-1/diff.tgz')).toMatchObject({ kind: 'artifact', artifactName: 'diff' });
    expect(byPath.get('artifacts/play-1-1/diff.tgz')!.meta).toMatchObject({ s3: { key: 'play-1/p1/diff.tgz' } });
    expect(byPath.get('artifacts/play-1-2/test-report.xml')!.artifactName).toBe('test-report');
    expect(byPath.get('resources/CodeRun/coderun-7-abc.yaml')).toMatchObject({
      kind: 'resource',
      meta: { apiVersion: 'agents.platform/v1', kind: 'CodeRun', name: 'coderun-7-abc' },
    });
    expect(byPath.get('resources/CodeRun/coderun-7-abc/logs/coderun-7-abc-job-x/claude.log')).toMatchObject({
      kind: 'log',
      container: 'claude',
      meta: { resourceKind: 'CodeRun', resourceName: 'coderun-7-abc', podName: 'coderun-7-abc-job-x' },
    });
    // The workflow entry is the exported file byte for byte.
    expect(await text(await byPath.get('workflow.yaml')!.open())).toBe(playWorkflow('play-1'));
  });

  test('expected logs and artifacts that are absent become MissingEntry with a reason', async () => {
    write('agents/play-2/workflow.yaml', playWorkflow('play-2'));
    write('agents/play-2/logs/play-2-1/main.log', 'x\n');
    const bundle = await openDirectorySource(root).load({ uid: 'uid-play-2', namespace: 'agents', name: 'play-2' });
    expect(bundle.missing.map((m) => [m.kind, m.path, m.nodeId])).toEqual([
      ['artifact', 'artifacts/play-2-1/diff', 'play-2-1'],
      ['log', 'logs/play-2-2/main.log', 'play-2-2'],
      ['artifact', 'artifacts/play-2-2/test-report', 'play-2-2'],
    ]);
    expect(bundle.missing[0]!.reason).toMatch(/diff.*s3 key play-2\/p1\/diff\.tgz.*not in the export/);
    expect(bundle.missing[1]!.reason).toMatch(/main log of pod play-2-run-tests-\d+/);
  });

  test('top-level List files and single-object files; their data directory is used when present', async () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n${[playWorkflow('a'), playWorkflow('b')]
      .map((w) => '- ' + w.replace(/\n(?=.)/g, '\n  '))
      .join('')}`;
    write('all.yaml', list);
    write(
      'single.json',
      JSON.stringify({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Workflow',
        metadata: { name: 'c', namespace: 'agents', uid: 'uid-c' },
      }),
    );
    write('agents/a/logs/a-1/main.log', 'log of a\n');
    write('README.md', 'not a workflow');
    write('.git/HEAD', 'ref: refs/heads/main');
    write('agents/.scratch/notes.yaml', 'x: 1');

    const { ids, problems } = await listAll(root);
    expect(problems).toEqual([]);
    expect(ids.map((i) => i.name).sort()).toEqual(['a', 'b', 'c']);
    const source = openDirectorySource(root);
    const a = await source.load({ uid: 'uid-a', namespace: 'agents', name: 'a' });
    expect(a.entries.map((e) => e.path)).toEqual(['workflow.json', 'logs/a-1/main.log']);
    expect(JSON.parse(await text(await a.entries[0]!.open())).metadata.name).toBe('a');
    const b = await source.load({ uid: 'uid-b', namespace: 'agents', name: 'b' });
    expect(b.missing.every((m) => /no directory agents\/b\//.test(m.reason))).toBe(true);
    const c = await source.load({ uid: 'uid-c', namespace: 'agents', name: 'c' });
    expect(c.entries.map((e) => e.path)).toEqual(['workflow.json']);
  });

  test('a malformed workflow file is a problem with file:line; the other workflows still list and load', async () => {
    write('agents/good/workflow.yaml', playWorkflow('good'));
    write(
      'agents/bad/workflow.yaml',
      'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: "unterminated\n',
    );
    write('broken.json', '{"kind": "Workflow",\n "metadata": }');
    write('agents/empty/.keep', '');
    const { ids, problems } = await listAll(root);
    expect(ids.map((i) => i.name)).toEqual(['good']);
    const wheres = problems.map((p) => p.where.slice(root.length + 1));
    expect(wheres).toContainEqual(expect.stringMatching(/^broken\.json:2:\d+$/));
    expect(wheres).toContainEqual(expect.stringMatching(/^agents\/bad\/workflow\.yaml:\d+:\d+$/));
    expect(wheres).toContain('agents/empty');
    const good = await openDirectorySource(root).load(ids[0]!);
    expect(good.name).toBe('good');
  });

  test('a missing uid is derived and noted', async () => {
    write('agents/nouid/workflow.yaml', playWorkflow('nouid').replace(/\n {2}uid: .*\n/, '\n'));
    const { ids } = await listAll(root);
    const bundle = await openDirectorySource(root).load(ids[0]!);
    expect(bundle.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(bundle.notes?.join()).toMatch(/uid missing/);
  });

  describe('hostile paths', () => {
    test('a log that is a symlink pointing out of the export is refused naming the path', async () => {
      const outside = mkdtempSync(path.join(tmpdir(), 'strata-outside-'));
      try {
        writeFileSync(path.join(outside, 'secret'), 'secret');
        write('agents/evil/workflow.yaml', playWorkflow('evil'));
        mkdirSync(path.join(root, 'agents/evil/logs/evil-1'), { recursive: true });
        symlinkSync(path.join(outside, 'secret'), path.join(root, 'agents/evil/logs/evil-1/main.log'));
        const source = openDirectorySource(root);
        const err = await source.load({ uid: 'uid-evil', namespace: 'agents', name: 'evil' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InputError);
        expect((err as InputError).describe()).toContain('agents/evil/logs/evil-1/main.log');
        expect((err as InputError).message).toMatch(/escapes the export directory/);
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });

    test('relative symlinks with .. that climb out are refused; ones that stay inside are followed', async () => {
      write('agents/ok/workflow.yaml', playWorkflow('ok'));
      write('shared/main.log', 'shared log\n');
      mkdirSync(path.join(root, 'agents/ok/logs/ok-1'), { recursive: true });
      symlinkSync('../../../../shared/main.log', path.join(root, 'agents/ok/logs/ok-1/main.log'));
      mkdirSync(path.join(root, 'agents/ok/logs/ok-2'), { recursive: true });
      symlinkSync('../../../../../../../../etc/hostname', path.join(root, 'agents/ok/logs/ok-2/main.log'));
      const source = openDirectorySource(root);
      const err = await source.load({ uid: 'uid-ok', namespace: 'agents', name: 'ok' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).describe()).toContain('agents/ok/logs/ok-2/main.log');

      rmSync(path.join(root, 'agents/ok/logs/ok-2'), { recursive: true });
      const bundle = await openDirectorySource(root).load({ uid: 'uid-ok', namespace: 'agents', name: 'ok' });
      const log = bundle.entries.find((e) => e.path === 'logs/ok-1/main.log')!;
      expect(await text(await log.open())).toBe('shared log\n');
    });

    test('a namespace directory symlinked out of the export is a problem, not a source of workflows', async () => {
      const outside = mkdtempSync(path.join(tmpdir(), 'strata-outside-'));
      try {
        mkdirSync(path.join(outside, 'w'));
        writeFileSync(path.join(outside, 'w/workflow.yaml'), playWorkflow('w'));
        symlinkSync(outside, path.join(root, 'elsewhere'));
        const { ids, problems } = await listAll(root);
        expect(ids).toEqual([]);
        expect(problems[0]!.where).toBe(path.join(root, 'elsewhere'));
        expect(problems[0]!.message).toMatch(/escapes the export directory/);
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });

    test('a dangling symlink is a missing entry, not a crash', async () => {
      write('agents/d/workflow.yaml', playWorkflow('d'));
      write('agents/d/logs/d-2/main.log', 'ok\n');
      mkdirSync(path.join(root, 'agents/d/logs/d-1'), { recursive: true });
      symlinkSync(path.join(root, 'gone.log'), path.join(root, 'agents/d/logs/d-1/main.log'));
      const bundle = await openDirectorySource(root).load({ uid: 'uid-d', namespace: 'agents', name: 'd' });
      expect(bundle.missing).toContainEqual({
        path: 'logs/d-1/main.log',
        kind: 'log',
        nodeId: 'd-1',
        reason: 'symlink whose target does not exist',
      });
      expect(bundle.missing.filter((m) => m.path === 'logs/d-1/main.log')).toHaveLength(1);
    });

    test('the data directory of a top-level file’s workflow symlinked out of the export refuses that workflow', async () => {
      const outside = mkdtempSync(path.join(tmpdir(), 'strata-outside-'));
      try {
        write('all.yaml', playWorkflow('t') + '---\n' + playWorkflow('u'));
        mkdirSync(path.join(root, 'agents'));
        symlinkSync(outside, path.join(root, 'agents/t'));
        const { ids, problems } = await listAll(root);
        expect(ids.map((i) => i.name)).toEqual(['u']);
        expect(problems).toHaveLength(1);
        expect(problems[0]!.where).toBe(path.join(root, 'agents/t'));
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });

    test('a node id that would climb out of the workflow directory is refused', async () => {
      write('agents/x/workflow.yaml', playWorkflow('x').replace('x-1:\n      id: x-1', 'x-1:\n      id: ../../x'));
      const err = await openDirectorySource(root)
        .load({ uid: 'uid-x', namespace: 'agents', name: 'x' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).message).toMatch(/node id "\.\.\/\.\.\/x" is not a safe path segment/);
    });
  });
});

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const argoDir = path.join(path.resolve(repoRoot, '../shared'), 'argo/workflows');
const haveShared = existsSync(argoDir);
describe.skipIf(!haveShared)('the real Argo workflows as a directory export', () => {
  if (!haveShared) console.warn(`skipping: ${argoDir} is absent (needs the shared fixtures next to the repo)`);
  test('every file lists and loads; the workflow entry is the file byte for byte; pod logs are missing', async () => {
    const { ids, problems } = await listAll(argoDir);
    expect(problems).toEqual([]);
    const files = readdirSync(argoDir).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(ids).toHaveLength(files.length);
    const source = openDirectorySource(argoDir);
    let pods = 0;
    for (const id of ids) {
      const bundle = await source.load(id);
      expect(bundle.entries).toHaveLength(1);
      const original = files.map((f) => readFileSync(path.join(argoDir, f), 'utf8'));
      expect(original).toContain(await text(await bundle.entries[0]!.open()));
      pods += bundle.missing.filter((m) => m.kind === 'log').length;
    }
    expect(pods).toBeGreaterThan(10);
  });
});
