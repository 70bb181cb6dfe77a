// Finalize removes the originals in Argo's artifact repository only after the archive holding their copies verified,
// only where policy deletes the workflow, only inside the trusted repository, only when they match the archived copy.
import { fc, test as propTest } from '@fast-check/vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { archiveBundle, type Repository } from '../../lib/archive/index.ts';
import { verifyManifest } from '../../lib/archive/checker.ts';
import type { AuditLog, AuditRecord } from '../../lib/audit/audit.ts';
import type { TrustedArtifactRepository } from '../../lib/config/config.ts';
import { AuditError, AuditRefusal } from '../../lib/errors.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { artifactOriginals, removeOriginals, type OriginalFact } from '../../lib/pipeline/artifact-originals.ts';
import { finalizeManifest, type FinalizeCluster, type FinalizeOutcome } from '../../lib/pipeline/finalize-run.ts';
import { planFinalize } from '../../lib/pipeline/finalize.ts';
import type { WorkflowObject } from '../../lib/pipeline/workflow-state.ts';
import { trustedRepositoryFor } from '../../lib/sources/argo-artifact-repository.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { bundleOf, entryOf, logText, tempDir, tempRepository } from '../archive/fixtures.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const BUCKET = 'argo-artifacts';
const TRUSTED: TrustedArtifactRepository[] = [
  {
    bucket: BUCKET,
    endpoint: 'minio.argo.svc:9000',
    insecure: true,
    namespaces: ['agents'],
    keyPrefix: '{namespace}/',
  },
];
const REPOSITORY_CONFIGMAP = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'artifact-repositories', namespace: 'agents' },
  data: {
    'default-v1': `archiveLogs: true\ns3: {bucket: ${BUCKET}, endpoint: "minio.argo.svc:9000", insecure: true}\n`,
  },
} as KubeObject;

const bytes = {
  mainLog: logText(1, 40_000),
  report: Buffer.from(JSON.stringify({ passed: 41, failed: 1 })),
  diff: logText(2, 12_000),
  foreign: Buffer.from('in another bucket'),
  outside: Buffer.from('outside the namespace prefix'),
};
const KEYS = {
  mainLog: 'agents/wf-u1/pod-1/main.log',
  report: 'agents/wf-u1/pod-1/report.json',
  diff: 'agents/wf-u1/pod-2/diff.patch',
  outside: 'other-team/wf-u1/secret.txt',
};

/** The bundle as the two sources record it: `s3Key` (bucket source) and Argo's artifact object (`s3.key`, `s3.bucket`). */
function bundle() {
  const b = bundleOf('u1', []);
  b.entries = [
    {
      ...entryOf({ path: 'logs/n1/main.log', nodeId: 'n1', container: 'main', data: bytes.mainLog }),
      meta: { podName: 'pod-1', s3Key: KEYS.mainLog },
    },
    {
      ...entryOf({ path: 'artifacts/n1/report.json', kind: 'artifact', nodeId: 'n1', data: bytes.report }),
      meta: { name: 'report', s3: { key: KEYS.report } },
    },
    {
      ...entryOf({ path: 'artifacts/n2/diff.patch', kind: 'artifact', nodeId: 'n2', data: bytes.diff }),
      meta: { s3Key: KEYS.diff, artifact: { name: 'diff', s3: { key: KEYS.diff, bucket: BUCKET } } },
    },
    {
      ...entryOf({ path: 'artifacts/n3/foreign', kind: 'artifact', nodeId: 'n3', data: bytes.foreign }),
      meta: { name: 'foreign', s3: { key: 'agents/wf-u1/foreign', bucket: 'someone-elses-bucket' } },
    },
    {
      ...entryOf({ path: 'artifacts/n4/outside', kind: 'artifact', nodeId: 'n4', data: bytes.outside }),
      meta: { s3Key: KEYS.outside },
    },
    // A live pod's log: no key recorded, so no original is ever deleted for it.
    entryOf({ path: 'logs/n1/wait.log', nodeId: 'n1', container: 'wait', data: Buffer.from('wait\n') }),
  ];
  return b;
}

interface World {
  repo: Repository;
  root: string;
  manifestId: string;
  artifacts: ObjectStore;
  cluster: FinalizeCluster & { deleted: string[]; workflow?: WorkflowObject };
  records: AuditRecord[];
  audit: AuditLog;
}

async function world(artifacts: ObjectStore): Promise<World> {
  const t = await tempRepository();
  cleanups.push(t.cleanup);
  const b = bundle();
  const { manifestId } = await archiveBundle(t.repo, b);
  for (const [name, key] of Object.entries(KEYS)) await artifacts.put(key, bytes[name as keyof typeof bytes]);
  await artifacts.put('agents/wf-other/pod-9/main.log', Buffer.from('another workflow'));
  const cluster: World['cluster'] = {
    deleted: [],
    workflow: b.workflow as unknown as WorkflowObject,
    async getWorkflow() {
      return this.workflow;
    },
    async patchWorkflowMetadata() {
      return {};
    },
    async deleteWorkflow(_ns, name) {
      this.deleted.push(name);
      this.workflow = undefined;
      return 'deleted';
    },
  };
  const records: AuditRecord[] = [];
  return {
    repo: t.repo,
    root: t.root,
    manifestId,
    artifacts,
    cluster,
    records,
    audit: { record: async (r) => void records.push(r) },
  };
}

function fsBucket(): FileSystemStore {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  return new FileSystemStore(dir.path);
}

function finalize(
  w: World,
  opts: { policyDeletes?: boolean; trusted?: TrustedArtifactRepository[]; audit?: AuditLog } = {},
): Promise<FinalizeOutcome> {
  const resolve = trustedRepositoryFor(
    { readConfigMap: async () => REPOSITORY_CONFIGMAP },
    () => w.artifacts,
    opts.trusted ?? TRUSTED,
  );
  return finalizeManifest(w.manifestId, {
    cluster: w.cluster,
    verifyManifest: (id) => verifyManifest(w.repo, id),
    deletion: async () => ({ deleteSourceAfterArchive: opts.policyDeletes ?? true, held: false }),
    originals: artifactOriginals(w.repo, resolve),
    audit: opts.audit ?? w.audit,
    actor: 'strata/finalize',
  });
}

const present = async (store: ObjectStore, key: string) => (await store.head(key)) !== undefined;

async function expectAllOriginalsThere(w: World): Promise<void> {
  for (const key of Object.values(KEYS)) expect(await present(w.artifacts, key), key).toBe(true);
}

function corruptPacks(root: string): void {
  const dir = join(root, 'archive/packs/default');
  for (const pack of readdirSync(dir)) {
    const data = readFileSync(join(dir, pack));
    data[Math.floor(data.length / 2)]! ^= 0x40;
    writeFileSync(join(dir, pack), data);
  }
}

function describeOriginals(name: string, makeBucket: () => Promise<ObjectStore>) {
  describe(`finalize and the originals (${name})`, () => {
    test('a verified archive: the matching originals go before the workflow, each checked gone, audited', async () => {
      const w = await world(await makeBucket());
      const out = await finalize(w);
      expect(out.refused, out.reasons.join('; ')).toBe(false);
      expect(out.source).toBe('deleted');
      expect(out.originals.deleted).toBe(3);
      for (const key of [KEYS.mainLog, KEYS.report, KEYS.diff])
        expect(await present(w.artifacts, key), key).toBe(false);
      // Outside the trusted repository or the namespace's prefix: never touched.
      expect(await present(w.artifacts, KEYS.outside)).toBe(true);
      expect(out.originals.kept.map((k) => k.key).sort()).toEqual(['agents/wf-u1/foreign', KEYS.outside]);
      expect(out.originals.kept.find((k) => k.key === KEYS.outside)?.reason).toMatch(/outside namespace agents/);
      expect(out.originals.kept.find((k) => k.bucket)?.reason).toMatch(/outside the trusted artifact repository/);
      expect(await present(w.artifacts, 'agents/wf-other/pod-9/main.log')).toBe(true);

      const steps = w.records.map((r) => `${r.action}:${r.outcome}`);
      expect(steps).toEqual([
        'finalize:ok',
        'delete-originals:started',
        'delete-originals:ok',
        'delete-source:started',
        'delete-source:ok',
      ]);
      const started = w.records.find((r) => r.action === 'delete-originals')!;
      expect((started.details?.originals as { key: string }[]).map((o) => o.key).sort()).toEqual(
        [KEYS.mainLog, KEYS.report, KEYS.diff].sort(),
      );
      expect(started.hashes).toHaveLength(3);

      // A re-run converges: the workflow is gone, nothing more is deleted.
      const again = await finalize(w);
      expect(again).toMatchObject({ refused: false, source: 'absent', originals: { deleted: 0 } });
    });

    test('an archive that does not verify deletes no original and keeps the workflow', async () => {
      const w = await world(await makeBucket());
      corruptPacks(w.root);
      const out = await finalize(w);
      expect(out.refused).toBe(true);
      expect(out.reasons[0]).toMatch(/did not verify/);
      await expectAllOriginalsThere(w);
      expect(w.cluster.deleted).toEqual([]);
      expect(w.records.some((r) => r.action === 'delete-originals')).toBe(false);
    });

    test('an original that differs from the archived copy (same size, or not) stays; the rest go', async () => {
      const w = await world(await makeBucket());
      const sameSize = Buffer.from(bytes.report);
      sameSize[0]! ^= 1;
      await w.artifacts.put(KEYS.report, sameSize);
      await w.artifacts.put(KEYS.diff, Buffer.from('rewritten since the archive'));
      const out = await finalize(w);
      expect(out.originals.deleted).toBe(1);
      expect(await present(w.artifacts, KEYS.mainLog)).toBe(false);
      expect(await present(w.artifacts, KEYS.report)).toBe(true);
      expect(await present(w.artifacts, KEYS.diff)).toBe(true);
      expect(out.originals.kept.find((k) => k.key === KEYS.report)?.reason).toMatch(/differs .*sha256/);
      expect(out.originals.kept.find((k) => k.key === KEYS.diff)?.reason).toMatch(/differs .*bytes/);
    });

    test('policy keeps the workflow: every original stays', async () => {
      const w = await world(await makeBucket());
      const out = await finalize(w, { policyDeletes: false });
      expect(out).toMatchObject({ refused: false, source: 'kept', labelled: true, originals: { deleted: 0 } });
      await expectAllOriginalsThere(w);
      expect(w.records.some((r) => r.action === 'delete-originals')).toBe(false);
    });

    test('a repository the configuration does not trust (or keeps): no original is touched', async () => {
      for (const trusted of [[], [{ ...TRUSTED[0]!, deleteOriginals: false }]]) {
        const w = await world(await makeBucket());
        const out = await finalize(w, { trusted });
        expect(out.originals.deleted).toBe(0);
        await expectAllOriginalsThere(w);
        expect(out.originals.kept[0]?.reason).toMatch(/not trusted|no artifact repositories|deleteOriginals: false/);
      }
    });
  });
}

describeOriginals('filesystem store', async () => fsBucket());

const { peer, skip } = s3PeerOrSkip();
if (peer) describeOriginals('artifact bucket on the S3 peer', async () => storeOn(peer, await createBucket(peer)));
else test.skip(`artifact bucket on the S3 peer (skipped: ${skip})`, () => {});

describe('finalize and the originals: failures keep everything for a re-run', () => {
  test('an original that cannot be read keeps every original and the workflow; the re-run finishes', async () => {
    const bucket = fsBucket();
    let broken = true;
    const flaky = new Proxy(bucket, {
      get(target, prop, receiver) {
        if (prop === 'get') {
          return async (key: string) => {
            if (broken && key === KEYS.report) throw new Error('SlowDown: try again');
            return target.get(key);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const w = await world(flaky);
    const first = await finalize(w);
    expect(first.source).toBe('kept');
    expect(first.reasons.join('; ')).toMatch(/could not be read .*the workflow is kept so a re-run can finish/);
    await expectAllOriginalsThere(w);
    expect(w.cluster.deleted).toEqual([]);
    broken = false;
    const second = await finalize(w);
    expect(second).toMatchObject({ source: 'deleted', originals: { deleted: 3 } });
  });

  test('a delete that leaves an original behind keeps the workflow; the re-run deletes it', async () => {
    const bucket = fsBucket();
    let lossy = true;
    const store = new Proxy(bucket, {
      get(target, prop, receiver) {
        if (prop === 'delete') {
          return async (keys: string[]) => target.delete(lossy ? keys.slice(1) : keys);
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const w = await world(store);
    const first = await finalize(w);
    expect(first.refused).toBe(true);
    expect(first.reasons.join('; ')).toMatch(/still present after delete/);
    expect(w.cluster.deleted).toEqual([]);
    expect(w.records.map((r) => `${r.action}:${r.outcome}`)).toContain('delete-originals:failed');
    lossy = false;
    const second = await finalize(w);
    expect(second).toMatchObject({ refused: false, source: 'deleted', originals: { deleted: 1 } });
  });

  test("a kept workflow's originals are not even read", async () => {
    const bucket = fsBucket();
    const reads: string[] = [];
    const counting = new Proxy(bucket, {
      get(target, prop, receiver) {
        if (prop === 'get' || prop === 'head') {
          return async (key: string) => {
            reads.push(key);
            return prop === 'get' ? target.get(key) : target.head(key);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const w = await world(counting);
    reads.length = 0;
    const out = await finalize(w, { policyDeletes: false });
    expect(out.source).toBe('kept');
    expect(reads).toEqual([]);
  });

  test('an unrecorded deletion does not happen', async () => {
    const w = await world(fsBucket());
    const audit: AuditLog = {
      async record(r) {
        if (r.action === 'delete-originals') throw new AuditError('audit store full');
        w.records.push(r);
      },
    };
    await expect(finalize(w, { audit })).rejects.toThrow(AuditRefusal);
    await expectAllOriginalsThere(w);
    expect(w.cluster.deleted).toEqual([]);
  });

  test('removeOriginals refuses a key outside the trusted repository, whatever was planned', async () => {
    const bucket = fsBucket();
    await bucket.put(KEYS.outside, bytes.outside);
    const resolve = trustedRepositoryFor({ readConfigMap: async () => REPOSITORY_CONFIGMAP }, () => bucket, TRUSTED);
    const access = (await resolve({ metadata: { namespace: 'agents' } }))!;
    await expect(removeOriginals(access, [{ key: KEYS.outside }])).rejects.toThrow(/outside namespace agents/);
    await expect(removeOriginals(access, [{ bucket: 'elsewhere', key: KEYS.mainLog }])).rejects.toThrow(
      /outside the trusted/,
    );
    expect(await present(bucket, KEYS.outside)).toBe(true);
  });
});

const arbOriginal: fc.Arbitrary<OriginalFact> = fc.record({
  path: fc.constantFrom('logs/n/main.log', 'artifacts/n/a'),
  kind: fc.constantFrom('log' as const, 'artifact' as const),
  key: fc.constantFrom('agents/a', 'agents/b', 'x/c'),
  sha256: fc.constantFrom('a'.repeat(64), 'b'.repeat(64)),
  size: fc.constantFrom(1, 2),
  outside: fc.option(fc.constant('outside'), { nil: undefined }),
  now: fc.option(
    fc.oneof(
      fc.record({
        state: fc.constant('present' as const),
        sha256: fc.constantFrom('a'.repeat(64), 'b'.repeat(64)),
        size: fc.constantFrom(1, 2),
      }),
      fc.constant({ state: 'absent' as const }),
      fc.constant({ state: 'unreadable' as const, error: 'boom' }),
    ),
    { nil: undefined },
  ),
});

propTest.prop([
  fc.array(arbOriginal, { maxLength: 5 }),
  fc.boolean(),
  fc.boolean(),
  fc.boolean(),
  fc.option(fc.constantFrom('untouchable', 'unavailable'), { nil: undefined }),
])(
  'an original is deleted only with the workflow, inside the trusted repository, matching the archived copy',
  (objects, verified, policyDeletes, held, repositoryProblem) => {
    const workflow: WorkflowObject = {
      metadata: { name: 'w', namespace: 'agents', uid: 'u1' },
      status: { phase: 'Succeeded', finishedAt: '2026-01-01T00:00:00Z' },
    };
    const plan = planFinalize({
      manifest: { id: 'm1', exists: true, verified, problems: [], missing: 0, workflowUid: 'u1' },
      workflow,
      deleteSourceAfterArchive: policyDeletes,
      held,
      originals: { objects, ...(repositoryProblem && { [repositoryProblem]: 'because' }) },
    });
    for (const d of plan.originals.delete) {
      expect(plan.delete && verified && policyDeletes && !held && !repositoryProblem).toBe(true);
      const o = objects.find((x) => x.key === d.key && x.path === d.path)!;
      expect(o.outside).toBeUndefined();
      expect(o.now).toEqual({ state: 'present', sha256: o.sha256, size: o.size });
    }
    // Anything that could not be looked at keeps the workflow too, so the run that deletes it settles them all.
    const unreadable = objects.some((o) => !o.outside && o.now?.state === 'unreadable');
    if ((!repositoryProblem && unreadable) || repositoryProblem === 'unavailable') {
      if (objects.length) expect(plan.delete).toBe(false);
    }
  },
);
