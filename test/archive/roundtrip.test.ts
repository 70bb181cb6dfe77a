// Round trips through the archive engine: byte-identical restore of every kind of file, and dedup behaviour.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, test } from 'vitest';
import {
  archiveBundle,
  openEntry,
  readManifest,
  restoreWorkflow,
  RESUBMIT_FILE,
  verifyRepository,
} from '../../lib/archive/index.ts';
import { bundleOf, logText, readStream, REPOSITORY_MODES, tempDir, tempRepository } from './fixtures.ts';
import { controllerProblems } from '../support/argo-controller.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

// Every test runs on a plain and on an encrypted (format 3) repository.
describe.each(REPOSITORY_MODES)('%s repository', (mode) => {
  async function repo() {
    const r = await tempRepository(undefined, mode);
    cleanups.push(r.cleanup);
    return r.repo;
  }

  describe('round trip', () => {
    test('restores empty, small, binary and many-chunk files byte for byte', async () => {
      const r = await repo();
      const files = [
        { path: 'logs/n1/main.log', nodeId: 'n1', container: 'main', data: logText(1, 300_000) },
        { path: 'logs/n1/init.log', nodeId: 'n1', container: 'init', data: Buffer.alloc(0) },
        {
          path: 'artifacts/n2/out.bin',
          kind: 'artifact' as const,
          nodeId: 'n2',
          artifactName: 'out',
          data: randomBytes(200_000),
        },
        { path: 'tiny.txt', data: Buffer.from('x') },
      ];
      const result = await archiveBundle(r, bundleOf('u1', files));
      expect(result.created).toBe(true);
      expect(result.stats.files).toBe(5); // + the synthesized workflow.json
      expect(result.stats.packs).toBeGreaterThan(1);
      const out = tempDir();
      cleanups.push(out.cleanup);
      await restoreWorkflow(r, result.manifestId, out.path);
      for (const f of files) expect(readFileSync(join(out.path, f.path)).equals(Buffer.from(f.data))).toBe(true);
      for (const f of files)
        expect((await readStream(await openEntry(r, result.manifestId, f.path))).equals(Buffer.from(f.data))).toBe(
          true,
        );

      const m = await readManifest(r, result.manifestId);
      const log = m.entries.find((e) => e.path === 'logs/n1/main.log')!;
      expect(log).toMatchObject({ nodeId: 'n1', container: 'main', size: 300_000 });
      expect(log.chunks.length).toBeGreaterThan(10);
      // A one-chunk file's hash is its chunk id (when ids are plain SHA-256): every entry still names its content.
      for (const f of files)
        expect(m.entries.find((e) => e.path === f.path)!.sha256, f.path).toBe(
          createHash('sha256').update(f.data).digest('hex'),
        );
      expect(m.workflow).toMatchObject({ uid: 'u1', namespace: 'agents', name: 'wf-u1', phase: 'Succeeded' });
    });

    test('writes a resubmittable Workflow without status or server-set metadata', async () => {
      const r = await repo();
      const wf = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Workflow',
        metadata: {
          generateName: 'play-',
          name: 'play-abc',
          namespace: 'agents',
          uid: 'u2',
          resourceVersion: '42',
          creationTimestamp: '2026-11-01T00:00:00Z',
          managedFields: [{ manager: 'argo' }],
          labels: { team: 'a' },
          annotations: { note: 'b' },
        },
        spec: { entrypoint: 'main' },
        status: { phase: 'Failed' },
      };
      const result = await archiveBundle(r, bundleOf('u2', [], wf));
      const out = tempDir();
      cleanups.push(out.cleanup);
      await restoreWorkflow(r, result.manifestId, out.path);
      expect(JSON.parse(readFileSync(join(out.path, 'workflow.json'), 'utf8'))).toEqual(wf);
      const resubmit = parse(readFileSync(join(out.path, RESUBMIT_FILE), 'utf8'));
      expect(resubmit).toEqual({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Workflow',
        metadata: {
          generateName: 'play-',
          namespace: 'agents',
          labels: { team: 'a', 'workflows.argoproj.io/resubmitted-from-workflow': 'play-abc' },
          annotations: { note: 'b', 'strata.dev/restored-from-manifest': result.manifestId },
        },
        spec: { entrypoint: 'main' },
      });
      expect(controllerProblems(resubmit as Record<string, unknown>)).toEqual([]);
    });

    test('records unreadable entries as missing and marks the workflow incomplete', async () => {
      const r = await repo();
      const bundle = bundleOf('u3', [{ path: 'ok.log', data: logText(3, 5000) }]);
      bundle.entries.push({
        path: 'gone.log',
        kind: 'log',
        nodeId: 'n9',
        open: async () => Promise.reject(new Error('pod deleted')),
      });
      bundle.missing.push({ path: 'never.log', kind: 'log', reason: 'log archive disabled' });
      const result = await archiveBundle(r, bundle);
      expect(result.incomplete).toBe(true);
      const m = await readManifest(r, result.manifestId);
      expect(m.incomplete).toBe(true);
      expect(m.missing).toEqual([
        { path: 'never.log', kind: 'log', reason: 'log archive disabled' },
        { path: 'gone.log', kind: 'log', nodeId: 'n9', reason: 'unreadable: pod deleted' },
      ]);
      expect(m.entries.map((e) => e.path)).toEqual(['workflow.json', 'ok.log']);
    });
  });

  test('packs written at different zstd levels restore alike and verify clean', async () => {
    const r = await repo();
    const a = logText(41, 120_000);
    const b = logText(42, 120_000);
    const fast = await archiveBundle(r, bundleOf('z1', [{ path: 'a.log', data: a }]), { compressionLevel: 1 });
    const small = await archiveBundle(r, bundleOf('z2', [{ path: 'b.log', data: b }]), { compressionLevel: 19 });
    expect(small.stats.storedBytes).toBeLessThan(fast.stats.storedBytes);
    expect((await readStream(await openEntry(r, fast.manifestId, 'a.log'))).equals(a)).toBe(true);
    expect((await readStream(await openEntry(r, small.manifestId, 'b.log'))).equals(b)).toBe(true);
    expect((await verifyRepository(r, { readData: true })).problems).toEqual([]);
  });

  describe('dedup', () => {
    test('re-archiving the same workflow changes nothing', async () => {
      const r = await repo();
      const bundle = bundleOf('u4', [{ path: 'a.log', data: logText(4, 200_000) }]);
      const first = await archiveBundle(r, bundle);
      const keys = async () => {
        const all: string[] = [];
        for await (const o of r.store.list('archive/')) all.push(o.key);
        return all;
      };
      const before = await keys();
      const second = await archiveBundle(r, bundle);
      expect(second.manifestId).toBe(first.manifestId);
      expect(second.created).toBe(false);
      expect(second.stats.newChunks).toBe(0);
      expect(await keys()).toEqual(before);
    });

    test('a second workflow sharing a log stores only what is new', async () => {
      const r = await repo();
      const shared = logText(5, 400_000);
      const first = await archiveBundle(r, bundleOf('u5', [{ path: 'a.log', data: shared }]));
      const retried = Buffer.concat([shared, logText(6, 20_000)]);
      const second = await archiveBundle(r, bundleOf('u6', [{ path: 'a.log', data: retried }]));
      expect(first.stats.newBytes).toBeGreaterThan(390_000);
      expect(second.stats.bytes).toBeGreaterThan(420_000);
      expect(second.stats.newBytes).toBeLessThan(60_000);
    });

    test('chunks are stored again in another timeline group', async () => {
      const r = await repo();
      const data = logText(7, 100_000);
      await archiveBundle(r, bundleOf('u7', [{ path: 'a.log', data }]), { group: 'standard-2026-11' });
      const other = await archiveBundle(r, bundleOf('u8', [{ path: 'a.log', data }]), { group: 'legal-2026-11' });
      expect(other.stats.newBytes).toBeGreaterThanOrEqual(100_000);
      const m = await readManifest(r, other.manifestId);
      for (const p of m.packs) expect(await r.store.head(`archive/packs/legal-2026-11/${p}`)).toBeDefined();
    });
  });
});
