// Pod status as a kubelet reports it (pure): running, or terminated with each container's exit code and message.
import type { Pod } from './kube-types.ts';
import type { ContainerEnd, PodOutcome } from './pod-run.ts';

interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  ready: boolean;
  restartCount: number;
  started?: boolean;
  state: Record<string, object>;
}

function statusOf(pod: Pod, name: string, state: Record<string, object>, ready = false): ContainerStatus {
  const spec = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === name);
  return {
    name,
    image: spec?.image ?? '',
    imageID: '',
    ready,
    restartCount: 0,
    started: 'running' in state,
    state,
  };
}

function terminated(end: ContainerEnd, startedAt: string, finishedAt: string): Record<string, object> {
  return {
    terminated: {
      exitCode: end.exitCode,
      reason: end.reason,
      ...(end.message ? { message: end.message.slice(0, 4096) } : {}),
      startedAt,
      finishedAt,
    },
  };
}

function conditions(now: string, ready: boolean, reason?: string): object[] {
  const status = ready ? 'True' : 'False';
  return [
    { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    { type: 'Initialized', status: 'True', lastTransitionTime: now },
    { type: 'ContainersReady', status, lastTransitionTime: now, ...(reason ? { reason } : {}) },
    { type: 'Ready', status, lastTransitionTime: now, ...(reason ? { reason } : {}) },
  ];
}

const INIT_DONE = (at: string) => ({ terminated: { exitCode: 0, reason: 'Completed', startedAt: at, finishedAt: at } });

export function runningStatus(pod: Pod, startedAt: string): object {
  return {
    status: {
      phase: 'Running',
      hostIP: '127.0.0.1',
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: startedAt,
      conditions: conditions(startedAt, true),
      initContainerStatuses: (pod.spec.initContainers ?? []).map((c) => statusOf(pod, c.name, INIT_DONE(startedAt))),
      containerStatuses: pod.spec.containers.map((c) => statusOf(pod, c.name, { running: { startedAt } }, true)),
    },
  };
}

export function finishedStatus(pod: Pod, outcome: PodOutcome): object {
  const { startedAt, finishedAt } = outcome;
  const failed = Boolean(outcome.pod) || outcome.main.exitCode !== 0 || outcome.wait.exitCode !== 0;
  return {
    status: {
      phase: failed ? 'Failed' : 'Succeeded',
      ...(outcome.pod ? { reason: outcome.pod.reason, message: outcome.pod.message } : {}),
      hostIP: '127.0.0.1',
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: startedAt,
      conditions: conditions(finishedAt, false, 'PodCompleted'),
      initContainerStatuses: (pod.spec.initContainers ?? []).map((c) => statusOf(pod, c.name, INIT_DONE(startedAt))),
      containerStatuses: pod.spec.containers.map((c) =>
        statusOf(
          pod,
          c.name,
          terminated(
            c.name === 'main' ? outcome.main : c.name === 'wait' ? outcome.wait : outcome.main,
            startedAt,
            finishedAt,
          ),
        ),
      ),
    },
  };
}

/** A pod the node will not run: failed with the reason, before any container starts. */
export function refusedStatus(pod: Pod, message: string, at: string): object {
  return {
    status: {
      phase: 'Failed',
      reason: 'StandinRefused',
      message,
      startTime: at,
      conditions: conditions(at, false, 'PodCompleted'),
      containerStatuses: pod.spec.containers.map((c) =>
        statusOf(pod, c.name, terminated({ exitCode: 1, reason: 'StandinRefused', message }, at, at)),
      ),
    },
  };
}
