// Parsing Argo Workflow objects: the real workflows from Argo's tests, Lists, JSON, malformed input and pod names.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { expectedLogKey, extractNodes, fnv32a, podName } from '../../lib/sources/argo-nodes.ts';
import { deriveUid } from '../../lib/bundle/identity.ts';
import { parseWorkflowText } from '../../lib/sources/argo-workflow.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const argoDir = path.resolve(repoRoot, '../shared/argo/workflows');
const haveShared = existsSync(argoDir);

const minimal = (name: string, extra = '') => `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: ${name}
  namespace: agents
  uid: uid-${name}
${extra}`;

describe.skipIf(!haveShared)('real Argo workflows in ../shared/argo/workflows', () => {
  if (!haveShared) console.warn(`skipping: ${argoDir} is absent (needs the shared fixtures next to the repo)`);
  const files = haveShared ? readdirSync(argoDir).filter((f) => /\.(ya?ml|json)$/.test(f)) : [];

  test.each(files)('%s parses into one workflow with nodes', (file) => {
    const result = parseWorkflowText(readFileSync(path.join(argoDir, file), 'utf8'), file);
    expect(result.problems).toEqual([]);
    expect(result.workflows).toHaveLength(1);
    const wf = result.workflows[0]!;
    expect(wf.identity.name).toMatch(/\S/);
    expect(wf.identity.uid).toMatch(/\S/);
    const nodes = extractNodes(wf.workflow);
    expect(nodes.length).toBeGreaterThan(0);
    for (const n of nodes) expect(n.id).toMatch(/\S/);
  });

  test('pod names and log keys derived from status match every main-logs key Argo recorded', () => {
    let checked = 0;
    for (const file of files) {
      for (const wf of parseWorkflowText(readFileSync(path.join(argoDir, file), 'utf8'), file).workflows) {
        for (const node of extractNodes(wf.workflow)) {
          if (node.type !== 'Pod' || !node.mainLogs?.s3Key) continue; // Retry/DAG nodes repeat a child's outputs
          expect(expectedLogKey(wf.workflow, node), `${file} node ${node.id}`).toBe(node.mainLogs.s3Key);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  test('output artifacts carry their s3 keys', () => {
    const file = 'operator_test__marksWFSucceeded.yaml';
    const wf = parseWorkflowText(readFileSync(path.join(argoDir, file), 'utf8'), file).workflows[0]!;
    const node = extractNodes(wf.workflow).find((n) => n.displayName === 'generate-tar')!;
    expect(node.type).toBe('Pod');
    expect(node.podName).toBe('archive-strategies-4br4g-generate-tar-2183706504');
    expect(node.outputArtifacts.map((a) => [a.name, a.s3Key])).toEqual([
      ['file-tar', 'archive-strategies-4br4g/archive-strategies-4br4g-generate-tar-2183706504/file-tar.tgz'],
    ]);
    expect(node.archiveLogs).toBe(true);
  });
});

describe('parseWorkflowText', () => {
  test('a kubectl List yields each item with its line', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: argoproj.io/v1alpha1
  kind: Workflow
  metadata: {name: a, namespace: ns, uid: u-a}
- apiVersion: argoproj.io/v1alpha1
  kind: Workflow
  metadata: {name: b, namespace: ns, uid: u-b}
`;
    const r = parseWorkflowText(text, 'list.yaml');
    expect(r.problems).toEqual([]);
    expect(r.workflows.map((w) => [w.identity.name, w.line])).toEqual([
      ['a', 4],
      ['b', 7],
    ]);
  });

  test('a WorkflowList (JSON) fills in apiVersion/kind its items omit', () => {
    const text = JSON.stringify({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'WorkflowList',
      items: [{ metadata: { name: 'x', namespace: 'n', uid: 'u' } }],
    });
    const r = parseWorkflowText(text, 'wfs.json');
    expect(r.problems).toEqual([]);
    expect(r.workflows[0]!.workflow.kind).toBe('Workflow');
    expect(r.workflows[0]!.notes.join()).toMatch(/WorkflowList/);
  });

  test('multi-document YAML: a malformed document is a file:line problem, the others still parse', () => {
    const text = [minimal('first'), 'metadata:\n  name: [unclosed\n  uid: x\n', minimal('third')].join('---\n');
    const r = parseWorkflowText(text, 'batch.yaml');
    expect(r.workflows.map((w) => w.identity.name)).toEqual(['first', 'third']);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.where).toMatch(/^batch\.yaml:\d+:\d+$/);
    const line = Number(r.problems[0]!.where.split(':')[1]);
    expect(line).toBeGreaterThanOrEqual(8);
    expect(line).toBeLessThanOrEqual(11);
    expect(r.problems[0]!.message).toMatch(/malformed YAML/);
  });

  test('malformed JSON names the line and column', () => {
    const r = parseWorkflowText('{\n  "apiVersion": "argoproj.io/v1alpha1",\n  "kind": "Workflow",,\n}', 'wf.json');
    expect(r.workflows).toEqual([]);
    expect(r.problems[0]!.where).toBe('wf.json:3:22');
  });

  test('objects that are not Workflows are refused with the reason', () => {
    const r = parseWorkflowText(
      'apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: t}\n---\n' +
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n' +
        'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {namespace: x}\n',
      'mixed.yaml',
    );
    expect(r.workflows).toEqual([]);
    expect(r.problems.map((p) => [p.where, p.message])).toEqual([
      ['mixed.yaml:1', 'kind "WorkflowTemplate" is not Workflow'],
      ['mixed.yaml:5', 'apiVersion "v1" is not argoproj.io/*'],
      ['mixed.yaml:9', 'metadata.name is missing'],
    ]);
  });

  test('a missing uid is derived stably from namespace/name/creationTimestamp and reported', () => {
    const text =
      'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: w\n  namespace: n\n  creationTimestamp: "2026-01-01T00:00:00Z"\n';
    const a = parseWorkflowText(text, 'a.yaml').workflows[0]!;
    const b = parseWorkflowText(text, 'b.yaml').workflows[0]!;
    expect(a.identity.uid).toBe(b.identity.uid);
    expect(a.identity.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.identity.uid).not.toBe(deriveUid('n', 'w', '2026-01-02T00:00:00Z'));
    expect(a.notes.join()).toMatch(/uid missing; derived/);
  });
});

describe('pod names', () => {
  test('fnv32a matches Go hash/fnv New32a', () => {
    expect(fnv32a('hello')).toBe(1335831723);
    expect(fnv32a('world')).toBe(933488787);
  });

  test('v2 is <workflow>-<template>-<fnv32a(node name)>, v1 the node id, the root pod the workflow name', () => {
    expect(podName('wf', 'wf.step', 'tpl', 'wf-123', 'v2')).toBe(`wf-tpl-${fnv32a('wf.step')}`);
    expect(podName('wf', 'wf.step', 'tpl', 'wf-123', 'v1')).toBe('wf-123');
    expect(podName('wf', 'wf', 'tpl', 'wf', 'v2')).toBe('wf');
    expect(podName('wf', 'wf.x.inline', 'tpl', 'wf-1', 'v2')).toBe(`wf-${fnv32a('wf.x.inline')}`);
    expect(podName('w', 'w.n', 't'.repeat(300), 'w-1', 'v2')).toHaveLength(242 + 1 + String(fnv32a('w.n')).length);
  });
});
