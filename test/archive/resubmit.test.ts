// workflow.resubmit.yaml is what Argo's own resubmit makes, and passes the controller's rules (test/support/
// argo-controller.ts) for every real Argo workflow: a Workflow the controller would skip is a failed restore.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { archiveBundle, argoNodeId, RESUBMIT_FILE, resubmitWorkflow } from '../../lib/archive/index.ts';
import { InputError } from '../../lib/errors.ts';
import { controllerProblems } from '../support/argo-controller.ts';
import { FakeKubeApi, loadSharedWorkflows, sharedWorkflowsDir } from '../support/fake-kube-api.ts';
import { runCli } from '../support/run-cli.ts';
import { bundleOf, tempDir, tempRepository } from './fixtures.ts';

const dir = sharedWorkflowsDir();
if (!dir)
  console.warn('skipping the real-workflow cases of test/archive/resubmit.test.ts: ../shared/argo/workflows is absent');
const shared = dir ? loadSharedWorkflows(dir) : [];
const byName = (name: string) => structuredClone(shared.find((s) => s.workflow.metadata.name === name)!.workflow);

/** What restore wrote before: the object without status and server-set metadata, nothing else changed. */
function statusStripped(wf: Record<string, unknown>): Record<string, unknown> {
  const { status: _s, ...rest } = wf;
  void _s;
  const metadata = { ...(wf.metadata as Record<string, unknown>) };
  for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation', 'selfLink'])
    delete metadata[f];
  return { ...rest, metadata };
}

describe.skipIf(!dir)('real Argo workflows', () => {
  test.each(shared.map((s) => [s.file, s.workflow] as const))(
    '%s: the resubmit object passes the controller rules',
    (_file, wf) => {
      const out = resubmitWorkflow(wf as unknown as Record<string, unknown>, { manifestId: 'f'.repeat(64) });
      expect(controllerProblems(out)).toEqual([]);
      expect(out.spec).toEqual(wf.spec);
    },
  );

  test('the rules catch what restore wrote before (the check can fail)', () => {
    for (const { file, workflow } of shared) {
      const before = controllerProblems(statusStripped(workflow as unknown as Record<string, unknown>));
      expect(
        before.some((p) => p.startsWith('metadata.name is set')),
        file,
      ).toBe(true);
      if (workflow.metadata.labels?.['workflows.argoproj.io/completed'] === 'true')
        expect(
          before.some((p) => /completed=true: the controller's informer ignores it/.test(p)),
          file,
        ).toBe(true);
    }
    expect(
      controllerProblems({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Workflow',
        metadata: { generateName: 'x-' },
        spec: {},
        status: { phase: 'Succeeded' },
      }),
    ).toContain('status.phase Succeeded: only phase "" (Unknown) starts a workflow');
  });

  test('labels, annotations and metadata as Argo resubmit leaves them', () => {
    const wf = byName('dag-diamond-82q7s');
    wf.metadata.labels = {
      ...wf.metadata.labels,
      team: 'agents',
      'workflows.argoproj.io/creator': 'alice',
      'workflows.argoproj.io/workflow-archiving-status': 'Archived',
      'strata.dev/archived': 'a1b2c3d4e5f6',
    };
    wf.metadata.annotations = {
      ...wf.metadata.annotations,
      'workflows.argoproj.io/last-seen-version': '4633',
      'strata.dev/manifest': 'a'.repeat(64),
      note: 'kept',
    };
    wf.metadata.finalizers = ['workflows.argoproj.io/artifact-gc'];
    wf.metadata.ownerReferences = [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'CronWorkflow', name: 'c', uid: 'u' }];
    (wf.spec as Record<string, unknown>).shutdown = 'Terminate';
    (wf.spec as Record<string, unknown>).activeDeadlineSeconds = 0;
    const out = resubmitWorkflow(wf as unknown as Record<string, unknown>, { manifestId: 'b'.repeat(64) });
    expect(out.metadata).toEqual({
      generateName: 'dag-diamond-',
      namespace: 'argo',
      labels: { team: 'agents', 'workflows.argoproj.io/resubmitted-from-workflow': 'dag-diamond-82q7s' },
      annotations: {
        'workflows.argoproj.io/pod-name-format': 'v2',
        note: 'kept',
        'strata.dev/restored-from-manifest': 'b'.repeat(64),
      },
    });
    expect(out.status).toBeUndefined();
    expect((out.spec as Record<string, unknown>).shutdown).toBeUndefined();
    expect((out.spec as Record<string, unknown>).activeDeadlineSeconds).toBeUndefined();
    const kept = resubmitWorkflow(wf as unknown as Record<string, unknown>, { keepCreator: true });
    expect((kept.metadata as { labels: Record<string, string> }).labels['workflows.argoproj.io/creator']).toBe('alice');
    // Without generateName, the old name plus "-" (as Argo).
    const named = resubmitWorkflow({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'retry-multiparent' },
      spec: {},
    });
    expect((named.metadata as { generateName: string }).generateName).toBe('retry-multiparent-');
  });

  test('memoized: succeeded pods become Skipped, failed ones Pending, ids follow the new name; controller rules hold', () => {
    for (const name of ['steps-9fkqc', 'retry-workflow-with-failed-exit-handler', 'retry-multiparent']) {
      const wf = byName(name);
      const out = resubmitWorkflow(wf as unknown as Record<string, unknown>, {
        memoized: true,
        nameSuffix: 'zz9qq',
        now: new Date('2026-11-30T00:00:00Z'),
      });
      const newName = (out.metadata as { name: string }).name;
      expect(newName).toBe(`${(out.metadata as { generateName: string }).generateName}zz9qq`);
      expect(controllerProblems(out, { memoized: true }), name).toEqual([]);
      const status = out.status as {
        nodes: Record<string, Record<string, unknown>>;
        conditions: unknown[];
        phase?: string;
      };
      expect(status.phase).toBeUndefined();
      expect(status.conditions).toEqual([{ status: 'False', type: 'Completed' }]);
      const old = Object.values((wf.status as { nodes: Record<string, Record<string, unknown>> }).nodes);
      for (const o of old) {
        const renamed = newName + String(o.name).slice(wf.metadata.name.length);
        const n = status.nodes[argoNodeId(newName, renamed)];
        if (String(o.name).startsWith(`${wf.metadata.name}.onExit`)) {
          expect(n, `${name} ${String(o.name)}`).toBeUndefined();
          continue;
        }
        if (o.type === 'Skipped') continue; // kept only when a descendant succeeded
        expect(n, `${name} ${String(o.name)}`).toBeDefined();
        for (const child of (n!.children as string[] | undefined) ?? [])
          expect(status.nodes[child] ?? child).toBeDefined();
        if (o.type === 'Pod' && (o.phase === 'Failed' || o.phase === 'Error')) {
          expect(n).toMatchObject({ phase: 'Pending', type: 'Pod' });
          expect(n!.startedAt).toBeUndefined();
        } else if (o.type === 'Pod') {
          expect(n).toMatchObject({ phase: 'Skipped', type: 'Skipped', message: `original pod: ${String(o.id)}` });
        } else {
          expect(n).toMatchObject({ phase: 'Pending', startedAt: '2026-11-30T00:00:00Z' });
        }
      }
    }
    expect(() =>
      resubmitWorkflow(byName('dag-diamond-82q7s') as unknown as Record<string, unknown>, { memoized: true }),
    ).toThrow(InputError);
  });
});

describe.skipIf(!dir)('submitting the resubmit object to the fake API server', () => {
  const fake = new FakeKubeApi();
  let url: string;
  beforeAll(async () => {
    url = await fake.start();
  });
  afterAll(() => fake.stop());

  test('it is created under a new name beside the original, twice without collision', async () => {
    const original = fake.put(byName('dag-diamond-82q7s'));
    const body = resubmitWorkflow(original as unknown as Record<string, unknown>);
    const names: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${url}/apis/argoproj.io/v1alpha1/namespaces/argo/workflows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(201);
      const created = (await r.json()) as { metadata: { name: string; uid: string } };
      expect(created.metadata.uid).not.toBe(original.metadata.uid);
      names.push(created.metadata.name);
    }
    expect(names.every((n) => /^dag-diamond-[a-z0-9]{5}$/.test(n))).toBe(true);
    expect(new Set([...names, original.metadata.name]).size).toBe(3);
    // What restore wrote before kept metadata.name: the create collides while the original exists.
    const before = await fetch(`${url}/apis/argoproj.io/v1alpha1/namespaces/argo/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(statusStripped(original as unknown as Record<string, unknown>)),
    });
    expect(before.status).toBe(409);
  });
});

describe.skipIf(!dir)('restore writes it', () => {
  test('strata restore --memoized writes the memoized object of a Failed workflow; the controller rules hold', async () => {
    const { repo, root, cleanup } = await tempRepository();
    const out = tempDir();
    try {
      const wf = byName('steps-9fkqc') as unknown as Record<string, unknown>;
      const archived = await archiveBundle(repo, bundleOf('u-steps', [], wf));
      const r = await runCli([
        'restore',
        archived.manifestId,
        '--to',
        out.path,
        '--memoized',
        '--store',
        `file:${root}`,
        '-o',
        'json',
      ]);
      expect(r.code, r.err).toBe(0);
      const resubmit = parse(readFileSync(join(out.path, RESUBMIT_FILE), 'utf8')) as Record<string, unknown>;
      expect(controllerProblems(resubmit, { memoized: true })).toEqual([]);
      expect((resubmit.metadata as { name: string }).name).toMatch(/^steps-[a-z0-9]{5}$/);
      expect(Object.keys((resubmit.status as { nodes: object }).nodes).length).toBeGreaterThan(0);
    } finally {
      out.cleanup();
      cleanup();
    }
  });
});
