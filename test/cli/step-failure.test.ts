// A failing step still writes its Argo output parameters and says why it failed in the pod's termination message
// (what Argo shows as the node's message), instead of "open /tmp/outputs/deleted: no such file or directory".
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  TERMINATION_MESSAGE_LIMIT,
  fitTerminationMessage,
  writeTerminationMessage,
} from '../../lib/cli/termination-message.ts';
import { FakeKubeApi } from '../support/fake-kube-api.ts';
import { runCli } from '../support/run-cli.ts';

let tmp: string;
let terminationLog: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'strata-step-failure-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => {
  // As the kubelet does in a pod: the file exists, empty, before the container starts.
  terminationLog = join(tmp, `termination-log-${Math.random().toString(36).slice(2)}`);
  writeFileSync(terminationLog, '');
  vi.stubEnv('STRATA_TERMINATION_LOG', terminationLog);
});
afterEach(() => vi.unstubAllEnvs());

describe('the termination message', () => {
  test('is written only into a file that exists (outside a pod nothing is created) and fits the kubelet limit', () => {
    const absent = join(tmp, 'no-such-dir', 'termination-log');
    expect(writeTerminationMessage('boom', { STRATA_TERMINATION_LOG: absent })).toBe(false);
    expect(existsSync(absent)).toBe(false);
    writeFileSync(terminationLog, 'x'.repeat(10_000));
    expect(writeTerminationMessage('short', { STRATA_TERMINATION_LOG: terminationLog })).toBe(true);
    expect(readFileSync(terminationLog, 'utf8')).toBe('short');
    const long = fitTerminationMessage('é'.repeat(5000));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(TERMINATION_MESSAGE_LIMIT);
    expect(long).toMatch(/^é+ …\(cut\)$/);
  });

  test('a step that throws: the same line as stderr', async () => {
    const r = await runCli(['finalize', '--manifest', ' ', '--store', `file:${join(tmp, 'repo')}`]);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('strata: --manifest names no manifest id');
    expect(readFileSync(terminationLog, 'utf8')).toBe('strata finalize: --manifest names no manifest id');
  });

  test('a step that succeeds leaves it empty', async () => {
    const r = await runCli(['selfcheck', '--store', `file:${join(tmp, 'repo-ok')}`]);
    expect(r.code).toBe(0);
    expect(readFileSync(terminationLog, 'utf8')).toBe('');
  });
});

describe('finalize against the fake API server, when labelling fails', () => {
  const fake = new FakeKubeApi();
  let common: string[];

  beforeAll(async () => {
    const url = await fake.start();
    common = ['--store', `file:${join(tmp, 'finalize-repo')}`, '--kube-server', url, '-o', 'json'];
    for (const name of ['wf-a', 'wf-b']) {
      fake.put({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Workflow',
        metadata: { name, namespace: 'agents' },
        spec: { entrypoint: 'main' },
        status: {
          phase: 'Succeeded',
          startedAt: '2024-01-01T00:00:00Z',
          finishedAt: '2024-01-01T00:05:00Z',
          nodes: { [name]: { id: name, name, type: 'Pod', templateName: 'main', phase: 'Succeeded' } },
        },
      });
      fake.put({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'agents', labels: { 'workflows.argoproj.io/workflow': name } },
        spec: { containers: [{ name: 'main' }] },
      });
      fake.setLog('agents', name, 'main', `log of ${name}\n`);
    }
  });
  afterAll(() => fake.stop());

  test('outputs are written, the other manifest is finalized, and the cause is the termination message', async () => {
    const uids = ['wf-a', 'wf-b'].map((n) => fake.get('Workflow', 'agents', n)!.metadata.uid!);
    const archived = await runCli([
      'archive',
      ...common,
      '--no-artifacts',
      '--workflows',
      'agents/wf-a,agents/wf-b',
      '--uids',
      uids.join(','),
    ]);
    expect(archived.code).toBe(0);
    const manifests = (JSON.parse(archived.out) as { manifests: string }).manifests.split(',');
    expect(manifests).toHaveLength(2);

    // The API server refuses the first label patch (as a real one refused a 64-character label value).
    fake.failNext('PATCH', /\/workflows\/wf-a$/, 422);
    const outputs = join(tmp, 'outputs');
    const fin = await runCli(['finalize', ...common, '--manifest', manifests.join(','), '--outputs-dir', outputs]);
    expect(fin.code).toBe(1);
    const out = JSON.parse(fin.out) as { refused: number; labelled: number; results: { reasons: string[] }[] };
    expect(out).toMatchObject({ refused: 1, labelled: 1 });
    expect(readFileSync(join(outputs, 'refused'), 'utf8')).toBe('1');
    expect(readFileSync(join(outputs, 'deleted'), 'utf8')).toBe('0');
    const message = readFileSync(terminationLog, 'utf8');
    expect(message).toMatch(/^finalize refused 1 of 2 manifests, nothing of theirs was deleted; first: agents\/wf-a/);
    expect(message).toMatch(/labelling failed: label workflow agents\/wf-a: HTTP 422 injected failure 422/);
    // Fail closed: the refused workflow is neither labelled nor deleted; the other one is labelled.
    expect(fake.get('Workflow', 'agents', 'wf-a')?.metadata.labels?.['strata.dev/archived']).toBeUndefined();
    expect(fake.get('Workflow', 'agents', 'wf-b')?.metadata.labels?.['strata.dev/archived']).toBeDefined();
  });
});
