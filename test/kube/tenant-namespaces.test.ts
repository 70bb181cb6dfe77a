// The default install's permissions, enforced: the fake API server checks every request against the RBAC the prod
// overlay renders (Strata in `argo`, its accounts bound in tenant namespace `agents` only), and the sweep and the
// watcher run through the real CLI as those accounts. They list and watch each tenant namespace, never cluster-wide.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { FakeKubeApi, type FakeRule } from '../support/fake-kube-api.ts';
import { runCli } from '../support/run-cli.ts';
import { buildKustomization, type Manifest } from '../templates/manifests.ts';

const POLICY = `apiVersion: strata.dev/v1alpha1
kind: RetentionPolicy
metadata:
  name: test
spec:
  defaults:
    archiveAfter: 1m
    timeline: { hot: 7d }
    retainFor: 1y
    deleteSource: true
`;

const account = (name: string) => `system:serviceaccount:argo:${name}`;

/** The rendered bindings as the fake's rules: a RoleBinding grants in its namespace, a ClusterRoleBinding everywhere. */
function rulesOf(install: Manifest[]): FakeRule[] {
  const out: FakeRule[] = [];
  for (const b of install.filter((d) => d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding')) {
    const ref = b.roleRef as { kind: string; name: string };
    const role = install.find(
      (d) =>
        d.kind === ref.kind &&
        d.metadata.name === ref.name &&
        (ref.kind === 'ClusterRole' || d.metadata.namespace === b.metadata.namespace),
    )!;
    const namespace = b.kind === 'RoleBinding' ? b.metadata.namespace : undefined;
    for (const s of b.subjects as { kind: string; name: string; namespace: string }[])
      for (const r of role.rules as Omit<FakeRule, 'subject' | 'namespace'>[])
        out.push({ ...r, subject: { user: `system:serviceaccount:${s.namespace}:${s.name}` }, namespace });
  }
  return out;
}

function finished(namespace: string, name: string): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name, namespace },
    spec: { entrypoint: 'main' },
    status: {
      phase: 'Succeeded',
      startedAt: '2024-01-01T00:00:00Z',
      finishedAt: '2024-01-01T00:05:00Z',
      nodes: { [name]: { id: name, name, displayName: name, type: 'Pod', templateName: 'main', phase: 'Succeeded' } },
    },
  };
}

describe('the default install: accounts bound per tenant namespace', () => {
  const fake = new FakeKubeApi();
  const install = buildKustomization('templates/overlays/prod');
  let tmp: string;
  let common: string[];

  /** Runs the CLI as one of Strata's accounts, with the tenant namespaces the install lists (or none). */
  async function as(name: string, tenants: string, args: string[]) {
    vi.stubEnv('STRATA_KUBE_TOKEN', name);
    vi.stubEnv('STRATA_TENANT_NAMESPACES', tenants);
    const { code, out, err } = await runCli([...args, ...common]);
    return { code, out: out.trim().startsWith('{') ? (JSON.parse(out) as Record<string, unknown>) : {}, err };
  }

  beforeAll(async () => {
    const url = await fake.start();
    tmp = mkdtempSync(join(tmpdir(), 'strata-tenants-'));
    writeFileSync(join(tmp, 'policy.yaml'), POLICY);
    common = ['--store', `file:${join(tmp, 'repo')}`, '--kube-server', url, '--policy', join(tmp, 'policy.yaml')];
    common.push('-o', 'json');
    for (const a of ['strata-archiver', 'strata-finalizer', 'strata-watcher'])
      fake.addUser(a, { username: account(a) });
    for (const r of rulesOf(install)) fake.grant(r);
    fake.enforceRbac = true;
    fake.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'strata-watermark', namespace: 'argo' } });
    for (const [ns, name] of [
      ['agents', 'agents-done'],
      ['elsewhere', 'not-a-tenant'],
    ] as const)
      fake.put(finished(ns, name));
    // Its one pod and log: a complete archive, so finalize deletes the Workflow (pods, logs read in `agents`).
    fake.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'agents-done',
        namespace: 'agents',
        labels: { 'workflows.argoproj.io/workflow': 'agents-done' },
      },
      spec: { containers: [{ name: 'main' }] },
    });
    fake.setLog('agents', 'agents-done', 'main', 'done\n');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  afterAll(async () => {
    await fake.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the install binds nothing cluster-wide on workflows: listing every namespace is refused, with what to do', async () => {
    const r = await as('strata-archiver', '', ['assess']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/forbidden/);
    expect(r.err).toMatch(/STRATA_TENANT_NAMESPACES/);
    expect(r.err).toMatch(/components\/cluster-wide/);
  });

  test('a namespace without the tenant bindings is refused, naming the directory to add', async () => {
    const r = await as('strata-archiver', 'agents,elsewhere', ['assess']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/namespace elsewhere is not a tenant namespace of this install: add a tenants\/elsewhere/);
  });

  test('assess → archive → finalize as the install’s accounts, in the tenant namespace only', async () => {
    const outputs = join(tmp, 'outputs');
    const assess = await as('strata-archiver', 'agents', [
      'assess',
      '--watermark',
      'configmap:argo/strata-watermark',
      '--outputs-dir',
      outputs,
    ]);
    expect(assess.err).not.toMatch(/forbidden/);
    expect(assess.code).toBe(0);
    const batches = JSON.parse(readFileSync(join(outputs, 'batches'), 'utf8')) as {
      workflows: string;
      uids: string;
      group: string;
    }[];
    expect(batches.map((b) => b.workflows)).toEqual(['agents/agents-done']);
    // The sweep read its watermark under the archiver's grant (get on strata-watermark in argo, nothing broader).
    expect(fake.requests.some((r) => r.path === '/api/v1/namespaces/argo/configmaps/strata-watermark')).toBe(true);

    const b = batches[0]!;
    const archive = await as('strata-archiver', 'agents', [
      'archive',
      '--no-artifacts',
      '--workflows',
      b.workflows,
      '--uids',
      b.uids,
      '--group',
      b.group,
    ]);
    expect(archive.code).toBe(0);
    const fin = await as('strata-finalizer', 'agents', ['finalize', '--manifest', String(archive.out.manifests)]);
    expect(fin.code).toBe(0);
    expect(fake.get('Workflow', 'agents', 'agents-done')).toBeUndefined();
    expect(fake.get('Workflow', 'elsewhere', 'not-a-tenant')).toBeDefined();
    // Every workflow request named a namespace: nothing asked the cluster-wide collection.
    const clusterWide = fake.requests.filter((r) => /^\/apis\/argoproj\.io\/v1alpha1\/workflows/.test(r.path));
    expect(clusterWide.map((r) => r.path)).toEqual(['/apis/argoproj.io/v1alpha1/workflows']); // the refused one
  });

  test('the watcher follows each tenant namespace (one list and watch each) and archives what finishes in any', async () => {
    // A second tenant namespace, bound the way templates/tenant binds the first.
    const second = install
      .filter((d) => d.file.startsWith('templates/tenant/'))
      .map((d) => ({ ...d, metadata: { ...d.metadata, namespace: 'team-b' } }));
    for (const r of rulesOf([...install, ...second]).filter((r) => r.namespace === 'team-b')) fake.grant(r);
    const running = (ns: string, name: string) => ({ ...finished(ns, name), status: { phase: 'Running' } });
    fake.put(running('agents', 'a-live'));
    fake.put(running('team-b', 'b-live'));
    const watches = () => fake.requests.filter((r) => r.query.watch === 'true').map((r) => r.path);
    const before = watches().length;
    const watching = as('strata-watcher', 'agents,team-b', ['watch', '--no-artifacts', '--max-events', '2']);
    await vi.waitFor(() => expect(watches().length - before).toBe(2), { timeout: 20_000 });
    expect(
      watches()
        .slice(before)
        .map((p) => p.split('/')[5])
        .sort(),
    ).toEqual(['agents', 'team-b']);
    fake.put(finished('agents', 'a-live'));
    fake.put(finished('team-b', 'b-live'));
    const r = await watching;
    expect(r.err).not.toMatch(/forbidden/);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/archived: agents\/a-live/);
    expect(r.err).toMatch(/archived: team-b\/b-live/);
    // Labelled archived (patch), kept: without pods or logs they were archived as incomplete.
    for (const [ns, name] of [
      ['agents', 'a-live'],
      ['team-b', 'b-live'],
    ])
      expect(fake.get('Workflow', ns!, name!)?.metadata.labels?.['strata.dev/archived']).toBeDefined();
  });
});
