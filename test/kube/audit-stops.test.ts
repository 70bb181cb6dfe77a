// An audit record that cannot be written stops the pipeline: nothing more is archived or handed to finalize.
import { afterEach, expect, test } from 'vitest';
import type { AuditLog } from '../../lib/audit/audit.ts';
import type { WorkflowBundle, WorkflowIdentity, WorkflowSource } from '../../lib/bundle/bundle.ts';
import { AuditError } from '../../lib/errors.ts';
import { archiveAudited, manifestList } from '../../lib/pipeline/archive-run.ts';
import { runWatchLoop } from '../../lib/pipeline/watch-loop.ts';
import type { WorkflowObject } from '../../lib/pipeline/workflow-state.ts';
import { bundleOf, logText, tempRepository } from '../archive/fixtures.ts';
import { BATCH_WORKFLOWS } from '../../lib/archive/batch.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function memorySource(uids: string[], load: (uid: string) => WorkflowBundle): WorkflowSource {
  return {
    description: 'memory:',
    async *list() {
      for (const uid of uids) yield { uid, namespace: 'agents', name: `wf-${uid}` };
    },
    async load(id: WorkflowIdentity) {
      return load(id.uid);
    },
  };
}

/** Takes `ok` records, then fails every later one as a full store would. */
function auditThatFillsUp(ok: number): AuditLog & { written: string[] } {
  const written: string[] = [];
  return {
    written,
    async record(entry) {
      if (written.length >= ok)
        throw new AuditError(`audit record of ${entry.action} ${entry.subject} not written: no space left on device`);
      written.push(entry.subject);
    },
  };
}

test('archiveAudited stops at the first record it cannot write; unrecorded workflows are not handed to finalize', async () => {
  const r = await tempRepository();
  cleanups.push(r.cleanup);
  const audit = auditThatFillsUp(2);
  // More than one commit batch: once a record failed, the rest is not started.
  const uids = Array.from({ length: BATCH_WORKFLOWS + 8 }, (_, i) => `w${i}`);
  const source = memorySource(uids, (uid) =>
    bundleOf(uid, [{ path: 'main.log', data: logText(uids.indexOf(uid), 2_000) }]),
  );
  const report = await archiveAudited(r.repo, source, { group: 'default', audit, actor: 'test' });
  expect(audit.written).toEqual(['w0', 'w1']);
  const recorded = report.results.filter((x) => x.unrecorded === undefined);
  expect(recorded.map((x) => x.uid)).toEqual(['w0', 'w1']);
  expect(manifestList(report).split(',')).toEqual(recorded.map((x) => x.manifestId));
  const unrecorded = report.results.filter((x) => x.unrecorded !== undefined);
  expect(unrecorded.length).toBeGreaterThan(0);
  for (const x of unrecorded) {
    expect(x.manifestId).toBeDefined(); // archived all the same: the next run finds it unchanged
    expect(x.unrecorded).toMatch(/audit record of archive w\d+ not written: no space left on device/);
  }
  expect(report.stopped).toMatchObject({ reason: expect.stringMatching(/not written: no space left on device/) });
  expect(report.stopped!.notStarted).toBeGreaterThan(0);
  expect(report.workflows + report.stopped!.notStarted).toBe(uids.length);
});

test('the watch loop stops on an audit failure, but goes on after any other failure', async () => {
  const wfs: WorkflowObject[] = ['p', 'q', 'r'].map((name) => ({
    metadata: { name, namespace: 'w', uid: `uid-${name}` },
    status: { phase: 'Succeeded', finishedAt: '2024-01-01T00:00:00Z' },
  }));
  const source = {
    async *listWorkflows() {
      yield* wfs;
    },
    watchWorkflows: async function* () {},
    lastListVersion: () => '1',
  };
  const run = (fail: (name: string) => Error | undefined) => {
    const handled: string[] = [];
    const loop = runWatchLoop(source as never, {
      once: true,
      log: () => {},
      decide: () => ({ archive: true, reason: 'due', group: 'g', deleteSourceAfterArchive: false }),
      archive: async (wf) => {
        handled.push(wf.metadata.name);
        const err = fail(wf.metadata.name);
        if (err) throw err;
      },
    });
    return { handled, loop };
  };
  const other = run((n) => (n === 'p' ? new Error('cluster hiccup') : undefined));
  expect(await other.loop).toMatchObject({ handled: 2, failed: 1 });
  expect(other.handled).toEqual(['p', 'q', 'r']);
  const audit = run((n) => (n === 'q' ? new AuditError('audit record of archive uid-q not written') : undefined));
  await expect(audit.loop).rejects.toBeInstanceOf(AuditError);
  expect(audit.handled).toEqual(['p', 'q']);
});
