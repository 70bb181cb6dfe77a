// Restore into an artifact bucket: every log and artifact back at the key Argo recorded, verified, create-only.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { archiveBundle, restoreToBucket, type Repository } from '../../lib/archive/index.ts';
import { IntegrityError } from '../../lib/errors.ts';
import { parseWorkflowText } from '../../lib/sources/argo-workflow.ts';
import { loadArtifactRepositoryBundle } from '../../lib/sources/s3-artifacts.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';
import { runCli } from '../support/run-cli.ts';
import { spawnCli } from '../support/spawn-cli.ts';
import { bundleOf, entryOf, logText, readStream, tempDir, tempRepository } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const files = {
  mainLog: logText(1, 50_000),
  report: Buffer.from(JSON.stringify({ passed: 41, failed: 1 })),
  diff: logText(2, 20_000),
  waitLog: Buffer.from('wait container\n'),
};

/** Meta as the two sources record it: Argo artifact objects (directory export) and `s3Key` (bucket source). */
function bundle() {
  const b = bundleOf('u1', []);
  b.entries = [
    { ...entryOf({ path: 'logs/n1/main.log', nodeId: 'n1', container: 'main', data: files.mainLog }) },
    {
      ...entryOf({ path: 'artifacts/n1/report.json', kind: 'artifact', nodeId: 'n1', data: files.report }),
      artifactName: 'report',
      meta: { name: 'report', s3: { key: 'wf-u1/pod-1/report.json' } },
    },
    {
      ...entryOf({ path: 'artifacts/n2/diff.patch', kind: 'artifact', nodeId: 'n2', data: files.diff }),
      meta: { s3Key: 'wf-u1/pod-2/diff.patch' },
    },
    entryOf({ path: 'logs/n1/wait.log', nodeId: 'n1', container: 'wait', data: files.waitLog }),
  ];
  b.entries[0]!.meta = { artifact: { name: 'main-logs', s3: { key: 'wf-u1/pod-1/main.log' } } };
  return b;
}

const expectedKeys = {
  'wf-u1/pod-1/main.log': files.mainLog,
  'wf-u1/pod-1/report.json': files.report,
  'wf-u1/pod-2/diff.patch': files.diff,
};

async function archived(): Promise<{ repo: Repository; root: string; manifestId: string }> {
  const t = await tempRepository();
  cleanups.push(t.cleanup);
  const { manifestId } = await archiveBundle(t.repo, bundle());
  return { repo: t.repo, root: t.root, manifestId };
}

function emptyBucket(): FileSystemStore {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  return new FileSystemStore(dir.path);
}

async function expectObjects(bucket: ObjectStore): Promise<void> {
  for (const [key, data] of Object.entries(expectedKeys)) {
    expect((await readStream(await bucket.get(key))).equals(data), key).toBe(true);
  }
}

describe('restore into an artifact bucket', () => {
  test('writes each log and artifact at its recorded key; entries without one are listed as skipped', async () => {
    const { repo, manifestId } = await archived();
    const bucket = emptyBucket();
    const result = await restoreToBucket(repo, manifestId, bucket);
    expect(result.written.map((w) => w.key).sort()).toEqual(Object.keys(expectedKeys).sort());
    expect(result.skipped.map((s) => s.path).sort()).toEqual(['logs/n1/wait.log', 'workflow.json']);
    expect(result.bytes).toBe(files.mainLog.length + files.report.length + files.diff.length);
    await expectObjects(bucket);
  });

  test('a re-run converges; another object at a key is a conflict, replaced only with overwrite', async () => {
    const { repo, manifestId } = await archived();
    const bucket = emptyBucket();
    await restoreToBucket(repo, manifestId, bucket);
    const again = await restoreToBucket(repo, manifestId, bucket);
    expect(again.written).toEqual([]);
    expect(again.unchanged).toHaveLength(3);

    await bucket.put('wf-u1/pod-1/report.json', Buffer.from('someone else'));
    const clash = await restoreToBucket(repo, manifestId, bucket);
    expect(clash.conflicts.map((c) => c.key)).toEqual(['wf-u1/pod-1/report.json']);
    expect((await readStream(await bucket.get('wf-u1/pod-1/report.json'))).toString()).toBe('someone else');

    const forced = await restoreToBucket(repo, manifestId, bucket, { overwrite: true });
    expect(forced.written).toHaveLength(3);
    await expectObjects(bucket);
  });

  test('corrupt archive data fails the restore and leaves no object at the key', async () => {
    const { repo, root, manifestId } = await archived();
    const packsDir = join(root, 'archive/packs/default');
    for (const pack of readdirSync(packsDir)) {
      const bytes = readFileSync(join(packsDir, pack));
      bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
      writeFileSync(join(packsDir, pack), bytes);
    }
    const bucket = emptyBucket();
    await expect(restoreToBucket(repo, manifestId, bucket)).rejects.toThrow(IntegrityError);
    expect(await bucket.head('wf-u1/pod-1/main.log')).toBeUndefined();
  });

  test('partial: one node log, one artifact or a directory of them writes only the selected keys', async () => {
    const { repo, manifestId } = await archived();
    const logOnly = emptyBucket();
    const log = await restoreToBucket(repo, manifestId, logOnly, { select: { nodeId: 'n1', container: 'main' } });
    expect(log.written.map((w) => w.key)).toEqual(['wf-u1/pod-1/main.log']);
    expect(log.skipped).toEqual([]);
    expect(log.what).toBe('main log of node n1');
    expect(await logOnly.head('wf-u1/pod-1/report.json')).toBeUndefined();

    const artifactOnly = emptyBucket();
    const one = await restoreToBucket(repo, manifestId, artifactOnly, { select: { path: 'artifacts/n1/report.json' } });
    expect(one.written.map((w) => w.key)).toEqual(['wf-u1/pod-1/report.json']);
    expect(one.bytes).toBe(files.report.length);
    expect((await readStream(await artifactOnly.get('wf-u1/pod-1/report.json'))).equals(files.report)).toBe(true);
    expect(await artifactOnly.head('wf-u1/pod-1/main.log')).toBeUndefined();

    const directory = emptyBucket();
    const dir = await restoreToBucket(repo, manifestId, directory, { select: { path: 'artifacts/' } });
    expect(dir.written.map((w) => w.key).sort()).toEqual(['wf-u1/pod-1/report.json', 'wf-u1/pod-2/diff.patch']);
    expect(await directory.head('wf-u1/pod-1/main.log')).toBeUndefined();

    // The same rules as a whole restore: create-only, a conflict left alone unless overwrite.
    await artifactOnly.put('wf-u1/pod-1/report.json', Buffer.from('someone else'));
    const clash = await restoreToBucket(repo, manifestId, artifactOnly, {
      select: { path: 'artifacts/n1/report.json' },
    });
    expect(clash.conflicts.map((c) => c.key)).toEqual(['wf-u1/pod-1/report.json']);
    expect((await readStream(await artifactOnly.get('wf-u1/pod-1/report.json'))).toString()).toBe('someone else');
    await expect(restoreToBucket(repo, manifestId, artifactOnly, { select: { path: 'nope' } })).rejects.toThrow(
      /has no path nope/,
    );
  });

  const { peer, skip } = s3PeerOrSkip();
  test.skipIf(!peer)(`into an S3 bucket on the peer${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const { repo, manifestId } = await archived();
    const bucket = storeOn(peer!, await createBucket(peer!));
    const result = await restoreToBucket(repo, manifestId, bucket);
    expect(result.written).toHaveLength(3);
    await expectObjects(bucket);
    expect((await restoreToBucket(repo, manifestId, bucket)).unchanged).toHaveLength(3);
    const partial = storeOn(peer!, await createBucket(peer!));
    const log = await restoreToBucket(repo, manifestId, partial, { select: { nodeId: 'n1' } });
    expect(log.written.map((w) => w.key)).toEqual(['wf-u1/pod-1/main.log']);
    expect((await readStream(await partial.get('wf-u1/pod-1/main.log'))).equals(files.mainLog)).toBe(true);
    expect(await partial.head('wf-u1/pod-1/report.json')).toBeUndefined();
  });

  test('strata restore --to-bucket prints the result; a conflict exits 1', async () => {
    const { root } = await archived();
    const bucket = emptyBucket();
    const store = ['--store', `file:${root}`, '-o', 'json'];
    const first = await runCli(['restore', 'u1', '--to-bucket', `file:${bucket.root}`, ...store]);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out).written).toHaveLength(3);
    await bucket.put('wf-u1/pod-2/diff.patch', Buffer.from('other'), {});
    const clash = await runCli(['restore', 'u1', '--to-bucket', `file:${bucket.root}`, ...store]);
    expect(clash.code).toBe(1);
    expect(clash.err).toMatch(/conflict: artifacts\/n2\/diff.patch/);
    const partial = emptyBucket();
    const dir = await runCli(['restore', 'u1', '--to-bucket', `file:${partial.root}`, '--path', 'artifacts', ...store]);
    expect(dir.code).toBe(0);
    expect(JSON.parse(dir.out).counts).toEqual({ written: 2, unchanged: 0, skipped: 0, conflicts: 0 });
    expect(await partial.head('wf-u1/pod-1/main.log')).toBeUndefined();
    const log = await runCli(['restore', 'u1', '--to-bucket', `file:${partial.root}`, '--node', 'n1', ...store]);
    expect(log.code).toBe(0);
    expect(JSON.parse(log.out).written.map((w: { key: string }) => w.key)).toEqual(['wf-u1/pod-1/main.log']);
    // strata-restore's step passes an empty path for the whole workflow.
    const whole = await runCli(['restore', 'u1', '--to-bucket', `file:${partial.root}`, '--path=', ...store]);
    expect(JSON.parse(whole.out).counts).toEqual({ written: 0, unchanged: 3, skipped: 2, conflicts: 0 });
    const usage = await spawnCli(['restore', 'u1', '--to-bucket', `file:${bucket.root}`, '--to', '/tmp/x', ...store]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/to-bucket/);
  });
});

const argoDir = join(import.meta.dirname, '../../../shared/argo/workflows');
const haveShared = existsSync(argoDir);

describe.skipIf(!haveShared)('restore into an artifact bucket, real Argo workflow', () => {
  if (!haveShared) console.warn(`skipping: ${argoDir} is absent (needs the shared fixtures next to the repo)`);
  test('what was read from the artifact repository goes back to the same keys with the same bytes', async () => {
    const parsed = parseWorkflowText(
      readFileSync(join(argoDir, 'operator_test__marksWFSucceeded.yaml'), 'utf8'),
      'operator_test__marksWFSucceeded.yaml',
    );
    const workflow = parsed.workflows[0]!.workflow;
    const source = emptyBucket();
    const prefix = 'archive-strategies-4br4g/archive-strategies-4br4g';
    const objects: Record<string, string> = {
      [`${prefix}-generate-default-281020786/file-default.tgz`]: 'TGZ-default',
      [`${prefix}-generate-default-281020786/main.log`]: 'hello\n',
      [`${prefix}-generate-none-867259351/file-none`]: 'raw-none',
      [`${prefix}-consume-default-375797365/main.log`]: 'consumed\n',
    };
    for (const [key, body] of Object.entries(objects)) await source.put(key, Buffer.from(body));
    const t = await tempRepository();
    cleanups.push(t.cleanup);
    const { manifestId } = await archiveBundle(t.repo, await loadArtifactRepositoryBundle(workflow, source));

    const target = emptyBucket();
    const result = await restoreToBucket(t.repo, manifestId, target);
    expect(result.written.map((w) => w.key).sort()).toEqual(Object.keys(objects).sort());
    for (const [key, body] of Object.entries(objects)) {
      expect((await readStream(await target.get(key))).toString()).toBe(body);
    }
  });
});
