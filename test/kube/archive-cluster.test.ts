// `strata archive` from the cluster (the one archiver for every source), through the real CLI and the fake API server.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { FakeKubeApi } from '../support/fake-kube-api.ts';
import { runCli } from '../support/run-cli.ts';

const POLICY = `apiVersion: strata.dev/v1alpha1
kind: RetentionPolicy
metadata:
  name: test
spec:
  defaults:
    archiveAfter: 1m
    timeline: { hot: 7d }
    retainFor: 1y
  rules:
    - name: finance
      priority: 10
      match: labels[?"team"].orValue("") == "finance"
      retainFor: 7y
`;

function workflow(namespace: string, name: string, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name, namespace, labels: {} },
    spec: { entrypoint: 'main' },
    status: {
      phase: 'Succeeded',
      startedAt: '2024-01-01T00:00:00Z',
      finishedAt: '2024-01-01T00:05:00Z',
      nodes: { [name]: { id: name, name, type: 'Pod', templateName: 'main', phase: 'Succeeded' } },
    },
    ...extra,
  };
}

/** A finished workflow whose one pod still exists, with a log of its own. */
function putWithPod(fake: FakeKubeApi, namespace: string, name: string, labels: Record<string, string> = {}) {
  const wf = workflow(namespace, name);
  wf.metadata.labels = labels;
  fake.put(wf);
  fake.put({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { 'workflows.argoproj.io/workflow': name } },
    spec: { containers: [{ name: 'main' }] },
  });
  fake.setLog(namespace, name, 'main', `log of ${namespace}/${name}\n`.repeat(50));
  return fake.get('Workflow', namespace, name)!;
}

function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, withFileTypes: true }).flatMap((d) =>
      d.isFile() && !d.name.startsWith('.') ? [join(d.parentPath, d.name)] : [],
    );
  } catch {
    return [];
  }
  return names;
}

describe('strata archive from the cluster', () => {
  const fake = new FakeKubeApi();
  let tmp: string;
  let url: string;
  let run = 0;
  /** A fresh repository per test: pack counts and results stay the test's own. */
  let repo: string;

  beforeAll(async () => {
    url = await fake.start();
    tmp = mkdtempSync(join(tmpdir(), 'strata-archive-cluster-'));
    writeFileSync(join(tmp, 'policy.yaml'), POLICY);
  });
  afterAll(async () => {
    await fake.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const strata = async (args: string[]) => {
    const { code, out, err } = await runCli(args);
    return { code, err, out: out.trim().startsWith('{') ? (JSON.parse(out) as Record<string, unknown>) : {} };
  };
  const common = () => {
    repo = join(tmp, `repo-${++run}`);
    return ['--store', `file:${repo}`, '--kube-server', url, '--policy', join(tmp, 'policy.yaml'), '-o', 'json'];
  };

  test('a batch shares packs: three small workflows make one pack, each its own manifest and audit record', async () => {
    const uids = ['a', 'b', 'c'].map((n) => putWithPod(fake, 'batch', n).metadata.uid!);
    const r = await strata([
      'archive',
      ...common(),
      '--no-artifacts',
      '--workflows',
      'batch/a,batch/b,batch/c',
      '--uids',
      uids.join(','),
      '--group',
      'standard-2024-01',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ workflows: 3, archived: 3, failed: 0, skipped: 0, group: 'standard-2024-01' });
    expect(String(r.out.manifests).split(',')).toHaveLength(3);
    // The per-workflow archiver this replaced wrote one pack per workflow.
    expect(filesUnder(join(repo, 'archive/packs'))).toHaveLength(1);
    const audit = filesUnder(join(repo, 'audit')).map((f) => JSON.parse(readFileSync(f, 'utf8')) as { actor: string });
    expect(audit.filter((a) => a.actor === 'strata/archive')).toHaveLength(3);
  });

  test('--namespace archives the finished, unarchived workflows, each into the group its policy gives', async () => {
    putWithPod(fake, 'sel', 'plain');
    putWithPod(fake, 'sel', 'ledger', { team: 'finance' });
    putWithPod(fake, 'sel', 'done-before', { 'strata.dev/archived': 'f'.repeat(20) });
    fake.put({ ...workflow('sel', 'running'), status: { phase: 'Running' } });
    const r = await strata(['archive', ...common(), '--no-artifacts', '--namespace', 'sel']);
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ workflows: 2, archived: 2, skipped: 1 });
    expect(r.out.group).toBe('default-2024-01,finance-2024-01');
    expect(r.out.skippedWorkflows).toEqual([
      expect.objectContaining({ workflow: 'sel/running', reason: expect.stringMatching(/not finished/) }),
    ]);
    expect(readdirSync(join(repo, 'archive/packs')).sort()).toEqual(['default-2024-01', 'finance-2024-01']);
    // The API server never sent the one already labelled archived.
    const lists = fake.requests.filter((q) => q.path === '/apis/argoproj.io/v1alpha1/namespaces/sel/workflows');
    expect(lists.at(-1)?.query.labelSelector).toBe('!strata.dev/archived');
  });

  test('--artifacts names one repository for logs of deleted pods (a file: copy of the bucket here)', async () => {
    const bucket = join(tmp, 'bucket');
    mkdirSync(join(bucket, 'gone/gone'), { recursive: true });
    writeFileSync(join(bucket, 'gone/gone/main.log'), 'archived by argo\n');
    const wf = workflow('art', 'gone');
    (wf.status!.nodes as Record<string, Record<string, unknown>>).gone!.outputs = {
      artifacts: [{ name: 'main-logs', s3: { key: 'gone/gone/main.log' } }],
    };
    fake.put(wf);
    const without = await strata(['archive', ...common(), '--no-artifacts', '--workflows', 'art/gone', '--group', 'g']);
    expect(without.out).toMatchObject({ archived: 1, incomplete: 1 });
    const withRepo = await strata([
      'archive',
      ...common(),
      '--artifacts',
      `file:${bucket}`,
      '--workflows',
      'art/gone',
      '--group',
      'g',
    ]);
    expect(withRepo.code).toBe(0);
    expect(withRepo.out).toMatchObject({ archived: 1, incomplete: 0 });
  });

  test('one unreadable workflow fails the run, unless --allow-partial (the others are archived either way)', async () => {
    putWithPod(fake, 'part', 'fine');
    putWithPod(fake, 'part', 'broken');
    fake.failNext('GET', /\/workflows\/broken$/, 500, 1000);
    const args = ['--no-artifacts', '--workflows', 'part/fine,part/broken', '--group', 'g'];
    const strict = await strata(['archive', ...common(), ...args]);
    expect(strict.code).toBe(1);
    expect(strict.out).toMatchObject({ archived: 1, failed: 1 });
    expect(strict.err).toMatch(/failed: part\/broken/);
    const partial = await strata(['archive', ...common(), ...args, '--allow-partial']);
    expect(partial.code).toBe(0);
    expect(partial.out).toMatchObject({ archived: 1, failed: 1 });
  });

  test('usage errors name what is wrong; watch no longer archives batches and says where that went', async () => {
    const both = await strata(['archive', ...common(), '--from', tmp, '--workflows', 'a/b']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/give one/);
    const none = await strata(['archive', ...common()]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/name a source/);
    const bad = await strata(['archive', ...common(), '--workflows', 'no-namespace', '--group', 'g']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/is not namespace\/name/);
    const watch = await strata(['watch', ...common(), '--workflows', 'batch/a', '--no-finalize']);
    expect(watch.code).toBe(2);
    expect(watch.err).toMatch(/strata archive --workflows/);
  });
});
