// The fake API server refuses what the real kube-apiserver refuses (names, label/annotation keys and values, sizes),
// with the same 422 Invalid Status, so faults of that class fail a fast test and not only a real cluster.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KubeClusterApi, plainKubeConfig } from '../../lib/kube/client.ts';
import { FakeKubeApi } from '../support/fake-kube-api.ts';
import {
  TOTAL_ANNOTATION_SIZE_LIMIT,
  isQualifiedName,
  isValidLabelValue,
  validateObjectMeta,
} from '../support/kube-validation.ts';

test('label values: at most 63 characters, alphanumeric at both ends, "-", "_" and "." inside, or empty', () => {
  expect(isValidLabelValue('')).toEqual([]);
  expect(isValidLabelValue('a'.repeat(63))).toEqual([]);
  expect(isValidLabelValue('My_value-1.2')).toEqual([]);
  expect(isValidLabelValue('a'.repeat(64))).toEqual(['must be no more than 63 characters']);
  for (const bad of ['-a', 'a-', 'a b', 'a/b', 'é']) expect(isValidLabelValue(bad)).not.toEqual([]);
});

test('qualified names: an optional DNS-subdomain prefix (≤ 253) and a name (≤ 63)', () => {
  expect(isQualifiedName('strata.dev/archived')).toEqual([]);
  expect(isQualifiedName('app')).toEqual([]);
  expect(isQualifiedName(`${'a'.repeat(253)}/x`)).toEqual([]);
  expect(isQualifiedName(`${'a'.repeat(254)}/x`)).toContain('prefix part must be no more than 253 characters');
  expect(isQualifiedName(`x/${'a'.repeat(64)}`)).toContain('name part must be no more than 63 characters');
  expect(isQualifiedName('Strata.dev/x').some((m) => m.startsWith('prefix part a lowercase RFC 1123'))).toBe(true);
  expect(isQualifiedName('/x')).toContain('prefix part must be non-empty');
  expect(isQualifiedName('a/b/c')).toHaveLength(1);
  expect(isQualifiedName('x/')).toContain('name part must be non-empty');
});

test('object metadata: DNS-subdomain names, a name or generateName, annotations at most 256 KiB in total', () => {
  expect(validateObjectMeta({ name: 'steps-4k5vn' })).toEqual([]);
  expect(validateObjectMeta({ generateName: 'steps-', name: 'steps-x1y2z' })).toEqual([]);
  expect(validateObjectMeta({})).toMatchObject([{ type: 'Required', field: 'metadata.name' }]);
  expect(validateObjectMeta({ name: 'Steps_1' })).toMatchObject([{ type: 'Invalid', field: 'metadata.name' }]);
  expect(validateObjectMeta({ name: 'a'.repeat(254) })[0]?.detail).toBe('must be no more than 253 characters');
  expect(validateObjectMeta({ name: 'x', generateName: 'Bad_' })[0]?.field).toBe('metadata.generateName');
  const big = { name: 'x', annotations: { 'a/b': 'v'.repeat(TOTAL_ANNOTATION_SIZE_LIMIT - 3) } };
  expect(validateObjectMeta(big)).toEqual([]);
  big.annotations['a/b'] += 'v';
  expect(validateObjectMeta(big)).toMatchObject([{ type: 'TooLong', field: 'metadata.annotations' }]);
  expect(validateObjectMeta({ name: 'x', annotations: { 'Example.COM/Key': 'any value at all: /, spaces' } })).toEqual(
    [],
  );
  expect(
    validateObjectMeta({ name: 'x', finalizers: ['workflows.argoproj.io/artifact-gc', 'bad finalizer'] }),
  ).toHaveLength(1);
});

describe('the fake API server answers invalid writes as the real one does', () => {
  const fake = new FakeKubeApi();
  let api: KubeClusterApi;
  let url: string;

  beforeAll(async () => {
    url = await fake.start();
    api = new KubeClusterApi(plainKubeConfig(url));
  });
  afterAll(() => fake.stop());

  async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await fetch(url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  }

  test('a patch with an invalid label or oversized annotations is 422 Invalid, with causes, and changes nothing', async () => {
    const wf = fake.put({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'wf-1', namespace: 'argo', labels: { keep: 'me' } },
    });
    const before = fake.get('Workflow', 'argo', 'wf-1')!.metadata.resourceVersion;
    const r = await fetch(`${url}/apis/argoproj.io/v1alpha1/namespaces/argo/workflows/wf-1`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { labels: { 'strata.dev/archived': 'x'.repeat(64), 'bad key!': 'v' } } }),
    });
    expect(r.status).toBe(422);
    const status = (await r.json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      code: 422,
      details: { name: 'wf-1', group: 'argoproj.io', kind: 'Workflow' },
    });
    expect(status.message).toMatch(/^Workflow\.argoproj\.io "wf-1" is invalid: \[metadata\.labels: Invalid value: /);
    const causes = (status.details as { causes: { reason: string; field: string }[] }).causes;
    expect(causes.map((c) => [c.reason, c.field])).toEqual([
      ['FieldValueInvalid', 'metadata.labels'],
      ['FieldValueInvalid', 'metadata.labels'],
    ]);
    expect(fake.get('Workflow', 'argo', 'wf-1')!.metadata.resourceVersion).toBe(before);

    const tooBig = { 'example.com/blob': 'b'.repeat(TOTAL_ANNOTATION_SIZE_LIMIT) };
    await expect(
      api.patchWorkflowMetadata('argo', 'wf-1', wf.metadata.uid!, { annotations: tooBig }),
    ).rejects.toMatchObject({ status: 422, message: expect.stringMatching(/metadata\.annotations: Too long/) });
  });

  test('create: invalid names are 422, generateName gets five random characters, resourceVersion is refused', async () => {
    const invalid = await post('/api/v1/namespaces/argo/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'Not_A_DNS_Name' },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.message).toMatch(/^ConfigMap "Not_A_DNS_Name" is invalid: metadata\.name: Invalid value/);

    const noName = await post('/apis/argoproj.io/v1alpha1/namespaces/argo/workflows', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: {},
    });
    expect(noName.status).toBe(422);
    expect(noName.body.message).toMatch(/metadata\.name: Required value: name or generateName is required/);

    const generated = await post('/apis/argoproj.io/v1alpha1/namespaces/argo/workflows', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { generateName: 'steps-' },
    });
    expect(generated.status).toBe(201);
    expect((generated.body.metadata as { name: string }).name).toMatch(/^steps-[a-z0-9]{5}$/);

    const withVersion = await post('/apis/argoproj.io/v1alpha1/namespaces/argo/workflows', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'again', resourceVersion: '12' },
    });
    expect(withVersion.status).toBe(400);

    await api.writeConfigMap('argo', 'ok', { a: 'b' }, { 'strata.dev/watermark': 'true' });
    await expect(api.writeConfigMap('argo', 'bad-labels', {}, { 'strata.dev/x': '-bad-' })).rejects.toMatchObject({
      status: 422,
    });
  });

  test('objects put straight into the fake obey the same rules (a test fixture cannot be what no cluster holds)', () => {
    expect(() =>
      fake.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'argo', labels: { a: '-' } } }),
    ).toThrow(/metadata\.labels: Invalid value: "-"/);
  });
});
