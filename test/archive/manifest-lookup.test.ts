// A workflow archived more than once resolves to its newest complete archive, says so, and --manifest picks exactly.
import { readFileSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { archiveBundle, describeResolution, resolveManifest, type Repository } from '../../lib/archive/index.ts';
import { IntegrityError } from '../../lib/errors.ts';
import { runCli } from '../support/run-cli.ts';
import { bundleOf, logText, tempDir, tempRepository } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const LOG = logText(5, 3000);

/** Archive of workflow u1: complete, or with its second log missing; `finished` false drops status.finishedAt. */
async function archive(repo: Repository, root: string, opts: { complete: boolean; finished: boolean; at: number }) {
  const b = bundleOf('u1', [{ path: 'logs/a/main.log', nodeId: 'a', container: 'main', data: LOG }]);
  b.workflow = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name: 'wf-u1', namespace: 'agents', uid: 'u1', creationTimestamp: '2026-10-31T00:00:00Z' },
    spec: { entrypoint: 'main' },
    status: { phase: 'Succeeded', ...(opts.finished && { finishedAt: '2026-11-01T00:00:00Z' }) },
  };
  if (opts.complete) {
    b.entries.push(
      bundleOf('u1', [{ path: 'logs/b/main.log', nodeId: 'b', container: 'main', data: logText(6, 3000) }]).entries[0]!,
    );
  } else {
    b.missing.push({ path: 'logs/b/main.log', kind: 'log', nodeId: 'b', reason: 'unreadable: HTTP 204' });
  }
  const { manifestId } = await archiveBundle(repo, b);
  // The archive time is the manifest object's lastModified; set it so the order does not depend on the clock.
  const when = new Date(Date.UTC(2026, 10, 2) + opts.at * 60_000);
  utimesSync(join(root, 'archive/manifests', manifestId), when, when);
  return manifestId;
}

describe('resolving a workflow archived more than once', () => {
  test('an older incomplete archive loses to a newer complete one whose source had no finishedAt', async () => {
    const t = await tempRepository();
    cleanups.push(t.cleanup);
    const incomplete = await archive(t.repo, t.root, { complete: false, finished: true, at: 1 });
    const complete = await archive(t.repo, t.root, { complete: true, finished: false, at: 2 });
    for (const ref of ['u1', 'wf-u1', 'agents/wf-u1']) {
      const r = await resolveManifest(t.repo, ref);
      expect(r.id).toBe(complete);
      expect(r.others).toEqual([{ id: incomplete, incomplete: true, archivedAt: expect.any(String) }]);
    }
  });

  test('a newer incomplete archive does not win over a complete one; the choice is described', async () => {
    const t = await tempRepository();
    cleanups.push(t.cleanup);
    const complete = await archive(t.repo, t.root, { complete: true, finished: true, at: 1 });
    const incomplete = await archive(t.repo, t.root, { complete: false, finished: true, at: 2 });
    const r = await resolveManifest(t.repo, 'u1');
    expect(r.id).toBe(complete);
    const line = describeResolution(r);
    expect(line).toContain(`manifest ${complete}`);
    expect(line).toMatch(/newest complete of 2 archives \(1 other incomplete\)/);
    expect(line).toContain(`${incomplete} (incomplete)`);
    expect(line).toContain('--manifest <id>');
  });

  test('of archives equally complete the one written last wins (here: none complete, so the newest incomplete)', async () => {
    const t = await tempRepository();
    cleanups.push(t.cleanup);
    const older = await archive(t.repo, t.root, { complete: false, finished: true, at: 1 });
    const newer = await archive(t.repo, t.root, { complete: false, finished: false, at: 5 });
    expect((await resolveManifest(t.repo, 'u1')).id).toBe(newer);
    utimesSync(join(t.root, 'archive/manifests', older), new Date(Date.UTC(2027, 0)), new Date(Date.UTC(2027, 0)));
    expect((await resolveManifest(t.repo, 'u1')).id).toBe(older);
  });

  test('a corrupt manifest of another workflow does not hide this one when every manifest is scanned', async () => {
    const t = await tempRepository();
    cleanups.push(t.cleanup);
    const id = await archive(t.repo, t.root, { complete: true, finished: true, at: 1 });
    const other = (await archiveBundle(t.repo, bundleOf('u2', [{ path: 'x.log', data: LOG }]))).manifestId;
    await t.repo.store.put(`archive/manifests/${other}`, Buffer.from('{"not":"it"}\n'));
    rmSync(join(t.root, 'archive/refs'), { recursive: true, force: true });
    const r = await resolveManifest(t.repo, 'wf-u1');
    expect(r.id).toBe(id);
    expect(r.unreadable.map((u) => u.id)).toEqual([other]);
    expect(describeResolution(r)).toContain(`skipped 1 unreadable manifest(s) (${other}`);
    await expect(resolveManifest(t.repo, 'wf-u2')).rejects.toThrow(IntegrityError);
  });

  test('restore by name says which archive it took; --manifest restores exactly the one given', async () => {
    const t = await tempRepository();
    cleanups.push(t.cleanup);
    const complete = await archive(t.repo, t.root, { complete: true, finished: true, at: 1 });
    const incomplete = await archive(t.repo, t.root, { complete: false, finished: true, at: 2 });
    const out = tempDir();
    cleanups.push(out.cleanup);
    const store = `file:${t.root}`;

    const byName = await runCli([
      '--store',
      store,
      'restore',
      'agents/wf-u1',
      '--to',
      join(out.path, 'a'),
      '-o',
      'json',
    ]);
    expect(byName.code).toBe(0);
    expect(JSON.parse(byName.out)).toMatchObject({ manifestId: complete, files: 3 });
    expect(byName.err).toContain(`manifest ${complete}`);
    expect(byName.err).toContain(incomplete);

    const exact = await runCli(['--store', store, 'restore', '--manifest', incomplete, '--to', join(out.path, 'b')]);
    expect(exact.code).toBe(0);
    expect(readFileSync(join(out.path, 'b/logs/a/main.log')).equals(LOG)).toBe(true);
    const both = await runCli([
      '--store',
      store,
      'restore',
      'wf-u1',
      '--manifest',
      incomplete,
      '--to',
      join(out.path, 'c'),
    ]);
    expect(both.code).toBe(0);
    const wrong = await runCli([
      '--store',
      store,
      'restore',
      'other',
      '--manifest',
      incomplete,
      '--to',
      join(out.path, 'd'),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/archives agents\/wf-u1 \(uid u1\), not "other"/);
    const neither = await runCli(['--store', store, 'restore', '--to', join(out.path, 'e')]);
    expect(neither.code).toBe(2);
  });
});
