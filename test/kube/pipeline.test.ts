// Pure pipeline rules: which workflows a sweep selects, the watermark, batching, and when finalize may delete.
import { fc, test as propTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  ARCHIVED_LABEL,
  MANIFEST_ANNOTATION,
  advanceWatermark,
  archivedLabelValue,
  archivedMarks,
  skipReason,
  assessWorkflows,
  isPastWatermark,
  makeBatches,
  parseBatchRefs,
  planFinalize,
  workflowState,
  type ArchiveVerdict,
  type FinalizeFacts,
  type SweepItem,
  type WorkflowObject,
} from '../../lib/pipeline/index.ts';
import { loadSharedWorkflows, sharedWorkflowsDir } from '../support/fake-kube-api.ts';
import { validateAnnotations, validateLabels } from '../support/kube-validation.ts';

const archiveAll = (): ArchiveVerdict => ({
  archive: true,
  reason: 'test',
  group: 'default',
  deleteSourceAfterArchive: true,
});

function wf(
  name: string,
  status: Record<string, unknown> | undefined,
  extra: Partial<WorkflowObject['metadata']> = {},
): WorkflowObject {
  return { metadata: { name, namespace: 'agents', uid: `uid-${name}`, ...extra }, ...(status ? { status } : {}) };
}

async function* iter<T>(xs: T[]): AsyncIterable<T> {
  yield* xs;
}

describe('workflowState', () => {
  test('finished needs a final phase and finishedAt', () => {
    expect(workflowState(wf('a', { phase: 'Succeeded', finishedAt: '2026-01-01T00:00:00Z' }))).toMatchObject({
      finished: true,
    });
    expect(workflowState(wf('b', { phase: 'Error', finishedAt: '2026-01-01T00:00:00Z' }))).toMatchObject({
      finished: true,
    });
    expect(workflowState(wf('c', undefined))).toEqual({ finished: false, reason: 'no status' });
    expect(workflowState(wf('d', { phase: 'Running' }))).toMatchObject({ finished: false });
    expect(workflowState(wf('e', { phase: 'Succeeded' }))).toMatchObject({
      finished: false,
      reason: 'phase Succeeded but no finishedAt',
    });
    expect(workflowState(wf('f', { phase: 'Succeeded', finishedAt: null }))).toMatchObject({ finished: false });
  });

  test('a suspended workflow is never finished, whatever its phase says', () => {
    const suspended = wf('s', {
      phase: 'Succeeded',
      finishedAt: '2026-01-01T00:00:00Z',
      nodes: { x: { type: 'Suspend', phase: 'Running' } },
    });
    expect(workflowState(suspended)).toMatchObject({ finished: false });
    expect(
      workflowState({ ...wf('t', { phase: 'Failed', finishedAt: '2026-01-01T00:00:00Z' }), spec: { suspend: true } }),
    ).toMatchObject({
      finished: false,
    });
  });
});

const dir = sharedWorkflowsDir();
describe.skipIf(!dir)('assess over the real Argo Workflow objects', () => {
  test('selects exactly the finished ones; running, suspended, status-less and no-finishedAt are skipped with a reason', async () => {
    const objects = loadSharedWorkflows(dir!).map((s) => s.workflow as WorkflowObject);
    const result = await assessWorkflows(iter(objects), { decide: archiveAll, now: new Date(), batchSize: 2 });
    const names = result.selected.map((s) => s.name).sort();
    expect(names).toEqual(
      [
        'dag-diamond-82q7s',
        'retry-workflow-with-failed-exit-handler',
        'steps-4k5vn',
        'steps-9fkqc',
        'workflow-template-hello-world-jdkdw',
      ].sort(),
    );
    const reasons = Object.fromEntries(result.skipped.map((s) => [s.workflow.split('/')[1], s.reason]));
    expect(reasons['suspend-template']).toMatch(/suspended/);
    expect(reasons['dag-with-retries-4wkh8']).toMatch(/no phase/);
    expect(reasons['parameter-aggregation-dag-h8b82']).toMatch(/no finishedAt/);
    expect(reasons['retry-multiparent']).toMatch(/no finishedAt/);
    expect(reasons['dag-fail-r4gvc']).toMatch(/phase Running/);
    expect(result.counts.listed).toBe(objects.length);
    expect(result.batches.reduce((n, b) => n + b.count, 0)).toBe(5);
  });
});

describe('assess', () => {
  const done = (name: string, at: string, labels?: Record<string, string>) =>
    wf(name, { phase: 'Succeeded', finishedAt: at }, labels ? { labels } : {});

  test('a policy error defers the workflow (fail closed) and holds the watermark', async () => {
    const r = await assessWorkflows(
      iter([done('a', '2026-01-01T00:00:00Z'), done('b', '2026-01-02T00:00:00Z', { 'strata.dev/archived': 'm' })]),
      {
        decide: () => {
          throw new Error('unknown identifier "lables"');
        },
        now: new Date(),
        batchSize: 10,
      },
    );
    expect(r.selected).toEqual([]);
    expect(r.deferred[0]?.reason).toMatch(/policy error: unknown identifier/);
    expect(r.watermark).toBeUndefined();
  });

  test('the watermark skips handled workflows next sweep and never passes an in-flight one', async () => {
    const first = await assessWorkflows(iter([done('a', '2026-01-01T00:00:00Z'), done('b', '2026-01-02T00:00:00Z')]), {
      decide: archiveAll,
      now: new Date(),
      batchSize: 10,
    });
    expect(first.selected.length).toBe(2);
    expect(first.watermark).toBeUndefined(); // selected, not yet archived
    const second = await assessWorkflows(
      iter([
        done('a', '2026-01-01T00:00:00Z', { 'strata.dev/archived': 'm1' }),
        done('b', '2026-01-02T00:00:00Z'),
        done('c', '2026-01-03T00:00:00Z'),
      ]),
      { decide: archiveAll, now: new Date(), batchSize: 10 },
    );
    expect(second.selected.map((s) => s.name)).toEqual(['b', 'c']); // b's archive failed: picked up again
    expect(second.watermark?.finishedBefore).toBe('2026-01-01T00:00:00.000Z');
    const third = await assessWorkflows(iter([done('a', '2026-01-01T00:00:00Z'), done('b', '2026-01-02T00:00:00Z')]), {
      decide: archiveAll,
      now: new Date(),
      batchSize: 10,
      watermark: second.watermark,
    });
    expect(third.counts.behindWatermark).toBe(1);
    expect(third.selected.map((s) => s.name)).toEqual(['b']);
  });

  test('maxWorkflows bounds a sweep; the rest are deferred', async () => {
    const r = await assessWorkflows(iter([done('a', '2026-01-01T00:00:00Z'), done('b', '2026-01-02T00:00:00Z')]), {
      decide: archiveAll,
      now: new Date(),
      batchSize: 10,
      maxWorkflows: 1,
    });
    expect(r.counts).toMatchObject({ selected: 1, deferred: 1 });
  });

  test("the sweep's lag: due workflows not archived yet, and how long the one due the longest has waited", async () => {
    const now = new Date('2026-01-10T00:00:00Z');
    const dueAfterADay = (w: WorkflowObject, at: Date): ArchiveVerdict => {
      const dueAt = new Date(new Date(String(w.status?.finishedAt)).getTime() + 86_400_000);
      return { ...archiveAll(), archive: dueAt <= at, ...(dueAt <= at ? {} : { reason: 'not yet' }), dueAt };
    };
    const r = await assessWorkflows(
      iter([
        done('b', '2026-01-05T00:00:00Z'), // due since the 6th
        done('a', '2026-01-03T12:00:00Z'), // due since the 4th 12:00, beyond the sweep limit: still waiting
        done('c', '2026-01-09T12:00:00Z'), // due on the 10th 12:00: not yet
        done('d', '2026-01-01T00:00:00Z', { 'strata.dev/archived': 'm' }), // archived: not waiting
      ]),
      { decide: dueAfterADay, now, batchSize: 10, maxWorkflows: 1 },
    );
    expect(r.selected.map((s) => s.name)).toEqual(['b']);
    expect(r.deferred.map((d) => [d.workflow.split('/')[1], d.reason])).toEqual([
      ['a', 'sweep limit reached'],
      ['c', 'not yet'],
    ]);
    expect(r.counts).toMatchObject({ dueUnarchived: 2, oldestUnarchivedAgeSeconds: 5.5 * 86_400 });

    // A policy that cannot decide: waiting since the workflow finished. Nothing due: 0.
    const stuck = await assessWorkflows(iter([done('e', '2026-01-09T00:00:00Z')]), {
      decide: () => {
        throw new Error('no rule');
      },
      now,
      batchSize: 10,
    });
    expect(stuck.counts).toMatchObject({ dueUnarchived: 1, oldestUnarchivedAgeSeconds: 86_400 });
    const none = await assessWorkflows(iter([done('f', '2026-01-09T12:00:00Z')]), {
      decide: dueAfterADay,
      now,
      batchSize: 10,
    });
    expect(none.counts).toMatchObject({ dueUnarchived: 0, oldestUnarchivedAgeSeconds: 0 });
  });
});

const arbItems = fc.array(
  fc.record({
    uid: fc.uuid(),
    finishedAt: fc.integer({ min: 0, max: 20 }).map((s) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString()),
    handled: fc.boolean(),
  }),
  { maxLength: 30 },
);

propTest.prop([arbItems, arbItems])(
  'the watermark never hides a workflow that was not handled',
  (first: SweepItem[], second: SweepItem[]) => {
    const w1 = advanceWatermark(undefined, first);
    // The next sweep evaluates only what is past the watermark (the rest is skipped before policy runs).
    second = second.filter((i) => isPastWatermark(w1, i.finishedAt, i.uid));
    const w2 = advanceWatermark(w1, second);
    for (const [w, items] of [
      [w1, first],
      [w2, second],
    ] as const) {
      for (const item of items) if (!item.handled) expect(isPastWatermark(w, item.finishedAt, item.uid)).toBe(true);
    }
    if (w1 && w2) expect(w2.finishedBefore >= w1.finishedBefore).toBe(true);
  },
);

test('batches: one group per batch, bounded, every workflow once; refs parse back', () => {
  const sel = Array.from({ length: 7 }, (_, i) => ({
    namespace: 'ns',
    name: `w${i}`,
    uid: `u${i}`,
    group: i % 2 ? 'ci-30d' : 'audit-7y',
  }));
  const batches = makeBatches(sel, 2);
  expect(batches.every((b) => b.count <= 2)).toBe(true);
  const back = batches.flatMap((b) => parseBatchRefs(b.workflows, b.uids).map((r) => ({ ...r, group: b.group })));
  expect(back.map((r) => r.uid).sort()).toEqual(sel.map((s) => s.uid).sort());
  for (const r of back) expect(r.group).toBe(sel.find((s) => s.uid === r.uid)!.group);
  expect(() => parseBatchRefs('ns/a,b', 'u1,u2')).toThrow(/namespace\/name/);
  expect(() => parseBatchRefs('ns/a', 'u1,u2')).toThrow(/1 workflows but 2 uids/);
});

const finished = (uid: string, extra: Partial<WorkflowObject['metadata']> = {}): WorkflowObject => ({
  metadata: { name: 'w', namespace: 'ns', uid, ...extra },
  status: { phase: 'Succeeded', finishedAt: '2026-01-01T00:00:00Z' },
});

const arbFacts = fc.record({
  exists: fc.boolean(),
  verified: fc.boolean(),
  missing: fc.nat(3),
  sameUid: fc.boolean(),
  present: fc.boolean(),
  running: fc.boolean(),
  deleteAllowed: fc.option(fc.boolean(), { nil: undefined }),
  policyError: fc.option(fc.constant('boom'), { nil: undefined }),
  held: fc.boolean(),
  finalizing: fc.boolean(),
});

propTest.prop([arbFacts])(
  'finalize deletes only when verified, complete, same uid, finished, allowed and not held',
  (a) => {
    const workflow = a.present
      ? {
          ...finished(
            'u1',
            a.finalizing
              ? { deletionTimestamp: '2026-01-02T00:00:00Z', finalizers: ['workflows.argoproj.io/artifact-gc'] }
              : {},
          ),
          ...(a.running ? { status: { phase: 'Running' } } : {}),
        }
      : undefined;
    const facts: FinalizeFacts = {
      manifest: {
        id: 'm1',
        exists: a.exists,
        verified: a.verified,
        problems: [],
        missing: a.missing,
        workflowUid: a.sameUid ? 'u1' : 'u2',
      },
      workflow,
      deleteSourceAfterArchive: a.deleteAllowed,
      policyError: a.policyError,
      held: a.held,
    };
    const plan = planFinalize(facts);
    if (plan.delete) {
      expect(a.exists && a.verified && a.missing === 0 && a.sameUid && a.present && !a.running).toBe(true);
      expect(a.deleteAllowed === true && !a.policyError && !a.held && !a.finalizing).toBe(true);
    }
    if (plan.label) expect(a.exists && a.verified && a.sameUid && a.present && !a.running).toBe(true);
    if (!a.exists || !a.verified) expect(plan.refused).toBe(true);
  },
);

test('finalize refuses when the workflow ran again after the archived run', () => {
  const plan = planFinalize({
    manifest: {
      id: 'm1',
      exists: true,
      verified: true,
      problems: [],
      missing: 0,
      workflowUid: 'u1',
      finishedAt: '2025-12-31T00:00:00Z',
    },
    workflow: finished('u1'),
    deleteSourceAfterArchive: true,
    held: false,
  });
  expect(plan).toMatchObject({ refused: true, delete: false, label: false });
  expect(plan.reasons[0]).toMatch(/finished again/);
});

describe('archived marks: a short-id label the API server accepts, the full id in an annotation', () => {
  const id = 'a1b2c3d4e5f6' + '0'.repeat(52);
  const other = 'ffffffffffff' + '1'.repeat(52);
  const facts = (metadata: Partial<WorkflowObject['metadata']>): FinalizeFacts => ({
    manifest: { id, exists: true, verified: true, problems: [], missing: 0, workflowUid: 'u1' },
    workflow: finished('u1', metadata),
    deleteSourceAfterArchive: false,
    held: false,
  });

  test('every mark is valid for the real API server: label value ≤ 63 characters, annotation keeps the id', () => {
    const marks = archivedMarks(id);
    expect(marks.labels[ARCHIVED_LABEL]).toBe('a1b2c3d4e5f6');
    expect(validateLabels(marks.labels)).toEqual([]);
    expect(validateAnnotations(marks.annotations)).toEqual([]);
    expect(marks.annotations[MANIFEST_ANNOTATION]).toBe(id);
  });

  test('finalize marks an unmarked workflow, and does nothing more once both marks are there', () => {
    expect(planFinalize(facts({}))).toMatchObject({ label: true, refused: false });
    const marked = { labels: archivedMarks(id).labels, annotations: archivedMarks(id).annotations };
    expect(planFinalize(facts(marked))).toMatchObject({ label: false, refused: false });
    // A label written by an older Strata (the full id, which a real API server refused) is re-marked, not refused.
    expect(planFinalize(facts({ labels: { [ARCHIVED_LABEL]: id } }))).toMatchObject({ label: true, refused: false });
  });

  test('finalize refuses a workflow another manifest marked, by annotation or by short label', () => {
    const byOther = planFinalize(facts(archivedMarks(other)));
    expect(byOther).toMatchObject({ refused: true, label: false, delete: false });
    expect(byOther.reasons[0]).toContain(`manifest ${other}`);
    const shortOnly = planFinalize(facts({ labels: { [ARCHIVED_LABEL]: archivedLabelValue(other) } }));
    expect(shortOnly).toMatchObject({ refused: true, label: false });
  });

  test('assess and watch skip a marked workflow, naming the full manifest id', () => {
    expect(skipReason(finished('u1', archivedMarks(id)))).toBe(`already archived (manifest ${id})`);
  });
});
