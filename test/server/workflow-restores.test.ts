// Restore jobs in a cluster (--restore-jobs=argo): POST /api/v1/restores submits a strata-restore Workflow through
// the fake API server — as the strata-server account, with only the RBAC templates/components/server grants and
// Strata's admission policies enforced — and the job's phase, progress and thaw state are read back from the
// Workflow, so a second replica (or a restarted server) answers the same.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openRepository } from '../../lib/archive/repository.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { plainKubeConfig } from '../../lib/kube/client.ts';
import { KubeWorkflowSubmitter } from '../../lib/kube/workflow-submitter.ts';
import type { RestoreJob } from '../../server/restores/job.ts';
import { restoreJob } from '../../server/api/schemas.ts';
import { configuredArtifactBuckets } from '../../server/restores/artifact-bucket.ts';
import { WorkflowRestoreJobs, type WorkflowRestoreJobsDeps } from '../../server/restores/workflow-jobs.ts';
import { admissionDenials, enforceStrataAdmission, strataAdmissionPolicies } from '../support/admission.ts';
import { FakeKubeApi, type FakeRule } from '../support/fake-kube-api.ts';
import { loadFile, type Manifest } from '../templates/manifests.ts';
import { LOG, startFixture, type Fixture } from './fixture.ts';

const SERVER = 'system:serviceaccount:argo:strata-server';
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** templates/components/server/rbac.yaml as the fake's rules (installed into Strata's namespace, argo). */
function serverRules(): FakeRule[] {
  const docs: Manifest[] = [
    ...loadFile('templates/components/server/rbac.yaml'),
    ...loadFile('templates/base/rbac.yaml'),
  ];
  const out: FakeRule[] = [];
  const bindings = docs.filter((d) => d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding');
  const ofServer = bindings.filter((b) =>
    (b.subjects as { kind: string; name: string }[]).some(
      (s) => s.kind === 'ServiceAccount' && s.name === 'strata-server',
    ),
  );
  for (const b of ofServer) {
    const ref = b.roleRef as { kind: string; name: string };
    const role = docs.find((d) => d.kind === ref.kind && d.metadata.name === ref.name)!;
    for (const r of role.rules as Omit<FakeRule, 'subject' | 'namespace'>[])
      out.push({
        subject: { user: SERVER },
        ...r,
        ...(b.kind === 'RoleBinding' && { namespace: 'argo' }),
      });
  }
  return out;
}

const fake = new FakeKubeApi();
let f: Fixture;
let deps: WorkflowRestoreJobsDeps;

beforeAll(async () => {
  await fake.start();
  fake.clock = () => new Date();
  fake.defaultUser = undefined;
  fake.enforceRbac = true;
  fake.addUser('server-token', { username: SERVER });
  for (const r of serverRules()) fake.grant(r);
  enforceStrataAdmission(fake);
  f = await startFixture({}, undefined, {
    artifactKeys: true,
    restoreService: ({ catalog, store, access, audit }) => {
      deps = {
        catalog,
        repository: () => openRepository(store),
        authorizer: access,
        audit,
        submitter: new KubeWorkflowSubmitter(plainKubeConfig(fake.url, 'server-token')),
        namespace: 'argo',
        // agents' artifact repository, as strata-config's artifactRepositories says (the server picks it, not callers).
        artifactBuckets: configuredArtifactBuckets(
          [{ namespaces: ['agents'], bucket: 'art-agents', insecure: false, keyPrefix: '{namespace}/' }],
          { region: 'us-east-1', forcePathStyle: false, maxAttempts: 1, conditionalWrites: 'auto' },
        ),
      };
      return new WorkflowRestoreJobs(deps);
    },
  });
});
afterAll(async () => {
  await f.close();
  await fake.stop();
});

async function call(method: string, path: string, token = 'alice-token', body?: unknown) {
  return fetch(`${f.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

async function job(id: string, token = 'alice-token'): Promise<RestoreJob> {
  const res = await call('GET', `/api/v1/restores/${id}`, token);
  expect(res.status).toBe(200);
  return (await res.json()) as RestoreJob;
}

/** What the controller and the step write into the Workflow as it runs. */
function setStatus(name: string, status: Record<string, unknown>, spec?: Record<string, unknown>): void {
  const wf = fake.get('Workflow', 'argo', name)!;
  fake.put({ ...wf, spec: { ...wf.spec, ...spec }, status });
}

const pod = (id: string, templateName: string, phase: string, extra: Record<string, unknown> = {}) => ({
  [id]: {
    id,
    type: 'Pod',
    templateName,
    displayName: templateName,
    phase,
    startedAt: `2026-01-01T00:00:0${id}Z`,
    ...extra,
  },
});

describe('restore jobs as strata-restore Workflows', () => {
  let first: RestoreJob;
  let wf: KubeObject;

  test('POST submits a Workflow from the template, for the verified caller, with an audit record', async () => {
    f.audit.length = 0;
    const res = await call('POST', '/api/v1/restores', 'alice-token', {
      requestId: 'w-1',
      manifestId: f.ids['wf-1'],
      scope: { kind: 'workflow' },
    });
    expect(res.status).toBe(202);
    first = (await res.json()) as RestoreJob;
    expect(first).toMatchObject({ phase: 'Pending', requestedBy: 'alice', namespace: 'agents', workflow: 'wf-1' });
    expect(first.argoWorkflow).toMatchObject({ namespace: 'argo', name: `strata-restore-${first.id}` });
    expect(first.progress.bytesTotal).toBeGreaterThan(0);
    wf = fake.get('Workflow', 'argo', first.argoWorkflow!.name)!;
    expect(wf.spec).toEqual({
      workflowTemplateRef: { name: 'strata-restore' },
      arguments: {
        parameters: [
          { name: 'workflow', value: f.ids['wf-1'] },
          { name: 'requester', value: 'alice' },
          { name: 'requester-groups', value: '' },
        ],
      },
    });
    expect(wf.metadata.annotations?.['strata.dev/requested-by']).toBe('alice');
    expect(f.audit.map((a) => [a.action, a.outcome, a.actor, a.verified])).toEqual([
      ['restore', 'started', 'alice', true],
    ]);
    expect(f.audit[0]!.details).toMatchObject({ job: first.id, argoWorkflow: `argo/strata-restore-${first.id}` });
  });

  test('idempotent by requestId across replicas: a second server finds the same Workflow', async () => {
    const again = await call('POST', '/api/v1/restores', 'alice-token', {
      requestId: 'w-1',
      manifestId: f.ids['wf-1'],
      scope: { kind: 'workflow' },
    });
    expect(again.status).toBe(200);
    expect(((await again.json()) as RestoreJob).id).toBe(first.id);
    const other = await call('POST', '/api/v1/restores', 'alice-token', {
      requestId: 'w-1',
      manifestId: f.ids['wf-2'],
      scope: { kind: 'workflow' },
    });
    expect(other.status).toBe(409);
    const replica = new WorkflowRestoreJobs(deps);
    const alice = { username: 'alice', groups: [], via: 'token-file' as const };
    expect((await replica.get(alice, first.id)).argoWorkflow?.name).toBe(first.argoWorkflow!.name);
    expect((await replica.list(alice)).map((j) => j.id)).toContain(first.id);
    expect(await replica.list({ ...alice, username: 'carol' })).toEqual([]);
    expect(fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/workflows')).length).toBe(1);
  });

  test('phase, bytes and thaw state come from the Workflow; Succeeded lists the verified files', async () => {
    const name = first.argoWorkflow!.name;
    setStatus(name, {
      phase: 'Running',
      nodes: pod('1', 'thaw', 'Failed', {
        message: 'thawing: 1 of 3 packs readable',
        outputs: {
          parameters: [
            { name: 'cold-packs', value: '2' },
            { name: 'cold-ready', value: '0' },
          ],
        },
      }),
    });
    const thawing = await job(first.id);
    expect(thawing.phase).toBe('Running');
    expect(thawing.progress.thaw).toEqual({ state: 'thawing', coldPacks: 2, readyPacks: 0 });

    const total = first.progress.bytesTotal;
    setStatus(name, {
      phase: 'Running',
      nodes: {
        ...pod('1', 'thaw', 'Failed', {
          outputs: {
            parameters: [
              { name: 'cold-packs', value: '2' },
              { name: 'cold-ready', value: '0' },
            ],
          },
        }),
        ...pod('2', 'thaw', 'Succeeded', {
          outputs: {
            parameters: [
              { name: 'cold-packs', value: '2' },
              { name: 'cold-ready', value: '2' },
            ],
          },
        }),
        ...pod('3', 'restore-whole', 'Running', { progress: `5/${total}` }),
      },
    });
    const running = await job(first.id);
    expect(running.progress).toMatchObject({ bytesDone: 5, thaw: { state: 'ready', coldPacks: 2, readyPacks: 2 } });

    setStatus(name, {
      phase: 'Succeeded',
      finishedAt: '2026-01-01T00:01:00Z',
      nodes: {
        ...pod('3', 'restore-whole', 'Succeeded', {
          outputs: { artifacts: [{ name: 'restored', s3: { key: 'argo/restore/restored.tgz' } }] },
        }),
      },
    });
    const done = await job(first.id);
    expect(done.phase).toBe('Succeeded');
    expect(done.progress).toMatchObject({ bytesDone: total, entriesVerified: done.progress.entriesTotal });
    expect(done.argoWorkflow).toMatchObject({ phase: 'Succeeded', artifactKey: 'argo/restore/restored.tgz' });
    const entries = await f.catalog.entries(f.ids['wf-1']!);
    expect(done.result!.files.map((x) => [x.entry, x.sha256]).sort()).toEqual(
      entries.map((e) => [e.path, e.sha256]).sort(),
    );
    // Any replica serves a file of the result: read again from the archive, verified, with ranges.
    const log = done.result!.files.find((x) => x.entry.endsWith('main.log'))!;
    const url = `/api/v1/restores/${first.id}/files/${encodeURIComponent(log.path)}`;
    expect(sha(Buffer.from(await (await call('GET', url)).arrayBuffer()))).toBe(sha(LOG));
    const part = await fetch(`${f.base}${url}`, {
      headers: { authorization: 'Bearer alice-token', range: 'bytes=0-3' },
    });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe(LOG.slice(0, 4));
  });

  test('one log: the template restores that entry path', async () => {
    const res = await call('POST', '/api/v1/restores', 'alice-token', {
      requestId: 'w-log',
      manifestId: f.ids['wf-2'],
      scope: { kind: 'log', nodeId: 'wf-2-node' },
    });
    const logJob = (await res.json()) as RestoreJob;
    const params = (
      fake.get('Workflow', 'argo', logJob.argoWorkflow!.name)!.spec as {
        arguments: { parameters: { name: string; value: string }[] };
      }
    ).arguments.parameters;
    expect(params.find((p) => p.name === 'path')?.value).toBe('logs/wf-2-node/main.log');
    setStatus(logJob.argoWorkflow!.name, { phase: 'Succeeded', nodes: pod('1', 'restore-path', 'Succeeded') });
    expect((await job(logJob.id)).result!.files).toEqual([
      { path: 'main.log', entry: 'logs/wf-2-node/main.log', size: 27, sha256: sha('setup\nsegfault in worker 3\n') },
    ]);
  });

  test('cancel terminates the Workflow (spec.shutdown) and the job reads Cancelled once Argo stopped it', async () => {
    const res = await call('POST', '/api/v1/restores', 'alice-token', {
      requestId: 'w-cancel',
      manifestId: f.ids['wf-3'],
      scope: { kind: 'workflow' },
    });
    const j = (await res.json()) as RestoreJob;
    const name = j.argoWorkflow!.name;
    setStatus(name, { phase: 'Running', nodes: pod('1', 'restore-whole', 'Running') });
    const cancel = await call('POST', `/api/v1/restores/${j.id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as RestoreJob).cancelledBy).toBe('alice');
    const patched = fake.get('Workflow', 'argo', name)!;
    expect((patched.spec as { shutdown?: string }).shutdown).toBe('Terminate');
    expect(patched.metadata.annotations?.['strata.dev/cancelled-by']).toBe('alice');
    setStatus(name, { phase: 'Failed', message: "Stopped with strategy 'Terminate'", nodes: {} });
    expect(await job(j.id)).toMatchObject({ phase: 'Cancelled', cancelledBy: 'alice' });
    expect((await call('POST', `/api/v1/restores/${first.id}/cancel`)).status).toBe(409);
  });

  test('a failed Workflow is a Failed job that says why', async () => {
    const res = await call('POST', '/api/v1/restores', 'alice-token', {
      requestId: 'w-fail',
      manifestId: f.ids['wf-3'],
      scope: { kind: 'workflow' },
    });
    const j = (await res.json()) as RestoreJob;
    setStatus(j.argoWorkflow!.name, {
      phase: 'Failed',
      nodes: pod('1', 'restore-whole', 'Failed', { message: 'pack 3f2a… does not verify' }),
    });
    expect(await job(j.id)).toMatchObject({ phase: 'Failed', error: 'pack 3f2a… does not verify' });
  });

  test('back into the artifact bucket: the namespace’s repository goes to the template, the step’s counts come back', async () => {
    f.audit.length = 0;
    const res = await call('POST', '/api/v1/restores', 'alice-token', {
      requestId: 'w-bucket',
      manifestId: f.ids['wf-1'],
      scope: { kind: 'workflow' },
      target: { kind: 'bucket', overwrite: true },
    });
    expect(res.status).toBe(202);
    const j = restoreJob.parse(await res.json());
    expect(j.target).toEqual({ kind: 'bucket', overwrite: true });
    expect(j.bucket).toMatchObject({ url: 's3://art-agents/', written: 0 });
    const submitted = fake.get('Workflow', 'argo', j.argoWorkflow!.name)!;
    expect((submitted.spec as { arguments: { parameters: unknown[] } }).arguments.parameters).toEqual([
      { name: 'workflow', value: f.ids['wf-1'] },
      { name: 'requester', value: 'alice' },
      { name: 'requester-groups', value: '' },
      { name: 'to-bucket', value: 's3://art-agents/' },
      { name: 'overwrite', value: 'true' },
    ]);
    expect(f.audit[0]!.details).toMatchObject({ toBucket: 's3://art-agents/' });
    setStatus(j.argoWorkflow!.name, {
      phase: 'Succeeded',
      nodes: pod('1', 'restore-to-bucket', 'Succeeded', {
        outputs: {
          parameters: [
            { name: 'counts', value: '{"written":1,"unchanged":0,"skipped":2,"conflicts":0}' },
            { name: 'conflicts', value: '[]' },
            { name: 'bytes', value: '1700' },
          ],
        },
      }),
    });
    const done = restoreJob.parse(await job(j.id));
    expect(done).toMatchObject({
      phase: 'Succeeded',
      bucket: { url: 's3://art-agents/', written: 1, unchanged: 0, skipped: 2, bytes: 1700, conflicts: [] },
    });
    expect(done.result).toBeUndefined();
    // A log or an artifact goes back alone: its entry path goes to the restore-to-bucket step with the target.
    const partial = await call('POST', '/api/v1/restores', 'alice-token', {
      requestId: 'w-bucket-2',
      manifestId: f.ids['wf-1'],
      scope: { kind: 'artifact', path: 'artifacts/wf-1-node/model.txt' },
      target: { kind: 'bucket' },
    });
    expect(partial.status).toBe(202);
    const p = restoreJob.parse(await partial.json());
    expect(p.scope).toEqual({ kind: 'artifact', path: 'artifacts/wf-1-node/model.txt' });
    expect(p.progress).toMatchObject({ entriesTotal: 1 });
    const partialWf = fake.get('Workflow', 'argo', p.argoWorkflow!.name)!;
    expect((partialWf.spec as { arguments: { parameters: unknown[] } }).arguments.parameters).toEqual([
      { name: 'workflow', value: f.ids['wf-1'] },
      { name: 'requester', value: 'alice' },
      { name: 'requester-groups', value: '' },
      { name: 'path', value: 'artifacts/wf-1-node/model.txt' },
      { name: 'to-bucket', value: 's3://art-agents/' },
      { name: 'overwrite', value: 'false' },
    ]);
    const log = await call('POST', '/api/v1/restores', 'alice-token', {
      requestId: 'w-bucket-3',
      manifestId: f.ids['wf-1'],
      scope: { kind: 'log', nodeId: 'wf-1-node' },
      target: { kind: 'bucket' },
    });
    expect(log.status).toBe(202);
    const logWf = fake.get('Workflow', 'argo', restoreJob.parse(await log.json()).argoWorkflow!.name)!;
    expect((logWf.spec as { arguments: { parameters: unknown[] } }).arguments.parameters).toContainEqual({
      name: 'path',
      value: 'logs/wf-1-node/main.log',
    });
  });

  test('permissions as in embedded mode; nothing is submitted for a refused request', async () => {
    const before = fake.requests.filter((r) => r.method === 'POST').length;
    const body = { requestId: 'p-1', manifestId: f.ids['wf-4'], scope: { kind: 'workflow' } };
    expect((await call('POST', '/api/v1/restores', 'bob-token', body)).status).toBe(403);
    expect((await call('POST', '/api/v1/restores', 'carol-token', body)).status).toBe(404);
    expect((await call('GET', `/api/v1/restores/${first.id}`, 'carol-token')).status).toBe(404);
    expect(fake.requests.filter((r) => r.method === 'POST').length).toBe(before);
  });
});

describe('admission: only strata-server submits strata-restore for someone else', () => {
  const policy = strataAdmissionPolicies().find((p) => p.name === 'strata-workflows')!;
  const submit = (requester: string, requestedBy?: string) => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      name: 'r',
      namespace: 'argo',
      ...(requestedBy !== undefined && { annotations: { 'strata.dev/requested-by': requestedBy } }),
    },
    spec: {
      workflowTemplateRef: { name: 'strata-restore' },
      arguments: {
        parameters: [
          { name: 'requester', value: requester },
          { name: 'requester-groups', value: 'legal' },
        ],
      },
    },
  });
  const create = (username: string, object: object, template = 'strata-restore') =>
    admissionDenials(policy, {
      operation: 'CREATE',
      namespace: 'argo',
      object: { ...object, spec: { ...(object as { spec: object }).spec, workflowTemplateRef: { name: template } } },
      oldObject: null,
      userInfo: { username, groups: [] },
    });

  test('the server, naming the caller in the parameter and the annotation alike', () => {
    expect(create(SERVER, submit('alice', 'alice'))).toEqual([]);
  });

  test('refused: a mismatch, no annotation, another account, another template', () => {
    expect(create(SERVER, submit('alice', 'mallory')).join('\n')).toMatch(/strata-server submits strata-restore/);
    expect(create(SERVER, submit('alice')).join('\n')).toMatch(/strata-server submits strata-restore/);
    expect(create('system:serviceaccount:argo:strata-watcher', submit('alice', 'alice')).join('\n')).toMatch(
      /must be your own username/,
    );
    expect(create('mallory', submit('alice', 'alice')).join('\n')).toMatch(/must be your own username/);
    expect(create(SERVER, submit('alice', 'alice'), 'strata-emergency-delete').join('\n')).toMatch(
      /must be your own username/,
    );
    // A person still names only their own groups.
    expect(create('alice', submit('alice', 'alice')).join('\n')).toMatch(/may name only your own groups/);
  });
});
