// The real workflows the scenarios run, the RBAC Argo's executor needs for them, and the e2e retention policy.

/** What Argo's quick-start grants the executor of workflows that run as `default`: write its task results. */
export const EXECUTOR_RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: e2e-executor}
rules:
  - apiGroups: [argoproj.io]
    resources: [workflowtaskresults]
    verbs: [create, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: e2e-executor}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: e2e-executor}
subjects: [{kind: ServiceAccount, name: default}]
`;

/**
 * e2e workflows are archived at once (the default policies defer fresh ones by archiveAfter); those labelled
 * strata-e2e=delete are deleted from the cluster after their archive verifies, strata-e2e=keep stay, labelled.
 */
export const E2E_POLICY = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: strata-policy-e2e
  labels: {strata.dev/policy: "true"}
data:
  e2e.yaml: |
    apiVersion: strata.dev/v1alpha1
    kind: RetentionPolicy
    metadata: {name: e2e}
    spec:
      rules:
        - name: e2e-delete
          description: e2e workflows that are deleted once archived.
          priority: 1000
          match: labels[?"strata-e2e"].orValue("") == "delete"
          immediate: true
          deleteSource: true
        - name: e2e-keep
          description: e2e workflows that stay in the cluster, labelled archived.
          priority: 1000
          match: labels[?"strata-e2e"].orValue("") == "keep"
          immediate: true
          deleteSource: false
`;

/** How the e2e policies treat a workflow: by its `strata-e2e` label. */
export type Disposition = 'delete' | 'keep' | 'later-5s' | 'later-40s';

const header = (name: string, run: string, disposition: Disposition) => `
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: e2e-${name}-
  labels: {strata-e2e: ${disposition}, strata-e2e-run: ${run}}
`;

/** A step that prints three lines and reports what it said as an output parameter. */
const say = `
    - name: say
      inputs: {parameters: [{name: what}]}
      outputs: {parameters: [{name: said, valueFrom: {path: /tmp/said}}]}
      container:
        image: busybox:1.36
        command: [sh, -c]
        args: ["for i in 1 2 3; do echo '{{inputs.parameters.what}}' line $i; done; echo '{{inputs.parameters.what}}' > /tmp/said"]
`;

/** A run label of its own, so a cluster reused across runs (STRATA_E2E_REUSE) never mixes runs up. */
export function runTag(scenario: string): string {
  return `${scenario}-${Date.now().toString(36)}`;
}

/**
 * Workflows that strata watch must hold back: due 5 s or 40 s after they finish (issue 19's delay queue), kept in the
 * cluster once archived. Apply with E2E_POLICY before starting the watch (it reads policies at start, then every 30 s).
 */
export const E2E_LATER_POLICY = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: strata-policy-e2e-later
  labels: {strata.dev/policy: "true"}
data:
  e2e-later.yaml: |
    apiVersion: strata.dev/v1alpha1
    kind: RetentionPolicy
    metadata: {name: e2e-later}
    spec:
      rules:
        - name: e2e-later-5s
          description: e2e workflows due five seconds after they finish.
          priority: 1000
          match: labels[?"strata-e2e"].orValue("") == "later-5s"
          archiveAfter: 5s
          deleteSource: false
        - name: e2e-later-40s
          description: e2e workflows due forty seconds after they finish (a watch restart fits before).
          priority: 1000
          match: labels[?"strata-e2e"].orValue("") == "later-40s"
          archiveAfter: 40s
          deleteSource: false
`;

/** A workflow that prints a line and succeeds at once, with the given disposition. */
export function quickWorkflow(run: string, disposition: Disposition): string {
  return (
    header('quick', run, disposition) +
    `spec:
  entrypoint: main
  templates:
    - name: main
      container:
        image: busybox:1.36
        command: [sh, -c]
        args: ["echo done"]
`
  );
}

/** The scenario workflows by key, each labelled with the run so the scenario can find its own. */
export function workflows(run: string): Record<string, string> {
  return {
    dag:
      header('dag', run, 'delete') +
      `spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: plan, template: say, arguments: {parameters: [{name: what, value: plan}]}}
          - {name: build, template: say, depends: plan, arguments: {parameters: [{name: what, value: build}]}}
          - {name: test, template: say, depends: plan, arguments: {parameters: [{name: what, value: test}]}}
          - name: report
            template: say
            depends: build && test
            arguments:
              parameters:
                - {name: what, value: "report after {{tasks.build.outputs.parameters.said}} and {{tasks.test.outputs.parameters.said}}"}
${say}`,
    retries:
      header('retries', run, 'keep') +
      `spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: first, template: say, arguments: {parameters: [{name: what, value: first}]}}
        - - {name: flaky, template: flaky}
    - name: flaky
      retryStrategy: {limit: "2", retryPolicy: Always}
      container:
        image: busybox:1.36
        command: [sh, -c]
        args: ["echo attempt {{retries}}; [ {{retries}} -ge 1 ]"]
${say}`,
    failed:
      header('failed', run, 'keep') +
      `spec:
  entrypoint: main
  templates:
    - name: main
      container:
        image: busybox:1.36
        command: [sh, -c]
        args: ["echo about to fail; echo 'error: the widget broke' >&2; exit 3"]
`,
    artifacts:
      header('artifacts', run, 'delete') +
      `spec:
  entrypoint: main
  # Its pods go as soon as they finish: its logs survive only in the artifact repository (archiveLogs).
  podGC: {strategy: OnPodCompletion}
  templates:
    - name: main
      steps:
        - - {name: produce, template: produce}
        - - name: consume
            template: consume
            arguments: {artifacts: [{name: report, from: "{{steps.produce.outputs.artifacts.report}}"}]}
    - name: produce
      outputs: {artifacts: [{name: report, path: /tmp/report}]}
      container:
        image: busybox:1.36
        command: [sh, -c]
        args: ["mkdir -p /tmp/report && echo 'report line 1' > /tmp/report/a.txt && echo produced"]
    - name: consume
      inputs: {artifacts: [{name: report, path: /tmp/in}]}
      outputs: {parameters: [{name: seen, valueFrom: {path: /tmp/seen}}]}
      container:
        image: busybox:1.36
        command: [sh, -c]
        args: ["cat /tmp/in/a.txt | tee /tmp/seen"]
`,
  };
}
