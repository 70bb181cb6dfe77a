// Builds the Argo Workflow object of one multi-agent play run (Rex → Cleo → Tess via CodeRuns) and its CodeRuns.
import { fnv32a, podName } from '../../lib/sources/argo-nodes.ts';
import type { Random } from './random.ts';
import { AGENTS, MODELS, REPOSITORIES } from './vocabulary.ts';

export interface PodPlan {
  nodeId: string;
  nodeName: string;
  podName: string;
  template: string;
  phase: string;
  /** Output artifacts with their file name in the export (artifacts/<nodeId>/<file>). */
  artifacts: { name: string; file: string; kind: 'status' | 'diff' | 'test-report' }[];
  startedAt: Date;
  finishedAt: Date;
}

export interface AttemptPlan {
  stage: (typeof AGENTS)[number];
  attempt: number;
  phase: 'Succeeded' | 'Failed';
  coderunName: string;
  jobPodName: string;
  /** The pod that waited for the CodeRun; it carries the stage's artifacts. */
  waitPod: PodPlan;
}

export interface PlayPlan {
  namespace: string;
  name: string;
  uid: string;
  taskId: number;
  repo: (typeof REPOSITORIES)[number];
  model: string;
  phase: 'Succeeded' | 'Failed';
  createdAt: Date;
  pods: PodPlan[];
  attempts: AttemptPlan[];
  workflow: Record<string, unknown>;
}

export const NAMESPACE = 'agent-platform';
const ARTIFACT_BUCKET = 'argo-artifacts';

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Plans workflow number `index`: names, nodes, attempts and the Workflow object as `kubectl get wf -o yaml` has it. */
export function planPlayWorkflow(rng: Random, index: number, epoch: Date): PlayPlan {
  const repo = rng.pick(REPOSITORIES);
  const taskId = rng.int(1, 400);
  const model = rng.pick(MODELS);
  const name = `play-task-${taskId}-${rng.suffix(5)}`;
  const uid = rng.uuid();
  const createdAt = new Date(epoch.getTime() + index * 23 * 60_000 + rng.int(0, 600_000));
  const failed = rng.chance(0.12);
  let clock = createdAt.getTime() + rng.int(1_000, 5_000);
  const nodes: Record<string, Record<string, unknown>> = {};
  const pods: PodPlan[] = [];
  const attempts: AttemptPlan[] = [];
  const nodeIdOf = (nodeName: string) => (nodeName === name ? name : `${name}-${fnv32a(nodeName)}`);
  const rootChildren: string[] = [];

  const addPod = (nodeName: string, template: string, phase: string, durationMs: number, parent: string[]): PodPlan => {
    const startedAt = new Date(clock);
    clock += durationMs;
    const finishedAt = new Date(clock);
    clock += rng.int(1_000, 8_000);
    const pod: PodPlan = {
      nodeId: nodeIdOf(nodeName),
      nodeName,
      podName: podName(name, nodeName, template, nodeIdOf(nodeName), 'v2'),
      template,
      phase,
      artifacts: [],
      startedAt,
      finishedAt,
    };
    pods.push(pod);
    parent.push(pod.nodeId);
    return pod;
  };

  let lastPhase: 'Succeeded' | 'Failed' = 'Succeeded';
  for (const stage of AGENTS) {
    if (lastPhase === 'Failed') break;
    const count = rng.chance(0.3) ? rng.int(2, 3) : 1;
    const stageName = `${name}.${stage.stage}-work`;
    const stageChildren: string[] = [];
    rootChildren.push(nodeIdOf(stageName));
    const stageStart = clock;
    for (let a = 0; a < count; a++) {
      const last = a === count - 1;
      const phase: 'Succeeded' | 'Failed' = !last
        ? 'Failed'
        : failed && stage.stage === 'testing'
          ? 'Failed'
          : 'Succeeded';
      const attemptName = count > 1 ? `${stageName}(${a})` : stageName;
      const attemptChildren: string[] = [];
      addPod(
        `${attemptName}[0].create-coderun-resource`,
        'create-coderun-resource',
        'Succeeded',
        rng.int(2_000, 6_000),
        attemptChildren,
      );
      const wait = addPod(
        `${attemptName}[1].wait-coderun-completion`,
        'wait-coderun-completion',
        phase,
        rng.int(10 * 60_000, 90 * 60_000),
        attemptChildren,
      );
      wait.artifacts.push({ name: 'status', file: 'status.json', kind: 'status' });
      if (stage.stage === 'implementation') wait.artifacts.push({ name: 'diff', file: 'diff.patch', kind: 'diff' });
      if (stage.stage === 'testing')
        wait.artifacts.push({ name: 'test-report', file: 'test-report.xml', kind: 'test-report' });
      const coderunName = `coderun-t${taskId}-${repo.service}-${rng.suffix(5)}`;
      attempts.push({
        stage,
        attempt: a + 1,
        phase,
        coderunName,
        jobPodName: `${coderunName}-job-${rng.suffix(5)}`,
        waitPod: wait,
      });
      if (count > 1) {
        nodes[nodeIdOf(attemptName)] = {
          id: nodeIdOf(attemptName),
          name: attemptName,
          displayName: `${stage.stage}-work(${a})`,
          type: 'Steps',
          templateName: 'agent-coderun',
          phase,
          children: attemptChildren,
          boundaryID: name,
        };
        stageChildren.push(nodeIdOf(attemptName));
      } else {
        stageChildren.push(...attemptChildren);
      }
      lastPhase = phase;
    }
    nodes[nodeIdOf(stageName)] = {
      id: nodeIdOf(stageName),
      name: stageName,
      displayName: `${stage.stage}-work`,
      type: count > 1 ? 'Retry' : 'Steps',
      templateName: 'agent-coderun',
      phase: lastPhase,
      children: stageChildren,
      boundaryID: name,
      startedAt: iso(new Date(stageStart)),
      finishedAt: iso(new Date(clock)),
    };
    if (stage.stage === 'quality' && lastPhase === 'Succeeded') {
      addPod(`${name}.update-to-waiting-qa`, 'update-workflow-stage', 'Succeeded', rng.int(3_000, 9_000), rootChildren);
      nodes[nodeIdOf(`${name}.wait-ready-for-qa`)] = suspendNode(name, 'wait-ready-for-qa', nodeIdOf);
      rootChildren.push(nodeIdOf(`${name}.wait-ready-for-qa`));
      clock += rng.int(60_000, 3_600_000);
    }
  }
  if (lastPhase === 'Succeeded') {
    addPod(
      `${name}.update-to-waiting-approval`,
      'update-workflow-stage',
      'Succeeded',
      rng.int(3_000, 9_000),
      rootChildren,
    );
    for (const s of ['wait-pr-approved', 'wait-pr-merged']) {
      nodes[nodeIdOf(`${name}.${s}`)] = suspendNode(name, s, nodeIdOf);
      rootChildren.push(nodeIdOf(`${name}.${s}`));
      clock += rng.int(60_000, 7_200_000);
    }
    addPod(`${name}.complete-task`, 'task-completion', 'Succeeded', rng.int(3_000, 20_000), rootChildren);
  }
  const exitChildren: string[] = [];
  addPod(`${name}.onExit`, 'cleanup-handler', 'Succeeded', rng.int(2_000, 8_000), exitChildren);

  for (const pod of pods) {
    const outputs: Record<string, unknown> = {
      artifacts: [
        ...pod.artifacts.map((a) => ({
          name: a.name,
          path: `/workspace/out/${a.file}`,
          archive: { none: {} },
          s3: { key: `${name}/${pod.podName}/${a.file}` },
        })),
        { name: 'main-logs', s3: { key: `${name}/${pod.podName}/main.log` } },
      ],
      exitCode: pod.phase === 'Succeeded' ? '0' : '1',
    };
    nodes[pod.nodeId] = {
      id: pod.nodeId,
      name: pod.nodeName,
      displayName: pod.nodeName.split(/[.\]]/).pop(),
      type: 'Pod',
      templateName: pod.template,
      templateScope: `namespaced/play-workflow-template`,
      phase: pod.phase,
      boundaryID: name,
      hostNodeName: `talos-worker-${rng.int(1, 6)}`,
      startedAt: iso(pod.startedAt),
      finishedAt: iso(pod.finishedAt),
      outputs,
      resourcesDuration: { cpu: rng.int(1, 900), memory: rng.int(10, 9000) },
      progress: '1/1',
    };
  }
  const phase: 'Succeeded' | 'Failed' = lastPhase;
  const finishedAt = new Date(clock);
  nodes[name] = {
    id: name,
    name,
    displayName: name,
    type: 'DAG',
    templateName: 'main',
    templateScope: 'namespaced/play-workflow-template',
    phase,
    children: rootChildren,
    startedAt: iso(createdAt),
    finishedAt: iso(finishedAt),
    progress: `${pods.length}/${pods.length}`,
  };
  const currentStage = phase === 'Failed' ? 'testing' : 'completed';
  const workflow = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      annotations: { 'workflows.argoproj.io/pod-name-format': 'v2' },
      creationTimestamp: iso(createdAt),
      generateName: `play-task-${taskId}-`,
      generation: rng.int(20, 90),
      labels: {
        'workflow-type': 'play-orchestration',
        'task-id': String(taskId),
        repository: repo.slug.replace('/', '-'),
        'current-stage': currentStage,
        'workflows.argoproj.io/completed': 'true',
        'workflows.argoproj.io/controller-instanceid': 'default',
        'workflows.argoproj.io/phase': phase,
        'workflows.argoproj.io/workflow-template': 'play-workflow-template',
      },
      name,
      namespace: NAMESPACE,
      resourceVersion: String(1_000_000 + index * 97 + rng.int(0, 90)),
      uid,
    },
    spec: {
      arguments: {
        parameters: [
          { name: 'implementation-agent', value: '5DLabs-Rex' },
          { name: 'quality-agent', value: '5DLabs-Cleo' },
          { name: 'testing-agent', value: '5DLabs-Tess' },
          { name: 'task-id', value: String(taskId) },
          { name: 'repository', value: repo.slug },
          { name: 'service', value: repo.service },
          { name: 'model', value: model },
        ],
      },
      workflowTemplateRef: { name: 'play-workflow-template' },
      serviceAccountName: 'argo-workflow',
      activeDeadlineSeconds: 1209600,
      onExit: 'cleanup-handler',
    },
    status: {
      artifactRepositoryRef: {
        artifactRepository: {
          archiveLogs: true,
          s3: { bucket: ARTIFACT_BUCKET, endpoint: 'minio.minio:9000', insecure: true },
        },
        configMap: 'artifact-repositories',
        key: 'default-v1',
        namespace: NAMESPACE,
      },
      phase,
      startedAt: iso(createdAt),
      finishedAt: iso(finishedAt),
      progress: `${pods.length}/${pods.length}`,
      nodes,
      conditions: [
        { type: 'PodRunning', status: 'False' },
        { type: 'Completed', status: 'True' },
      ],
      resourcesDuration: { cpu: rng.int(100, 9000), memory: rng.int(1000, 90_000) },
    },
  };
  return { namespace: NAMESPACE, name, uid, taskId, repo, model, phase, createdAt, pods, attempts, workflow };
}

function suspendNode(wf: string, display: string, nodeIdOf: (n: string) => string): Record<string, unknown> {
  const nodeName = `${wf}.${display}`;
  return {
    id: nodeIdOf(nodeName),
    name: nodeName,
    displayName: display,
    type: 'Suspend',
    templateName: 'suspend-for-event',
    phase: 'Succeeded',
    boundaryID: wf,
  };
}

/** The CodeRun custom resource an attempt created (agents.platform/v1), with the status the controller wrote. */
export function codeRunObject(plan: PlayPlan, attempt: AttemptPlan, rng: Random): Record<string, unknown> {
  const pr = 100 + (plan.taskId % 900);
  return {
    apiVersion: 'agents.platform/v1',
    kind: 'CodeRun',
    metadata: {
      name: attempt.coderunName,
      namespace: plan.namespace,
      uid: rng.uuid(),
      creationTimestamp: iso(attempt.waitPod.startedAt),
      labels: {
        'workflow-name': plan.name,
        'task-id': String(plan.taskId),
        service: plan.repo.service,
        'github-app': attempt.stage.app,
      },
      ownerReferences: [
        { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', name: plan.name, uid: plan.uid, controller: true },
      ],
    },
    spec: {
      taskId: plan.taskId,
      service: plan.repo.service,
      repositoryUrl: plan.repo.slug,
      docsRepositoryUrl: '5dlabs/agent-docs',
      docsProjectDirectory: 'projects/play',
      workingDirectory: '.',
      githubApp: attempt.stage.app,
      model: plan.model,
      continueSession: attempt.attempt > 1,
      overwriteMemory: false,
      docsBranch: 'main',
      contextVersion: attempt.attempt,
    },
    status: {
      phase: attempt.phase,
      jobName: attempt.jobPodName.replace(/-[a-z0-9]{5}$/, ''),
      pullRequestUrl: `https://github.com/${plan.repo.slug}/pull/${pr}`,
      retryCount: attempt.attempt - 1,
      lastUpdate: iso(attempt.waitPod.finishedAt),
      conditions: [
        {
          type: 'Complete',
          status: attempt.phase === 'Succeeded' ? 'True' : 'False',
          lastTransitionTime: iso(attempt.waitPod.finishedAt),
        },
      ],
    },
  };
}
