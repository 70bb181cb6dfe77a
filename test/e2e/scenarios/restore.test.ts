// strata-restore brings back a workflow that strata-archive archived and deleted, as an Argo output artifact; the
// restored workflow.resubmit.yaml is submitted with `argo submit` and runs to completion under the real controller.
// `strata serve` on the host, as the strata-server account, runs a restore job as a strata-restore Workflow.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  argo,
  e2eCluster,
  eventually,
  kubectl,
  kubectlJson,
  nodeOutput,
  repoRoot,
  run,
  strata,
  strataEnv,
  submitAndWait,
  type E2eCluster,
  type Workflow,
} from '../support/cluster.ts';
import { E2E_POLICY, EXECUTOR_RBAC, runTag, workflows } from '../support/workflows.ts';

/** The user of the kubeconfig the scenarios submit with (hack/e2e/up.sh signs its certificate). */
const E2E_ADMIN = 'strata-e2e-admin';

const cluster = e2eCluster();

describe.skipIf(!cluster)('restore and resubmit under the real controller', () => {
  const c = cluster!;
  let original: Workflow;
  let archive: Workflow;

  beforeAll(async () => {
    await kubectl(c, ['apply', '-n', c.namespace, '-f', '-'], { input: EXECUTOR_RBAC + '\n---\n' + E2E_POLICY });
    const tag = runTag('restore');
    original = await submitAndWait(c, { yaml: workflows(tag).dag! });
    archive = await submitAndWait(c, { from: 'workflowtemplate/strata-archive' }, [
      '-p',
      `namespaces=${c.namespace}`,
      '-p',
      `selector=strata-e2e-run=${tag}`,
    ]);
  });

  test('strata-archive archives the workflow and deletes it (policy: delete)', async () => {
    expect(original.status?.phase).toBe('Succeeded');
    expect(archive.status?.phase, archive.status?.message).toBe('Succeeded');
    const r = await run(c, `${c.bin}/kubectl`, ['-n', c.namespace, 'get', 'workflow', original.metadata.name]);
    expect(r.stderr).toMatch(/NotFound/);
  });

  let resubmitFile: string;

  test('strata-restore restores it as an Argo output artifact with a workflow.resubmit.yaml', async () => {
    // The submitter is the requester (the admission policy pins it); the step checks their restores.strata.dev grant.
    const bound = await run(c, `${c.bin}/kubectl`, [
      '-n',
      c.namespace,
      'create',
      'rolebinding',
      'e2e-admin-restorer',
      '--clusterrole=strata-restorer',
      `--user=${E2E_ADMIN}`,
    ]);
    if (bound.code !== 0 && !/AlreadyExists/.test(bound.stderr)) throw new Error(bound.stderr);
    const restore = await submitAndWait(c, { from: 'workflowtemplate/strata-restore' }, [
      '-p',
      `workflow=${c.namespace}/${original.metadata.name}`,
      '-p',
      `requester=${E2E_ADMIN}`,
    ]);
    expect(restore.status?.phase, restore.status?.message).toBe('Succeeded');
    const node = Object.values(restore.status?.nodes ?? {}).find((n) => n.displayName === 'whole');
    const key = node?.outputs?.artifacts?.find((a) => a.name === 'restored')?.s3?.key;
    expect(key, JSON.stringify(node?.outputs)).toBeTruthy();

    const dir = join(c.state, 'restored', original.metadata.name);
    mkdirSync(dir, { recursive: true });
    const s3 = new S3Client({
      endpoint: c.s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' },
    });
    const res = await s3.send(new GetObjectCommand({ Bucket: 'argo-artifacts', Key: key! }));
    writeFileSync(join(dir, 'restored.tgz'), await res.Body!.transformToByteArray());
    s3.destroy();
    execFileSync('tar', ['-xzf', join(dir, 'restored.tgz'), '-C', dir]);
    resubmitFile = join(dir, 'restored', 'workflow.resubmit.yaml');
    expect(existsSync(resubmitFile)).toBe(true);
  });

  // Caught here first (issue 18 item 5): a resubmit file that kept workflows.argoproj.io/completed: "true" was
  // never picked up by the controller (no phase, no nodes).
  test('the resubmitted workflow runs to completion under the real controller', async () => {
    expect(resubmitFile).toBeTruthy();
    const out = await argo(c, ['submit', '-o', 'name', resubmitFile]);
    const name = out.trim().split('/').pop()!;
    const phase = await eventually(
      `a phase for the resubmitted ${name}`,
      async () => (await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', name])).status?.phase,
      60,
    ).catch((err: Error) => err.message);
    expect(phase).not.toMatch(/gave up/);
    const again = await eventually(`${name} to finish`, async () => {
      const wf = await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', name]);
      return wf.status?.phase === 'Running' || wf.status?.phase === 'Pending' ? undefined : wf;
    });
    expect(again.status?.phase, again.status?.message).toBe('Succeeded');
    expect(nodeOutput(again, 'report', 'said')).toBe(nodeOutput(original, 'report', 'said'));
  });

  describe('a restore job of strata serve runs as a strata-restore Workflow', () => {
    let server: { base: string; proc: ChildProcess } | undefined;
    const callerToken = `e2e-restore-caller-${process.pid}`;
    /** A log of the archive (`logs/<node>/main.log`), from the whole restore's result: the partial restore's scope. */
    let logEntry: string | undefined;

    afterAll(async () => {
      if (server && server.proc.exitCode === null) {
        const exited = new Promise((r) => server!.proc.once('exit', r));
        server.proc.kill('SIGTERM');
        await exited;
      }
    });

    test('POST /api/v1/restores submits it as the server; it runs to Succeeded; the restored bytes verify', async () => {
      const dir = join(c.state, 'serve-restore');
      mkdirSync(dir, { recursive: true });
      server = await serveAs(c, dir, callerToken);
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${server!.base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${callerToken}`,
            ...(body !== undefined && { 'content-type': 'application/json' }),
          },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const list = await api('GET', `/api/v1/workflows?namespace=${c.namespace}&namePrefix=${original.metadata.name}`);
      const rows = list.body.items as { manifestId: string; name: string }[];
      const row = rows.find((r) => r.name === original.metadata.name);
      expect(row, JSON.stringify(list.body)).toBeDefined();

      const started = await api('POST', '/api/v1/restores', {
        requestId: `e2e-${runTag('job')}`,
        manifestId: row!.manifestId,
        scope: { kind: 'workflow' },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const job = started.body as unknown as Job;
      expect(job.argoWorkflow?.name).toBe(`strata-restore-${job.id}`);
      // Admission let the server name the caller as requester because the annotation names them too.
      const wf = await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', job.argoWorkflow!.name]);
      expect(wf.metadata.annotations?.['strata.dev/requested-by']).toBe(E2E_ADMIN);

      const done = await eventually(
        `restore job ${job.id} to end`,
        async () => {
          const j = (await api('GET', `/api/v1/restores/${job.id}`)).body as unknown as Job;
          return ['Succeeded', 'Failed', 'Cancelled'].includes(j.phase) ? j : undefined;
        },
        110,
      );
      expect(done.phase, done.error).toBe('Succeeded');
      expect(done.argoWorkflow?.phase).toBe('Succeeded');
      expect(done.progress.bytesDone).toBe(done.progress.bytesTotal);
      expect(done.progress.thaw?.state).toBe('not-needed');

      // The Workflow's output artifact holds the restored files; each one hashes to what the job (the manifest) says.
      const out = join(dir, job.id);
      mkdirSync(out, { recursive: true });
      const s3 = new S3Client({
        endpoint: c.s3Endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' },
      });
      const res = await s3.send(
        new GetObjectCommand({ Bucket: 'argo-artifacts', Key: done.argoWorkflow!.artifactKey! }),
      );
      writeFileSync(join(out, 'restored.tgz'), await res.Body!.transformToByteArray());
      s3.destroy();
      execFileSync('tar', ['-xzf', join(out, 'restored.tgz'), '-C', out]);
      expect(done.result!.files.length).toBeGreaterThan(0);
      for (const f of done.result!.files) {
        const bytes = readFileSync(join(out, 'restored', f.path));
        expect([f.path, bytes.length, sha256(bytes)]).toEqual([f.path, f.size, f.sha256]);
      }
      // And the server streams a file of the result, the same bytes.
      const log = done.result!.files.find((f) => f.entry.endsWith('.log')) ?? done.result!.files[0]!;
      logEntry = done.result!.files.find((f) => /^logs\/[^/]+\/main\.log$/.test(f.entry))?.entry;
      const file = await fetch(`${server.base}/api/v1/restores/${job.id}/files/${encodeURIComponent(log.path)}`, {
        headers: { authorization: `Bearer ${callerToken}` },
      });
      expect(sha256(Buffer.from(await file.arrayBuffer()))).toBe(log.sha256);
    });

    test('target bucket: the step puts the logs back at the keys Argo recorded, in the namespace’s repository', async () => {
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${server!.base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${callerToken}`,
            ...(body !== undefined && { 'content-type': 'application/json' }),
          },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
        return (await res.json()) as Record<string, unknown>;
      };
      const list = await call('GET', `/api/v1/workflows?namespace=${c.namespace}&namePrefix=${original.metadata.name}`);
      const row = (list.items as { manifestId: string; name: string }[]).find(
        (r) => r.name === original.metadata.name,
      )!;
      // The request names no bucket: the server takes the namespace's trusted repository from strata-config.
      const job = (await call('POST', '/api/v1/restores', {
        requestId: `e2e-${runTag('bucket')}`,
        manifestId: row.manifestId,
        scope: { kind: 'workflow' },
        target: { kind: 'bucket' },
      })) as unknown as Job;
      expect(job.bucket?.url, JSON.stringify(job)).toBe('s3://argo-artifacts/');
      const done = await eventually(
        `bucket restore job ${job.id} to end`,
        async () => {
          const j = (await call('GET', `/api/v1/restores/${job.id}`)) as unknown as Job;
          return ['Succeeded', 'Failed', 'Cancelled'].includes(j.phase) ? j : undefined;
        },
        110,
      );
      expect(done.phase, done.error).toBe('Succeeded');
      expect(done.bucket!.written + done.bucket!.unchanged).toBeGreaterThan(0);
      expect(done.bucket!.conflicts).toEqual([]);
      // The logs are back under the workflow's keys (namespace/name/pod/…), readable by Argo again.
      const s3 = new S3Client({
        endpoint: c.s3Endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' },
      });
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: 'argo-artifacts', Prefix: `${c.namespace}/${original.metadata.name}/` }),
      );
      s3.destroy();
      expect((listed.Contents ?? []).length).toBeGreaterThanOrEqual(done.bucket!.written + done.bucket!.unchanged);
    });

    test('target bucket, one log: the step gets its path and writes only that key (already there: unchanged)', async () => {
      expect(logEntry, 'a main log in the archive').toBeDefined();
      const nodeId = logEntry!.split('/')[1]!;
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${server!.base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${callerToken}`,
            ...(body !== undefined && { 'content-type': 'application/json' }),
          },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
        return (await res.json()) as Record<string, unknown>;
      };
      const list = await call('GET', `/api/v1/workflows?namespace=${c.namespace}&namePrefix=${original.metadata.name}`);
      const row = (list.items as { manifestId: string; name: string }[]).find(
        (r) => r.name === original.metadata.name,
      )!;
      const job = (await call('POST', '/api/v1/restores', {
        requestId: `e2e-${runTag('bucket-log')}`,
        manifestId: row.manifestId,
        scope: { kind: 'log', nodeId, container: 'main' },
        target: { kind: 'bucket' },
      })) as unknown as Job;
      expect(job.bucket?.url, JSON.stringify(job)).toBe('s3://argo-artifacts/');
      const wf = await kubectlJson<
        Workflow & { spec: { arguments: { parameters: { name: string; value: string }[] } } }
      >(c, ['-n', c.namespace, 'get', 'workflow', job.argoWorkflow!.name]);
      expect(wf.spec.arguments.parameters).toContainEqual({ name: 'path', value: logEntry });
      const done = await eventually(
        `partial bucket restore job ${job.id} to end`,
        async () => {
          const j = (await call('GET', `/api/v1/restores/${job.id}`)) as unknown as Job;
          return ['Succeeded', 'Failed', 'Cancelled'].includes(j.phase) ? j : undefined;
        },
        110,
      );
      expect(done.phase, done.error).toBe('Succeeded');
      // The whole restore put it back already: this one found exactly that key, the same bytes.
      expect(done.bucket).toMatchObject({ written: 0, unchanged: 1, conflicts: [] });
    });
  });
});

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** templates/components/server/rbac.yaml installed into the namespace (as kustomize's namespace transformer would). */
function serverRbac(namespace: string): string {
  const docs = parseAllDocuments(readFileSync(join(repoRoot, 'templates/components/server/rbac.yaml'), 'utf8')).map(
    (d) => d.toJS() as { kind: string; metadata: { namespace?: string }; subjects?: { namespace?: string }[] },
  );
  for (const d of docs) {
    if (!d.kind.startsWith('Cluster')) d.metadata.namespace = namespace;
    for (const s of d.subjects ?? []) s.namespace = namespace;
  }
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}

/** `strata serve` on the host: embedded token file for the caller, restore jobs as Workflows as strata-server. */
async function serveAs(c: E2eCluster, dir: string, callerToken: string): Promise<{ base: string; proc: ChildProcess }> {
  await kubectl(c, ['apply', '-f', '-'], { input: serverRbac(c.namespace) });
  const serverToken = (await kubectl(c, ['-n', c.namespace, 'create', 'token', 'strata-server'])).trim();
  const env = { ...(await strataEnv(c)), STRATA_CATALOG: join(dir, 'catalog.db') };
  const indexed = await strata(c, ['index'], { STRATA_CATALOG: env.STRATA_CATALOG });
  if (indexed.code !== 0) throw new Error(`strata index: ${indexed.stderr}`);
  writeFileSync(
    join(dir, 'access.yaml'),
    `users:\n  - { username: ${E2E_ADMIN}, tokenSha256: ${sha256(callerToken)} }\n` +
      `rules:\n  - { user: ${E2E_ADMIN}, verbs: [get, list, restore], namespaces: [${c.namespace}] }\n`,
  );
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  const proc = spawn(
    process.execPath,
    [
      join(repoRoot, 'bin/strata.js'),
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--access-file',
      join(dir, 'access.yaml'),
      '--restore-jobs=argo',
    ],
    {
      cwd: dir,
      env: {
        ...base,
        ...env,
        STRATA_ACTOR: 'e2e',
        STRATA_NAMESPACE: c.namespace,
        STRATA_KUBE_SERVER: c.apiServer,
        STRATA_KUBE_TOKEN: serverToken,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /listening on ([\d.]+:\d+)/.exec(out);
      if (m) done(`http://${m[1]}`);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => fail(new Error(`strata serve exited ${code}: ${out}`)));
  });
  return { base: url, proc };
}

interface Job {
  id: string;
  phase: string;
  error?: string;
  progress: { bytesDone: number; bytesTotal: number; thaw?: { state: string } };
  result?: { files: { path: string; entry: string; size: number; sha256: string }[] };
  argoWorkflow?: { namespace: string; name: string; phase?: string; artifactKey?: string };
  bucket?: { url: string; written: number; unchanged: number; conflicts: unknown[] };
}
