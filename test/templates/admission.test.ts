// What Strata's own CronWorkflows and event binding submit passes Strata's own admission policy
// (templates/base/admission-policies.yaml), evaluated here with its real CEL. The real API server denied
// `strata-tiering` and `strata-verify` when they carried their templates inline (found by the e2e suite).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { evaluate } from '@marcbachmann/cel-js';
import { parseAllDocuments } from 'yaml';
import { describe, expect, test } from 'vitest';

const base = resolve(import.meta.dirname, '../../templates/base');

interface Policy {
  spec: {
    variables: { name: string; expression: string }[];
    validations: { expression: string; message?: string; messageExpression?: string }[];
  };
}

const docs = (file: string) =>
  parseAllDocuments(readFileSync(join(base, file), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
const policy = docs('admission-policies.yaml').find((d) => d.kind === 'ValidatingAdmissionPolicy') as unknown as Policy;

/**
 * cel-js rejects has() on a field of an indexed element (`has(list[0].field)`), which Kubernetes' cel-go accepts;
 * on the maps a manifest decodes to, `'field' in list[0]` means the same.
 */
const portable = (expression: string) => expression.replace(/has\(([\w.]+)\[(\d+)\]\.(\w+)\)/g, "('$3' in $1[$2])");

/** The failed validations' messages for creating a Workflow with this spec, as `username` (empty: admitted). */
function denials(spec: object, username: string): string[] {
  const object = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { namespace: 'argo' }, spec };
  const ctx: Record<string, unknown> = {
    object,
    oldObject: null,
    request: { operation: 'CREATE', namespace: 'argo', userInfo: { username } },
  };
  const variables: Record<string, unknown> = {};
  for (const v of policy.spec.variables) variables[v.name] = evaluate(portable(v.expression), { ...ctx, variables });
  return policy.spec.validations
    .filter((v) => evaluate(portable(v.expression), { ...ctx, variables }) !== true)
    .map((v) => v.message ?? v.messageExpression ?? v.expression);
}

/** The controller creates a CronWorkflow's Workflows with its own account. */
const CONTROLLER = 'system:serviceaccount:argo:argo-workflow-controller';

describe("Strata's own submissions pass Strata's admission policy", () => {
  const crons = ['cronworkflow-sweep.yaml', 'cronworkflow-tiering.yaml', 'cronworkflow-verify.yaml'].map(
    (f) => [f, docs(f)[0]!] as const,
  );

  test.each(crons)('%s', (_file, cron) => {
    const spec = (cron.spec as { workflowSpec: object }).workflowSpec;
    expect(denials(spec, CONTROLLER)).toEqual([]);
  });

  test('the event binding submits a reference with arguments only', () => {
    const binding = docs('workfloweventbinding-archive-now.yaml')[0]!;
    const submit = (binding.spec as { submit: { workflowTemplateRef: object; arguments?: object } }).submit;
    expect(
      denials({ workflowTemplateRef: submit.workflowTemplateRef, arguments: submit.arguments }, CONTROLLER),
    ).toEqual([]);
  });

  test('the check can fail: inline templates run as strata-operator are denied', () => {
    const inline = { entrypoint: 'gc', serviceAccountName: 'strata-operator', templates: [{ name: 'gc' }] };
    expect(denials(inline, CONTROLLER).join('\n')).toMatch(/only Strata's own WorkflowTemplates/);
  });
});

describe('the unattended restore (strata-verify drill) has its own permission', () => {
  // No person asks for the drill's restore, so `strata restore` checks the account itself (SelfSubjectAccessReview):
  // the real API server refused it when the drill ran as strata-operator, which holds no strata.dev permission.
  const all = ['rbac.yaml', 'roles-people.yaml'].flatMap(docs);
  const verify = docs('workflowtemplate-verify.yaml')[0]!;
  const account = (verify.spec as { serviceAccountName: string }).serviceAccountName;

  // Bound in each tenant namespace (templates/tenant), or in every one (components/cluster-wide).
  const bindingFiles = ['tenant/rolebindings.yaml', 'components/cluster-wide/clusterrolebindings.yaml'];
  test.each(bindingFiles)('its account is bound (%s) to a role that may create restores.strata.dev', (file) => {
    const bindings = parseAllDocuments(readFileSync(join(base, '..', file), 'utf8'))
      .map((d) => d.toJS() as Record<string, unknown>)
      .filter((d) =>
        (d.subjects as { kind: string; name: string }[]).some((s) => s.kind === 'ServiceAccount' && s.name === account),
      );
    expect(bindings.length).toBeGreaterThan(0);
    const roles = new Set(bindings.map((b) => (b.roleRef as { name: string }).name));
    const rules = all
      .filter((d) => d.kind === 'ClusterRole' && roles.has((d.metadata as { name: string }).name))
      .flatMap((r) => r.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]);
    expect(
      rules.some(
        (r) => r.apiGroups.includes('strata.dev') && r.resources.includes('restores') && r.verbs.includes('create'),
      ),
    ).toBe(true);
  });

  test('and it is not an account that acts for requesters', () => {
    expect(account).not.toBe('strata-operator');
  });
});
