// The stand-in's assumptions about templates (docs/e2e.md) hold for every template Strata ships, and are not vacuous.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, test } from 'vitest';
import { templateAssumptionProblems, type WorkflowSpecLike } from '../../../hack/e2e/standin/template-assumptions.ts';

const base = resolve(import.meta.dirname, '../../../templates/base');

function shippedSpecs(): [string, WorkflowSpecLike][] {
  const out: [string, WorkflowSpecLike][] = [];
  for (const file of readdirSync(base).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(base, file), 'utf8'))) {
      const obj = doc.toJS() as { kind?: string; spec?: { workflowSpec?: WorkflowSpecLike } & WorkflowSpecLike };
      if (obj?.kind === 'WorkflowTemplate') out.push([file, obj.spec!]);
      if (obj?.kind === 'CronWorkflow' && obj.spec?.workflowSpec?.templates) out.push([file, obj.spec.workflowSpec]);
    }
  }
  return out;
}

describe('the stand-in runs the shipped templates the way a node would', () => {
  const specs = shippedSpecs();

  test('every WorkflowTemplate and CronWorkflow is found', () => {
    expect(specs.map(([f]) => f)).toEqual(
      expect.arrayContaining([
        'workflowtemplate-archive.yaml',
        'workflowtemplate-restore.yaml',
        'workflowtemplate-legal-hold.yaml',
        'workflowtemplate-emergency-delete.yaml',
        'workflowtemplate-tiering.yaml',
        'workflowtemplate-verify.yaml',
      ]),
    );
  });

  test.each(specs)('%s fits the stand-in', (file, spec) => {
    expect(templateAssumptionProblems(spec, file)).toEqual([]);
  });
});

describe('the assumptions check catches what the stand-in would run differently', () => {
  const good = {
    name: 'step',
    container: {
      image: 'ghcr.io/strata-dev/strata:0.1.0',
      command: ['strata'],
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    },
    outputs: { parameters: [{ name: 'n', valueFrom: { path: '/tmp/outputs/n' } }] },
  };
  const spec = (t: object): WorkflowSpecLike => ({ volumes: [{ name: 'tmp', emptyDir: {} }], templates: [t as never] });

  test('a fitting template has no problems', () => {
    expect(templateAssumptionProblems(spec(good), 'x')).toEqual([]);
  });

  test.each([
    [
      'an output on the image filesystem',
      { ...good, outputs: { parameters: [{ name: 'n', valueFrom: { path: '/out/n' } }] } },
      /on no mounted volume/,
    ],
    ['another image', { ...good, container: { ...good.container, image: 'alpine:3' } }, /not the strata step image/],
    [
      'a command other than strata',
      { ...good, container: { ...good.container, command: ['node'] } },
      /does not start with strata/,
    ],
    ['a sidecar', { ...good, sidecars: [{ name: 's' }] }, /sidecars/],
    ['a resource template', { name: 'r', resource: { action: 'create' } }, /resource templates/],
    [
      'a hostPath volume',
      {
        ...good,
        container: { ...good.container, volumeMounts: [{ name: 'h', mountPath: '/h' }] },
        volumes: [{ name: 'h', hostPath: { path: '/' } }],
      },
      /none of/,
    ],
    [
      'a bash script',
      { name: 's', script: { image: 'strata', command: ['bash'], source: 'true' } },
      /script interpreter/,
    ],
  ])('%s', (_what, template, problem) => {
    expect(templateAssumptionProblems(spec(template), 'x').join('\n')).toMatch(problem);
  });
});
