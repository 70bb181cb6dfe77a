// Workflow refs: restore by uid or name reads the matching manifest, not every manifest; without refs it still works.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { archiveBundle, resolveManifest, type Repository } from '../../lib/archive/index.ts';
import { refKeys } from '../../lib/archive/workflow-refs.ts';
import { InputError, NotFoundError } from '../../lib/errors.ts';
import { bundleOf, logText, tempRepository } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function repoWith(n: number): Promise<{ repo: Repository; root: string; ids: string[] }> {
  const t = await tempRepository();
  cleanups.push(t.cleanup);
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    const b = bundleOf(`u${i}`, [{ path: 'logs/a/main.log', nodeId: 'a', container: 'main', data: logText(i, 2000) }]);
    ids.push((await archiveBundle(t.repo, b)).manifestId);
  }
  return { repo: t.repo, root: t.root, ids };
}

/** Counts manifest reads (GETs under archive/manifests/) through the repository's store. */
function countManifestReads(repo: Repository): { count: () => number } {
  let reads = 0;
  const get = repo.store.get.bind(repo.store);
  repo.store.get = (key, range) => {
    if (key.startsWith('archive/manifests/')) reads++;
    return get(key, range);
  };
  return { count: () => reads };
}

describe('workflow refs', () => {
  test('uid, name and namespace/name find the manifest with one listing and one manifest read', async () => {
    const { repo, ids } = await repoWith(12);
    const reads = countManifestReads(repo);
    expect((await resolveManifest(repo, 'u7')).id).toBe(ids[6]);
    expect((await resolveManifest(repo, 'wf-u8')).id).toBe(ids[7]);
    expect((await resolveManifest(repo, 'agents/wf-u9')).id).toBe(ids[8]);
    expect(reads.count()).toBe(3);
  });

  test('without refs (older repository, or a crash before they were written) every manifest is read', async () => {
    const { repo, root, ids } = await repoWith(5);
    rmSync(join(root, 'archive/refs'), { recursive: true, force: true });
    const reads = countManifestReads(repo);
    expect((await resolveManifest(repo, 'u3')).id).toBe(ids[2]);
    expect(reads.count()).toBe(5);
    await expect(resolveManifest(repo, 'nope')).rejects.toThrow(NotFoundError);
  });

  test('re-archiving writes refs that are missing; a ref to a removed manifest is skipped', async () => {
    const { repo, root, ids } = await repoWith(2);
    rmSync(join(root, 'archive/refs'), { recursive: true, force: true });
    const again = await archiveBundle(
      repo,
      bundleOf('u2', [{ path: 'logs/a/main.log', nodeId: 'a', container: 'main', data: logText(2, 2000) }]),
    );
    expect(again).toMatchObject({ manifestId: ids[1], created: false });
    const reads = countManifestReads(repo);
    expect((await resolveManifest(repo, 'u2')).id).toBe(ids[1]);
    expect(reads.count()).toBe(1);

    await repo.store.put(
      refKeys({ uid: 'u2', namespace: 'agents', name: 'wf-u2' }, 'f'.repeat(64))[0]!,
      Buffer.alloc(0),
    );
    expect((await resolveManifest(repo, 'u2')).id).toBe(ids[1]);
  });

  test('a name shared by workflows in two namespaces is ambiguous; namespace/name is not', async () => {
    const t = await tempRepository();
    cleanups.push(t.cleanup);
    for (const [uid, ns] of [
      ['x1', 'team-a'],
      ['x2', 'team-b'],
    ] as const) {
      const b = bundleOf(uid, [{ path: 'logs/a/main.log', nodeId: 'a', container: 'main', data: logText(1, 500) }]);
      b.namespace = ns;
      b.name = 'nightly';
      b.workflow = { metadata: { name: 'nightly', namespace: ns, uid }, status: { phase: 'Succeeded' } };
      await archiveBundle(t.repo, b);
    }
    await expect(resolveManifest(t.repo, 'nightly')).rejects.toThrow(InputError);
    expect((await resolveManifest(t.repo, 'team-b/nightly')).manifest.workflow.uid).toBe('x2');
  });

  test('names that are not Kubernetes-shaped get no ref (and no key built from them)', () => {
    expect(refKeys({ uid: '../etc', namespace: 'a', name: 'b/c' }, 'a'.repeat(64))).toEqual([]);
  });
});
