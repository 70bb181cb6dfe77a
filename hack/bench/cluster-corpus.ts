// Serves a generated corpus as a cluster for `npm run bench`: the fake API server (test/support/fake-kube-api.ts)
// holds each workflow, its pods with their logs, its CodeRuns with Jobs and pods; artifacts go to a directory laid
// out like the artifact bucket (keys from status). `tsx hack/bench/cluster-corpus.ts CORPUS BUCKET` prints the URL.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { isSourceProblem, type BundleEntry } from '../../lib/bundle/bundle.ts';
import type { KubeObject } from '../../lib/kube/cluster-api.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';
import { FakeKubeApi } from '../../test/support/fake-kube-api.ts';

async function bytesOf(entry: BundleEntry): Promise<Buffer> {
  if (entry.read) return entry.read();
  const chunks: Buffer[] = [];
  for await (const c of await entry.open()) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Puts every workflow of the corpus into `fake`, copies its artifacts under `bucket`; returns how many workflows. */
export async function loadCorpusIntoCluster(corpusDir: string, fake: FakeKubeApi, bucket: string): Promise<number> {
  const source = openDirectorySource(corpusDir);
  let workflows = 0;
  for await (const id of source.list()) {
    if (isSourceProblem(id)) throw new Error(`corpus: ${id.where}: ${id.message}`);
    const bundle = await source.load(id);
    const ns = id.namespace;
    fake.put({ ...(bundle.workflow as KubeObject), apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow' });
    workflows++;
    /** pod name → container → log text, for the workflow's own pods and for each CodeRun's job pods. */
    const pods = new Map<string, { labels: Record<string, string>; logs: Map<string, string> }>();
    const podOf = (name: string, labels: Record<string, string>) => {
      let pod = pods.get(name);
      if (!pod) pods.set(name, (pod = { labels, logs: new Map() }));
      return pod;
    };
    const jobs = new Map<string, string>(); // job name → owning CodeRun name
    const resources = new Map<string, KubeObject>();
    for (const entry of bundle.entries) {
      const meta = (entry.meta ?? {}) as Record<string, unknown>;
      if (entry.kind === 'log' && typeof meta.podName === 'string' && entry.container) {
        const text = (await bytesOf(entry)).toString('utf8');
        if (typeof meta.resourceName === 'string') {
          const job = `${meta.podName}-job`;
          jobs.set(job, meta.resourceName);
          podOf(meta.podName, { 'job-name': job }).logs.set(entry.container, text);
        } else {
          podOf(meta.podName, { 'workflows.argoproj.io/workflow': id.name }).logs.set(entry.container, text);
        }
      } else if (entry.kind === 'artifact') {
        const key = (meta.s3 as { key?: string } | undefined)?.key;
        // A key is data from the corpus: one that would climb out of the bucket directory is not copied.
        if (!key || isAbsolute(key) || key.split('/').some((s) => s === '' || s === '.' || s === '..')) continue;
        const target = join(bucket, key);
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(join(corpusDir, ns, id.name, entry.path), target);
      } else if (entry.kind === 'resource' && typeof meta.name === 'string') {
        resources.set(meta.name, parse((await bytesOf(entry)).toString('utf8')) as KubeObject);
      }
    }
    for (const obj of resources.values()) fake.put(obj);
    for (const [job, owner] of jobs) {
      const uid = resources.get(owner)?.metadata.uid ?? '';
      fake.put({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: job,
          namespace: ns,
          ownerReferences: [{ apiVersion: 'v1', kind: 'CodeRun', name: owner, uid }],
        },
      });
    }
    for (const [name, pod] of pods) {
      fake.put({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns, labels: pod.labels },
        spec: { containers: [...pod.logs.keys()].map((c) => ({ name: c })) },
      });
      for (const [container, text] of pod.logs) fake.setLog(ns, name, container, text);
    }
  }
  return workflows;
}

async function main(): Promise<void> {
  const [corpusDir, bucket, urlFile] = process.argv.slice(2);
  if (!corpusDir || !bucket || !urlFile) {
    process.stderr.write('usage: tsx hack/bench/cluster-corpus.ts CORPUS_DIR BUCKET_DIR URL_FILE\n');
    process.exit(2);
  }
  const fake = new FakeKubeApi();
  const url = await fake.start();
  const count = await loadCorpusIntoCluster(corpusDir, fake, bucket);
  process.stderr.write(`cluster-corpus: ${count} workflows at ${url}\n`);
  // Whole or not at all: the benchmark polls for the file.
  const tmp = `${urlFile}.${randomBytes(8).toString('hex')}.tmp`;
  writeFileSync(tmp, url, { flag: 'wx' });
  renameSync(tmp, urlFile);
  process.once('SIGTERM', () => void fake.stop().then(() => process.exit(0)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
