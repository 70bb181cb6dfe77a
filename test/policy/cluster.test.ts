// `strata policy validate --from-cluster` against a fake Kubernetes API serving the default policy ConfigMaps.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { FakeKubeApi } from '../support/fake-kube-api.ts';
import { spawnCli } from '../support/spawn-cli.ts';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const fake = new FakeKubeApi();
let url = '';

beforeAll(async () => {
  url = await fake.start();
  for (const f of readdirSync(join(repoRoot, 'policies')).filter((f) => f.startsWith('strata-policy-'))) {
    for (const d of parseAllDocuments(readFileSync(join(repoRoot, 'policies', f), 'utf8')))
      fake.put(d.toJS() as KubeObject);
  }
  // A broken policy in another namespace, and an unlabelled ConfigMap that must be ignored.
  const broken =
    'apiVersion: strata.dev/v1alpha1\nkind: RetentionPolicy\nmetadata: {name: t}\nspec:\n  rules:\n    - name: team\n      match: lables["a"] == "b"\n';
  fake.put({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'team-policy', namespace: 'teams', labels: { 'strata.dev/policy': 'true' } },
    data: { 'p.yaml': broken },
  });
  fake.put({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'other', namespace: 'teams' },
    data: { 'p.yaml': broken },
  });
});
afterAll(() => fake.stop());

const strata = (args: string[]) => spawnCli(args, { env: { STRATA_KUBE_SERVER: url } });

describe('policy validate --from-cluster', () => {
  test('reads labelled ConfigMaps of the given namespaces and reports errors with the ConfigMap and key', async () => {
    const run = await strata([
      'policy',
      'validate',
      '--from-cluster',
      '--policy-namespace',
      'argo,teams',
      '-o',
      'json',
    ]);
    expect(run.code, run.stderr).toBe(1);
    const out = JSON.parse(run.stdout) as { sources: number; rules: number; errors: number };
    expect(out).toMatchObject({ sources: 4, rules: 10, errors: 1 });
    expect(run.stderr).toMatch(
      /^cluster:configmap\/teams\/team-policy:\d+:\d+ \(configmap\/teams\/team-policy key p\.yaml\): error: rule "team": match: Unknown variable: lables/m,
    );
  });
});
