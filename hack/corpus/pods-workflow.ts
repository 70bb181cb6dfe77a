// The `pods` profile's workflows: CI, release, ETL and training pipelines of many teams, ~14 pods each, as Argo
// records them (a DAG of Pod nodes with archived main logs).
import { fnv32a, podName } from '../../lib/sources/argo-nodes.ts';
import type { Random } from './random.ts';

/** How an application writes the timestamp and level of each line. */
export type Dialect = 'iso' | 'json' | 'pino' | 'logfmt' | 'python' | 'klog' | 'golog';
/** Which family of repeated blocks (install output, stack traces) a step prints. */
export type Ecosystem = 'node' | 'python' | 'go' | 'java' | 'kube';

export interface StepKind {
  template: string;
  dialect: Dialect;
  ecosystem: Ecosystem;
  /** How many pods of this step run in parallel (shards), at least 1. */
  shards: number;
}

export interface PipelineKind {
  name: string;
  steps: StepKind[];
}

const step = (template: string, dialect: Dialect, ecosystem: Ecosystem, shards = 1): StepKind => ({
  template,
  dialect,
  ecosystem,
  shards,
});

/** The WorkflowTemplates the profile's workflows come from (14 pods each, shards included). */
export const PIPELINES: PipelineKind[] = [
  {
    name: 'node-ci',
    steps: [
      step('checkout', 'iso', 'node'),
      step('npm-install', 'iso', 'node'),
      step('lint', 'json', 'node'),
      step('typecheck', 'iso', 'node'),
      step('unit-test', 'json', 'node', 3),
      step('build', 'iso', 'node'),
      step('docker-build', 'iso', 'node'),
      step('push-image', 'iso', 'go'),
      step('integration-test', 'json', 'node', 2),
      step('publish-report', 'iso', 'node'),
      step('notify', 'pino', 'node'),
    ],
  },
  {
    name: 'go-release',
    steps: [
      step('checkout', 'iso', 'go'),
      step('go-mod-download', 'golog', 'go'),
      step('go-vet', 'iso', 'go'),
      step('go-test', 'logfmt', 'go', 3),
      step('build-binaries', 'logfmt', 'go', 2),
      step('helm-lint', 'logfmt', 'kube'),
      step('deploy-staging', 'klog', 'kube'),
      step('smoke-test', 'logfmt', 'go'),
      step('canary-analysis', 'logfmt', 'go'),
      step('promote', 'klog', 'kube'),
      step('tag-release', 'iso', 'go'),
    ],
  },
  {
    name: 'orders-etl',
    steps: [
      step('extract-orders', 'python', 'python', 2),
      step('extract-customers', 'python', 'python'),
      step('validate-schema', 'python', 'python'),
      step('transform', 'python', 'python', 3),
      step('dedupe', 'python', 'python'),
      step('enrich-geo', 'json', 'python'),
      step('load-warehouse', 'python', 'java'),
      step('dbt-run', 'iso', 'python'),
      step('dbt-test', 'iso', 'python'),
      step('refresh-dashboards', 'pino', 'node'),
    ],
  },
  {
    name: 'model-training',
    steps: [
      step('fetch-dataset', 'python', 'python'),
      step('pip-install', 'python', 'python'),
      step('preprocess', 'python', 'python', 2),
      step('train-shard', 'python', 'python', 4),
      step('evaluate', 'python', 'python'),
      step('register-model', 'json', 'python'),
      step('build-serving-image', 'iso', 'go'),
      step('deploy-canary', 'klog', 'kube'),
      step('shadow-traffic', 'logfmt', 'go'),
      step('report', 'pino', 'node'),
    ],
  },
  {
    name: 'java-service-ci',
    steps: [
      step('checkout', 'iso', 'java'),
      step('maven-resolve', 'iso', 'java'),
      step('compile', 'iso', 'java'),
      step('unit-test', 'iso', 'java', 3),
      step('integration-test', 'json', 'java', 2),
      step('sonar-scan', 'iso', 'java'),
      step('jib-image', 'iso', 'java'),
      step('deploy-dev', 'klog', 'kube'),
      step('contract-test', 'json', 'java'),
      step('notify', 'pino', 'node'),
      step('cleanup', 'logfmt', 'kube'),
    ],
  },
  {
    name: 'cluster-maintenance',
    steps: [
      step('drain-check', 'logfmt', 'kube'),
      step('backup-etcd', 'logfmt', 'kube'),
      step('rotate-certs', 'klog', 'kube'),
      step('upgrade-addons', 'logfmt', 'kube', 3),
      step('verify-nodes', 'logfmt', 'kube', 3),
      step('prune-images', 'golog', 'go'),
      step('compact-volumes', 'logfmt', 'go'),
      step('audit-rbac', 'json', 'go'),
      step('report', 'pino', 'node'),
    ],
  },
];

export const TEAM_NAMESPACES = ['payments', 'search', 'data-platform', 'ml-research', 'storefront', 'infra'];
const KIND_NAMESPACES: Record<string, string[]> = {
  'node-ci': ['storefront', 'search', 'payments'],
  'go-release': ['payments', 'infra', 'search'],
  'orders-etl': ['data-platform'],
  'model-training': ['ml-research', 'search'],
  'java-service-ci': ['payments', 'storefront'],
  'cluster-maintenance': ['infra'],
};

export interface PodsPodPlan {
  nodeId: string;
  nodeName: string;
  podName: string;
  step: StepKind;
  shard: number;
  phase: 'Succeeded' | 'Failed';
  startedAt: Date;
  finishedAt: Date;
}

export interface PodsPlan {
  namespace: string;
  name: string;
  uid: string;
  kind: PipelineKind;
  /** Index of the workflow this one is a retry of (its logs repeat that run's), if any. */
  retryOf?: number;
  pods: PodsPodPlan[];
  workflow: Record<string, unknown>;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Kind and namespace of workflow `index`: a retry takes its original's. */
export function pickPipeline(rng: Random): { kind: PipelineKind; namespace: string } {
  const kind = rng.pick(PIPELINES);
  return { kind, namespace: rng.pick(KIND_NAMESPACES[kind.name]!) };
}

/** Plans one workflow: its pods (one per step shard) and the Workflow object as `kubectl get wf -o yaml` has it. */
export function planPodsWorkflow(
  rng: Random,
  index: number,
  epoch: Date,
  pipeline: { kind: PipelineKind; namespace: string },
  retryOf?: number,
): PodsPlan {
  const { kind, namespace } = pipeline;
  const name = `${kind.name}-${rng.suffix(5)}`;
  const uid = rng.uuid();
  const createdAt = new Date(epoch.getTime() + index * 7 * 60_000 + rng.int(0, 300_000));
  const failedAt = rng.chance(0.1) ? rng.int(Math.floor(kind.steps.length / 2), kind.steps.length - 1) : -1;
  const nodeIdOf = (nodeName: string) => (nodeName === name ? name : `${name}-${fnv32a(nodeName)}`);
  let clock = createdAt.getTime() + rng.int(1_000, 4_000);
  const pods: PodsPodPlan[] = [];
  const nodes: Record<string, Record<string, unknown>> = {};
  let previous: string[] = [];
  for (const [i, s] of kind.steps.entries()) {
    const stepStart = clock;
    let stepEnd = clock;
    const ids: string[] = [];
    for (let shard = 0; shard < s.shards; shard++) {
      const nodeName = s.shards > 1 ? `${name}.${s.template}(${shard})` : `${name}.${s.template}`;
      const startedAt = new Date(stepStart + rng.int(0, 2_000));
      const finishedAt = new Date(startedAt.getTime() + rng.int(20_000, 600_000));
      stepEnd = Math.max(stepEnd, finishedAt.getTime());
      const phase = i === failedAt && shard === 0 ? 'Failed' : 'Succeeded';
      const pod: PodsPodPlan = {
        nodeId: nodeIdOf(nodeName),
        nodeName,
        podName: podName(name, nodeName, s.template, nodeIdOf(nodeName), 'v2'),
        step: s,
        shard,
        phase,
        startedAt,
        finishedAt,
      };
      pods.push(pod);
      ids.push(pod.nodeId);
      nodes[pod.nodeId] = {
        id: pod.nodeId,
        name: nodeName,
        displayName: nodeName.slice(name.length + 1),
        type: 'Pod',
        templateName: s.template,
        templateScope: `namespaced/${kind.name}`,
        phase,
        boundaryID: name,
        children: [],
        hostNodeName: `ip-10-0-${rng.int(0, 63)}-${rng.int(1, 254)}.ec2.internal`,
        startedAt: iso(startedAt),
        finishedAt: iso(finishedAt),
        outputs: {
          artifacts: [{ name: 'main-logs', s3: { key: `${name}/${pod.podName}/main.log` } }],
          exitCode: phase === 'Succeeded' ? '0' : '1',
        },
        resourcesDuration: { cpu: rng.int(1, 600), memory: rng.int(10, 6000) },
        progress: '1/1',
      };
    }
    for (const p of previous) (nodes[p]!.children as string[]).push(...ids);
    previous = ids;
    clock = stepEnd + rng.int(1_000, 5_000);
    if (i === failedAt) break; // the steps after a failed one never run
  }
  const ran = pods;
  const phase = ran.some((p) => p.phase === 'Failed') ? 'Failed' : 'Succeeded';
  const finishedAt = new Date(Math.max(...ran.map((p) => p.finishedAt.getTime())) + rng.int(500, 3_000));
  nodes[name] = {
    id: name,
    name,
    displayName: name,
    type: 'DAG',
    templateName: 'main',
    templateScope: `namespaced/${kind.name}`,
    phase,
    children: ran.filter((p) => p.step === kind.steps[0]).map((p) => p.nodeId),
    startedAt: iso(createdAt),
    finishedAt: iso(finishedAt),
    progress: `${ran.length}/${ran.length}`,
  };
  const workflow = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      annotations: {
        'workflows.argoproj.io/pod-name-format': 'v2',
        ...(retryOf === undefined ? {} : { 'workflows.argoproj.io/resubmitted-from': `run-${retryOf}` }),
      },
      creationTimestamp: iso(createdAt),
      generateName: `${kind.name}-`,
      labels: {
        team: namespace,
        'workflows.argoproj.io/completed': 'true',
        'workflows.argoproj.io/phase': phase,
        'workflows.argoproj.io/workflow-template': kind.name,
      },
      name,
      namespace,
      resourceVersion: String(5_000_000 + index * 131 + rng.int(0, 120)),
      uid,
    },
    spec: {
      arguments: { parameters: [{ name: 'revision', value: rng.hex(40) }] },
      workflowTemplateRef: { name: kind.name },
      serviceAccountName: 'argo-workflow',
    },
    status: {
      artifactRepositoryRef: {
        artifactRepository: { archiveLogs: true, s3: { bucket: 'argo-artifacts', endpoint: 's3.amazonaws.com' } },
        configMap: 'artifact-repositories',
        key: 'default-v1',
        namespace,
      },
      phase,
      startedAt: iso(createdAt),
      finishedAt: iso(finishedAt),
      progress: `${ran.length}/${ran.length}`,
      nodes,
    },
  };
  return { namespace, name, uid, kind, retryOf, pods: ran, workflow };
}
