// Property: in a batch of workflow documents, one malformed document costs exactly that document, nothing else.
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { parseWorkflowText } from '../../lib/sources/argo-workflow.ts';

const k8sName = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/);
const workflow = fc.record({
  name: k8sName,
  namespace: k8sName,
  uid: fc.uuid(),
  labels: fc.dictionary(k8sName, fc.oneof(k8sName, fc.constant('true'), fc.constant('123')), { maxKeys: 3 }),
});
type Wf = { name: string; namespace: string; uid: string; labels: Record<string, string> };
const object = (w: Wf) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Workflow',
  metadata: { name: w.name, namespace: w.namespace, uid: w.uid, labels: w.labels },
  status: { phase: 'Succeeded' },
});
const BROKEN = [
  'metadata:\n  name: [unclosed\n',
  'a: b: c\n',
  '"unterminated\n',
  'key: value\n  bad-indent: x\n- item\n',
];

test.prop([fc.array(workflow, { minLength: 1, maxLength: 8 }), fc.nat(), fc.constantFrom(...BROKEN), fc.boolean()])(
  'multi-document YAML: every good workflow survives a malformed neighbour, which is reported with a line',
  (workflows, at, broken, asList) => {
    const docs = workflows.map((w) =>
      stringify(asList ? { apiVersion: 'v1', kind: 'List', items: [object(w)] } : object(w)),
    );
    const position = at % (docs.length + 1);
    docs.splice(position, 0, broken);
    const result = parseWorkflowText(docs.join('---\n'), 'batch.yaml');
    expect(result.workflows.map((w) => w.identity)).toEqual(
      workflows.map((w) => ({ uid: w.uid, namespace: w.namespace, name: w.name })),
    );
    expect(result.workflows.map((w) => w.workflow)).toEqual(workflows.map(object));
    expect(result.problems).toHaveLength(1);
    const line = Number(/^batch\.yaml:(\d+)/.exec(result.problems[0]!.where)?.[1]);
    const brokenStart = docs.slice(0, position).reduce((n, d) => n + d.split('\n').length, 1);
    expect(line).toBeGreaterThanOrEqual(brokenStart);
    expect(line).toBeLessThanOrEqual(brokenStart + broken.split('\n').length);
  },
);

test.prop([fc.array(workflow, { minLength: 1, maxLength: 8 })])(
  'a JSON WorkflowList yields every item',
  (workflows) => {
    const text = JSON.stringify({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'WorkflowList',
      items: workflows.map(object),
    });
    const result = parseWorkflowText(text, 'list.json');
    expect(result.problems).toEqual([]);
    expect(result.workflows.map((w) => w.identity.uid)).toEqual(workflows.map((w) => w.uid));
  },
);
