// The collect step's core: totals over a directory export, a workflow that fails to load does not stop the others.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { collectFromSource } from '../../lib/sources/collect.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-collect-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, content: string) {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), content);
}

const wf = (name: string) => `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: ${name}, namespace: ns, uid: uid-${name}}
status:
  phase: Succeeded
  nodes:
    ${name}-1: {id: ${name}-1, name: ${name}.a, type: Pod, phase: Succeeded, templateName: a}
`;

test('sums entries, bytes and missing entries; a hostile workflow and a malformed file become problems', async () => {
  write('ns/one/workflow.yaml', wf('one'));
  write('ns/one/logs/one-1/main.log', '12345');
  write('ns/two/workflow.yaml', wf('two'));
  write('ns/evil/workflow.yaml', wf('evil'));
  mkdirSync(path.join(root, 'ns/evil/logs/evil-1'), { recursive: true });
  symlinkSync('/etc/hostname', path.join(root, 'ns/evil/logs/evil-1/main.log'));
  write('broken.yaml', 'kind: Workflow\n  metadata: [\n');

  const report = await collectFromSource(openDirectorySource(root));
  expect(report.workflows).toBe(2);
  expect(report.perWorkflow.map((w) => [w.name, w.entries, w.missing])).toEqual([
    ['one', 2, 0],
    ['two', 1, 1],
  ]);
  expect(report.bytes).toBe(Buffer.byteLength(wf('one')) + 5 + Buffer.byteLength(wf('two')));
  expect(report.incomplete).toBe(1);
  expect(report.problems.map((p) => p.where.replace(root + '/', ''))).toEqual([
    expect.stringMatching(/^broken\.yaml:\d+:\d+$/),
    'ns/evil/logs/evil-1/main.log',
  ]);
  expect(report.problems[1]!.message).toMatch(/workflow ns\/evil not collected: path escapes/);

  const only = await collectFromSource(openDirectorySource(root), { workflow: 'ns/two' });
  expect(only.perWorkflow.map((w) => w.uid)).toEqual(['uid-two']);
});
