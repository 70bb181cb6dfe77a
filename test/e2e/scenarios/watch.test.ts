// `strata watch`, as the dev overlay's strata-watch Deployment runs it, archives and finalizes a workflow as soon as
// it completes under the real controller; one that is not due yet is queued and archived when it becomes due, with
// no further event, also by a watch restarted in between (issue 19).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  e2eCluster,
  eventually,
  kubectl,
  kubectlJson,
  strata,
  submitAndWait,
  type Workflow,
} from '../support/cluster.ts';
import { E2E_LATER_POLICY, E2E_POLICY, EXECUTOR_RBAC, quickWorkflow, runTag, workflows } from '../support/workflows.ts';

const cluster = e2eCluster();

interface PodList {
  items: { metadata: { name: string; deletionTimestamp?: string }; status?: { phase?: string } }[];
}

/** When the watch queued a workflow (`not now: ns/name: … (queued for T)`), from its log; undefined if not yet. */
function queuedFor(log: string, ref: string): Date | undefined {
  const line = log.split('\n').find((l) => l.startsWith(`not now: ${ref}:`));
  const at = line?.match(/\(queued for ([^)]+)\)$/)?.[1];
  return at ? new Date(at) : undefined;
}

describe.skipIf(!cluster)('strata watch', () => {
  const c = cluster!;
  const watchPods = () =>
    kubectlJson<PodList>(c, ['-n', c.namespace, 'get', 'pods', '-l', 'app.kubernetes.io/component=watch']);

  const runningWatchPod = () =>
    eventually('a running strata-watch pod', async () =>
      (await watchPods()).items.find((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp),
    );
  const logOf = (pod: string) => kubectl(c, ['-n', c.namespace, 'logs', pod]);
  const archivedLabel = async (name: string) =>
    (await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', name])).metadata.labels?.[
      'strata.dev/archived'
    ];

  // This file's workflows only: the scenarios before it leave finished workflows (their strata-archive runs among
  // them) that the default policies hold for 30 min or more, and a watch of everything would count them pending too.
  const tag = runTag('watch');
  const argsPath = '/spec/template/spec/containers/0/args';
  let shippedArgs: string[];
  const setArgs = (args: string[]) =>
    kubectl(c, [
      '-n',
      c.namespace,
      'patch',
      'deployment',
      'strata-watch',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'replace', path: argsPath, value: args }]),
    ]);

  beforeAll(async () => {
    // The policies first: the watch reads them as it starts.
    await kubectl(c, ['apply', '-n', c.namespace, '-f', '-'], {
      input: [EXECUTOR_RBAC, E2E_POLICY, E2E_LATER_POLICY].join('\n---\n'),
    });
    shippedArgs = JSON.parse(
      await kubectl(c, [
        '-n',
        c.namespace,
        'get',
        'deployment',
        'strata-watch',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].args}',
      ]),
    ) as string[];
    await setArgs([...shippedArgs, `--selector=strata-e2e-run=${tag}`]);
    await kubectl(c, ['-n', c.namespace, 'scale', 'deployment', 'strata-watch', '--replicas=1']);
    await runningWatchPod();
  });

  afterAll(async () => {
    await kubectl(c, ['-n', c.namespace, 'scale', 'deployment', 'strata-watch', '--replicas=0']);
    await eventually('the strata-watch pod to go', async () => ((await watchPods()).items.length ? undefined : true));
    await setArgs(shippedArgs);
  });

  test('a workflow is archived and labelled as soon as it finishes', async () => {
    const wf = await submitAndWait(c, { yaml: workflows(tag).failed! });
    expect(wf.status?.phase).toBe('Failed');
    const labelled = await eventually(
      `${wf.metadata.name} to be labelled strata.dev/archived`,
      async () => {
        const now = await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', wf.metadata.name]);
        return now.metadata.labels?.['strata.dev/archived'] ? now : undefined;
      },
      90,
    );
    const manifest = labelled.metadata.annotations?.['strata.dev/manifest'];
    expect(manifest).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest!.startsWith(labelled.metadata.labels!['strata.dev/archived']!)).toBe(true);
    const restored = await strata(c, ['restore', manifest!, '--path', 'workflow.json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout).metadata.uid).toBe(wf.metadata.uid);
  });

  test('a workflow not due yet is archived when it becomes due, also by a restarted watch', async () => {
    const first = await runningWatchPod();
    const [soon, later] = await Promise.all([
      submitAndWait(c, { yaml: quickWorkflow(tag, 'later-5s') }),
      submitAndWait(c, { yaml: quickWorkflow(tag, 'later-40s') }),
    ]);
    const ref = (wf: Workflow) => `${c.namespace}/${wf.metadata.name}`;

    // Both are held back: archiveAfter has not passed when they finish.
    const [soonDue, laterDue] = await eventually(`${first.metadata.name} to queue both workflows`, async () => {
      const log = await logOf(first.metadata.name);
      const a = queuedFor(log, ref(soon));
      const b = queuedFor(log, ref(later));
      return a && b ? [a, b] : undefined;
    });
    const finishedAt = (wf: Workflow) => new Date((wf as { status?: { finishedAt?: string } }).status!.finishedAt!);
    expect(soonDue.getTime() - finishedAt(soon).getTime()).toBe(5000);
    expect(laterDue.getTime() - finishedAt(later).getTime()).toBe(40_000);

    // The first becomes due and is archived by the same watch, from its queue.
    await eventually(`${soon.metadata.name} to be labelled archived`, () => archivedLabel(soon.metadata.name), 90);
    const firstLog = await logOf(first.metadata.name);
    expect(firstLog).toContain(`archived: ${ref(soon)} → manifest`);
    // Its metrics (issue 19's gauge) count the one still pending, due at its time.
    const port = firstLog.match(/^metrics: GET \/metrics on 127\.0\.0\.1:(\d+)$/m)?.[1];
    expect(port, firstLog).toBeDefined();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    if (Date.now() < laterDue.getTime()) {
      expect(metrics).toMatch(/^strata_watch_pending_workflows 1$/m);
      expect(metrics).toContain(`\nstrata_watch_oldest_due_timestamp_seconds ${laterDue.getTime() / 1000}\n`);
    }
    expect(metrics).toMatch(/^strata_watch_archived_total [1-9]/m);

    // The watch restarts (its pod deleted, the Deployment starts another) while the second is still pending.
    await kubectl(c, ['-n', c.namespace, 'delete', 'pod', first.metadata.name]);
    if (Date.now() < laterDue.getTime()) expect(await archivedLabel(later.metadata.name)).toBeUndefined();
    const second = await runningWatchPod();
    expect(second.metadata.name).not.toBe(first.metadata.name);
    await eventually(`${later.metadata.name} to be labelled archived`, () => archivedLabel(later.metadata.name), 120);
    const log = await logOf(second.metadata.name);
    expect(log).toContain(`archived: ${ref(later)} → manifest`);
    // Listed again before it was due, the restarted watch queued it again for the same time.
    const requeued = queuedFor(log, ref(later));
    if (requeued) expect(requeued.getTime()).toBe(laterDue.getTime());
  });
});
