// What the end-to-end scenarios use: the running cluster (from global-cluster.ts), kubectl/argo/strata against it,
// and waits with deadlines (every wait names what it waited for when it gives up).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';

export interface E2eCluster {
  state: string;
  bin: string;
  kubeconfig: string;
  namespace: string;
  apiServer: string;
  s3Endpoint: string;
  /** argo-server (events endpoint), plain HTTP on loopback. */
  argoServer: string;
  /** The workflow-controller's Prometheus endpoint (plain HTTP): the templates' metrics, argo_workflows_strata_*. */
  controllerMetrics: string;
  caFile: string;
  tokens: Record<'alice' | 'bob' | 'carol' | 'mallory', string>;
}

export type E2eClusterInfo = E2eCluster | { skip: string };

export const repoRoot = resolve(import.meta.dirname, '../../..');

export function clusterInfo(): E2eClusterInfo {
  return inject('e2eCluster');
}

/** The cluster, or undefined when the suite skips (the reason is printed once by the global setup). */
export function e2eCluster(): E2eCluster | undefined {
  const info = clusterInfo();
  return 'skip' in info ? undefined : info;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cluster: E2eCluster,
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  return new Promise((done) => {
    const child = execFile(
      cmd,
      args,
      {
        cwd: repoRoot,
        env: {
          ...base,
          KUBECONFIG: cluster.kubeconfig,
          ARGO_NAMESPACE: cluster.namespace,
          PATH: `${cluster.bin}:${process.env.PATH}`,
          ...opts.env,
        },
        timeout: opts.timeoutMs ?? 120_000,
        // argo ignores SIGTERM (like its controller): a timed-out `argo submit --wait` would hang on.
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** Runs a command and fails with its output unless it exits 0. */
export async function must(
  cluster: E2eCluster,
  cmd: string,
  args: string[],
  opts: Parameters<typeof run>[3] = {},
): Promise<string> {
  const r = await run(cluster, cmd, args, opts);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`.slice(0, 8000));
  return r.stdout;
}

export const kubectl = (c: E2eCluster, args: string[], opts?: Parameters<typeof run>[3]) =>
  must(c, join(c.bin, 'kubectl'), args, opts);

export const argo = (c: E2eCluster, args: string[], opts?: Parameters<typeof run>[3]) =>
  must(c, join(c.bin, 'argo'), ['-n', c.namespace, ...args], opts);

export async function kubectlJson<T>(c: E2eCluster, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(c, [...args, '-o', 'json'])) as T;
}

export interface Workflow {
  metadata: {
    name: string;
    uid: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  status?: {
    phase?: string;
    message?: string;
    nodes?: Record<string, WorkflowNode>;
    outputs?: { parameters?: { name: string; value?: string }[] };
  };
}

export interface WorkflowNode {
  id: string;
  name: string;
  displayName: string;
  type: string;
  phase: string;
  message?: string;
  templateName?: string;
  outputs?: {
    exitCode?: string;
    parameters?: { name: string; value?: string }[];
    artifacts?: { name: string; s3?: { key: string } }[];
  };
}

/** Submits a Workflow (YAML text or `--from kind/name`) and waits for it to finish; returns the finished object. */
export async function submitAndWait(
  c: E2eCluster,
  what: { yaml: string } | { from: string },
  args: string[] = [],
  timeoutSeconds = 240,
): Promise<Workflow> {
  const submitArgs = ['submit', '--wait', '-o', 'json', ...args];
  const r =
    'yaml' in what
      ? await run(c, join(c.bin, 'argo'), ['-n', c.namespace, ...submitArgs, '-'], {
          input: what.yaml,
          timeoutMs: timeoutSeconds * 1000,
        })
      : await run(c, join(c.bin, 'argo'), ['-n', c.namespace, ...submitArgs, '--from', what.from], {
          timeoutMs: timeoutSeconds * 1000,
        });
  if (r.code !== 0 && !r.stdout.trim().startsWith('{'))
    throw new Error(`argo submit exited ${r.code}: ${r.stderr}\n${r.stdout}`.slice(0, 8000));
  // `argo submit --wait -o json` prints the submitted object; read the finished one back.
  const submitted = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as Workflow;
  return kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', submitted.metadata.name]);
}

/** An output of the node shown as `displayName` (a task or step; with retries, the Retry node that holds the result). */
export function nodeOutput(wf: Workflow, displayName: string, parameter: string): string | undefined {
  const node = Object.values(wf.status?.nodes ?? {}).find((n) => n.displayName === displayName);
  return node?.outputs?.parameters?.find((p) => p.name === parameter)?.value;
}

/** A sample's value in a Prometheus exposition: the series of `name` with these labels (it may have others). */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)))[0];
}

/**
 * The workflow-controller's metrics once they hold `name{labels}` (the controller emits a run's metrics as it
 * completes the run, which may be just after `argo wait` returned).
 */
export async function controllerMetrics(
  c: E2eCluster,
  name: string,
  labels: Record<string, string> = {},
): Promise<string> {
  return eventually(`${name} at the controller`, async () => {
    const text = await (await fetch(c.controllerMetrics)).text();
    return metricSample(text, name, labels) === undefined ? undefined : text;
  });
}

/** An output of the workflow's entrypoint (its root node). */
export function workflowOutput(wf: Workflow, parameter: string): string | undefined {
  return wf.status?.nodes?.[wf.metadata.name]?.outputs?.parameters?.find((p) => p.name === parameter)?.value;
}

/** The pipeline's configuration as the pods get it (strata-config + strata-s3), for running strata on the host. */
export async function strataEnv(c: E2eCluster): Promise<Record<string, string>> {
  const cm = await kubectlJson<{ data: Record<string, string> }>(c, [
    '-n',
    c.namespace,
    'get',
    'configmap',
    'strata-config',
  ]);
  const secret = await kubectlJson<{ data: Record<string, string> }>(c, [
    '-n',
    c.namespace,
    'get',
    'secret',
    'strata-s3',
  ]);
  const env: Record<string, string> = { ...cm.data };
  for (const [k, v] of Object.entries(secret.data)) env[k] = Buffer.from(v, 'base64').toString('utf8');
  delete env.STRATA_CATALOG;
  return env;
}

/** Runs the strata CLI on the host against the cluster's archive store. */
export async function strata(c: E2eCluster, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return run(c, process.execPath, [join(repoRoot, 'bin/strata.js'), ...args], {
    env: { ...(await strataEnv(c)), STRATA_OUTPUT: 'json', ...env },
    timeoutMs: 180_000,
  });
}

export function token(c: E2eCluster, user: keyof E2eCluster['tokens']): string {
  return readFileSync(c.tokens[user], 'utf8').trim();
}

/** Waits for a workflow to reach Succeeded, Failed or Error (riding out an API server that is restarting). */
export async function finishedWorkflow(c: E2eCluster, name: string, timeoutSeconds = 300): Promise<Workflow> {
  return eventually(
    `${name} to finish`,
    async () => {
      const r = await run(c, join(c.bin, 'kubectl'), ['-n', c.namespace, 'get', 'workflow', name, '-o', 'json']);
      if (r.code !== 0) return undefined;
      const wf = JSON.parse(r.stdout) as Workflow;
      return ['Succeeded', 'Failed', 'Error'].includes(wf.status?.phase ?? '') ? wf : undefined;
    },
    timeoutSeconds,
  );
}

export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutSeconds = 120,
): Promise<T> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutSeconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
