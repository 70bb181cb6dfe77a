// Builders for policy tests: policy YAML from rule objects, workflows from a few fields.
import { stringify } from 'yaml';
import { loadPolicySet, type PolicySet } from '../../lib/policy/index.ts';

export function policyYaml(rules: Record<string, unknown>[], defaults?: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'strata.dev/v1alpha1',
    kind: 'RetentionPolicy',
    metadata: { name: 'test' },
    spec: { ...(defaults ? { defaults } : {}), rules },
  });
}

export function policySet(rules: Record<string, unknown>[], defaults?: Record<string, unknown>): PolicySet {
  const { policySet: set, problems } = loadPolicySet([{ name: 'test.yaml', text: policyYaml(rules, defaults) }]);
  if (!set.valid) throw new Error(problems.map((p) => p.message).join('; '));
  return set;
}

export function workflow(opts: {
  uid?: string;
  phase?: string;
  finishedAt?: string;
  labels?: Record<string, string>;
  namespace?: string;
}): Record<string, unknown> {
  const finishedAt = opts.finishedAt ?? '2026-01-01T00:00:00Z';
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      name: opts.uid ?? 'wf',
      uid: opts.uid ?? 'wf',
      namespace: opts.namespace ?? 'argo',
      labels: opts.labels ?? {},
    },
    status: {
      phase: opts.phase ?? 'Succeeded',
      startedAt: new Date(new Date(finishedAt).getTime() - 3600_000).toISOString(),
      finishedAt,
    },
  };
}
