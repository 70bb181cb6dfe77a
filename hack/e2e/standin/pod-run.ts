// Runs one planned pod on the host the way a node and Argo's executor would: its own mount namespace with the
// pod's volumes at their mount paths (and a /tmp of its own), its user, a read-only root when asked, the deadline;
// then the executor's part: output parameters, artifacts and archived logs, and the WorkflowTaskResult.
import { spawn } from 'node:child_process';
import { chownSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { ArtifactRepository, artifactFileName, packArtifact, unpackArtifact } from './artifacts.ts';
import type { KubeHttp } from './kube-http.ts';
import type { ArtifactSpec } from './kube-types.ts';
import {
  SCRIPT_PLACEHOLDER,
  StandinRefusal,
  type ExecutorPlan,
  type MountPlan,
  type PodInputs,
  type PodPlan,
} from './pod-plan.ts';

/** What the node offers a pod: where things go on the host and how to reach the API server. */
export interface NodeContext {
  /** Per-pod directories live under here (outside /tmp: each pod gets its own /tmp). */
  podsDir: string;
  /** A directory holding the `strata` wrapper of the bundled CLI. */
  strataBin: string;
  apiServer: URL;
  /** The admin client (reads claims, asks for tokens). */
  kube: KubeHttp;
  /** Host directory backing a PersistentVolumeClaim (shared by the pods that mount it, like one node's volume). */
  claimDir(namespace: string, claim: string): string;
}

export interface ContainerEnd {
  exitCode: number;
  reason: string;
  message?: string;
}

export interface PodOutcome {
  main: ContainerEnd;
  /** The executor's first error (Argo reports it as the wait container's termination message). */
  wait: ContainerEnd;
  /** Pod-level failure reason, e.g. DeadlineExceeded. */
  pod?: { reason: string; message: string };
  startedAt: string;
  finishedAt: string;
}

const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function podDir(ctx: NodeContext, plan: Pick<PodPlan, 'uid'>): string {
  return join(ctx.podsDir, plan.uid);
}

/** A container's log as the node keeps it (the kubelet log endpoint serves it). */
export function containerLogPath(ctx: Pick<NodeContext, 'podsDir'>, uid: string, container: string): string {
  return join(ctx.podsDir, uid, 'logs', `${container}.log`);
}

interface HostMount {
  host: string;
  container: string;
  readOnly: boolean;
  /** A single file (the termination log) rather than a directory. */
  file?: boolean;
}

/** Maps a container path to the host path backing it: the longest mount that contains it. */
export function hostPathOf(path: string, mounts: HostMount[]): string | undefined {
  const clean = posix.normalize(path);
  let best: HostMount | undefined;
  for (const m of mounts) {
    const inside =
      clean === m.container || clean.startsWith(m.container.endsWith('/') ? m.container : `${m.container}/`);
    if (inside && (!best || m.container.length > best.container.length)) best = m;
  }
  return best ? join(best.host, posix.relative(best.container, clean)) : undefined;
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A fault the node injects (a scenario asks for it): the container starts late, and/or is killed after a while. */
export interface ContainerFault {
  holdSeconds: number;
  killAfterSeconds?: number;
  reason: string;
}

/** Runs the pod to its end; never throws for the pod's own failures (they are in the outcome). */
export async function runPod(
  plan: PodPlan,
  inputs: PodInputs,
  ctx: NodeContext,
  signal: AbortSignal,
  onStarted: () => Promise<void>,
  fault?: ContainerFault,
): Promise<PodOutcome> {
  const dir = podDir(ctx, plan);
  const startedAt = new Date().toISOString();
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const owner = plan.runAs ? { uid: plan.runAs.uid, gid: plan.runAs.fsGroup ?? plan.runAs.gid } : undefined;
  const executor = plan.executor ? new Executor(plan, plan.executor, inputs, ctx) : undefined;
  await executor?.initialize();

  const mounts: HostMount[] = [];
  for (const m of plan.mounts) mounts.push(await prepareMount(m, plan, dir, ctx, owner));
  if (!mounts.some((m) => m.container === '/tmp')) {
    const tmp = join(dir, 'rootfs-tmp');
    mkdirSync(tmp, { recursive: true });
    if (owner) chownSync(tmp, owner.uid, owner.gid);
    mounts.push({ host: tmp, container: '/tmp', readOnly: false });
  }
  const argoDir = join(dir, 'argo');
  mkdirSync(argoDir, { recursive: true });
  if (owner) chownSync(argoDir, owner.uid, owner.gid);
  // The kubelet creates the termination message file and mounts it at terminationMessagePath.
  const terminationLog = join(dir, 'termination-log');
  writeFileSync(terminationLog, '', { mode: 0o666 });
  if (owner) chownSync(terminationLog, owner.uid, owner.gid);
  const runMounts = [
    ...mounts,
    { host: terminationLog, container: plan.termination.path, readOnly: false, file: true },
  ];

  const loadError = await executor?.loadInputs(mounts, owner);
  if (loadError) {
    executor!.close();
    return {
      main: { exitCode: 1, reason: 'Error', message: loadError },
      wait: { exitCode: 1, reason: 'Error', message: loadError },
      startedAt,
      finishedAt: new Date().toISOString(),
    };
  }

  let argv = plan.argv;
  if (plan.executor?.script !== undefined) {
    const script = join(argoDir, 'script');
    writeFileSync(script, plan.executor.script, { mode: 0o755 });
    argv = argv.map((a) => (a === SCRIPT_PLACEHOLDER ? script : a));
  }
  const env: Record<string, string> = {
    PATH: plan.strataImage ? `${ctx.strataBin}:${HOST_PATH}` : HOST_PATH,
    HOME: '/',
    HOSTNAME: plan.name,
    KUBERNETES_SERVICE_HOST: ctx.apiServer.hostname,
    KUBERNETES_SERVICE_PORT: ctx.apiServer.port,
    ...plan.env,
  };
  if (env.ARGO_PROGRESS_FILE) env.ARGO_PROGRESS_FILE = join(argoDir, 'progress');
  const runScript = join(dir, 'run.sh');
  writeFileSync(runScript, mountScript(plan, runMounts, argoDir));

  await onStarted();
  if (fault?.holdSeconds) await new Promise((ok) => setTimeout(ok, fault.holdSeconds * 1000));
  const log = containerLogPath(ctx, plan.uid, plan.container);
  const main = await execute(runScript, argv, env, log, join(dir, 'stdout'), plan.deadlineSeconds, signal, fault);
  const finishedAt = new Date().toISOString();
  const terminationMessage = readTerminationMessage(terminationLog, log, plan, main.end.exitCode);
  if (terminationMessage) main.end.message = terminationMessage;

  const waitError = await executor?.collect(mounts, dir, argoDir, log);
  return {
    main: main.end,
    wait: waitError ? { exitCode: 1, reason: 'Error', message: waitError } : { exitCode: 0, reason: 'Completed' },
    ...(main.deadline
      ? {
          pod: { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' },
        }
      : {}),
    startedAt,
    finishedAt,
  };
}

/**
 * Argo's executor (init and wait containers) for one pod: the task result written as the pod's service account
 * (so the templates' RBAC decides), input artifacts in, then parameters, script result, artifacts and logs out.
 */
class Executor {
  private readonly errors: string[] = [];
  private asPod: KubeHttp | undefined;
  private repository: ArtifactRepository | undefined;
  private readonly results: string;

  constructor(
    private readonly plan: PodPlan,
    private readonly exec: ExecutorPlan,
    private readonly inputs: PodInputs,
    private readonly ctx: NodeContext,
  ) {
    this.results = `/apis/argoproj.io/v1alpha1/namespaces/${plan.namespace}/workflowtaskresults`;
  }

  /** InitializeOutput: an empty result, not yet complete, created with the pod's own token. */
  async initialize(): Promise<void> {
    const token = await requestToken(this.ctx.kube, this.plan, undefined, 3600);
    this.asPod = this.ctx.kube.as(token);
    await this.asPod
      .post(this.results, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'WorkflowTaskResult',
        metadata: {
          name: this.exec.nodeId,
          labels: {
            'workflows.argoproj.io/workflow': this.exec.workflow.name,
            'workflows.argoproj.io/report-outputs-completed': 'false',
          },
          ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', ...this.exec.workflow }],
        },
      })
      .catch((err: Error & { status?: number }) => {
        if (err.status !== 409) this.errors.push(`failed to create task result: ${err.message}`);
      });
  }

  private repo(): ArtifactRepository {
    const s3 = this.exec.archiveLocation?.s3;
    if (!s3) throw new Error('the template has no S3 archive location');
    this.repository ??= new ArtifactRepository(s3, this.inputs);
    return this.repository;
  }

  close(): void {
    this.repository?.destroy();
  }

  /** Input artifacts at their paths; the error that fails the pod, if any. */
  async loadInputs(mounts: HostMount[], owner: { uid: number; gid: number } | undefined): Promise<string | undefined> {
    try {
      for (const art of this.exec.inputArtifacts) await loadInputArtifact(art, mounts, () => this.repo(), owner);
      return undefined;
    } catch (err) {
      return `failed to load input artifacts: ${(err as Error).message}`;
    }
  }

  /** The wait container's work after main ended; answers its first error (the wait container's message). */
  async collect(mounts: HostMount[], dir: string, argoDir: string, log: string): Promise<string | undefined> {
    const outputs: { parameters?: object[]; artifacts?: object[]; result?: string } = {};
    const values = new Map<string, string>();
    for (const p of this.exec.outputParameters) {
      const host = hostPathOf(p.path, mounts);
      let value: string | undefined;
      if (host && existsSync(host)) value = readFileSync(host, 'utf8');
      else if (p.default !== undefined) value = p.default;
      else {
        this.errors.push(`open /mainctrfs${p.path}: no such file or directory`);
        break;
      }
      values.set(p.name, value.replace(/\n$/, ''));
    }
    if (this.exec.outputParameters.length)
      outputs.parameters = (this.exec.template.outputs?.parameters ?? []).map((p) =>
        values.has(p.name) ? { ...p, value: values.get(p.name) } : p,
      );
    if (this.exec.script !== undefined && this.plan.env.ARGO_INCLUDE_SCRIPT_OUTPUT === 'true')
      outputs.result = readFileSync(join(dir, 'stdout'), 'utf8')
        .replace(/\n$/, '')
        .slice(-256 * 1024);
    const artifacts: object[] = [];
    for (const art of this.exec.outputArtifacts) {
      try {
        const saved = await saveOutputArtifact(art, mounts, () => this.repo(), join(dir, 'staging'));
        if (saved) artifacts.push(saved);
      } catch (err) {
        this.errors.push((err as Error).message);
      }
    }
    if (this.exec.archiveLocation?.archiveLogs) {
      try {
        const key = posix.join(this.repo().location.key ?? '', `${this.plan.container}.log`);
        await this.repo().upload(key, log);
        artifacts.push({ name: `${this.plan.container}-logs`, s3: { key } });
      } catch (err) {
        this.errors.push(`failed to save logs: ${(err as Error).message}`);
      }
    }
    this.close();
    if (artifacts.length) outputs.artifacts = artifacts;
    const progress = readProgress(argoDir);
    await this.report(outputs, progress).catch((e: Error) => this.errors.push(e.message));
    return this.errors[0];
  }

  /** ReportOutputs, then FinalizeOutput: the label that says the outputs are complete. */
  private async report(outputs: object, progress: string | undefined): Promise<void> {
    const path = `${this.results}/${this.exec.nodeId}`;
    try {
      await this.asPod!.mergePatch(path, { outputs, ...(progress ? { progress } : {}) });
    } catch (err) {
      throw new Error(`failed to report outputs: ${(err as Error).message}`, { cause: err });
    }
    try {
      await this.asPod!.mergePatch(path, {
        metadata: { labels: { 'workflows.argoproj.io/report-outputs-completed': 'true' } },
      });
    } catch (err) {
      throw new Error(`failed to finalize outputs: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** The kubelet's limits: 4096 bytes of the file; with FallbackToLogsOnError, the last 80 lines / 2048 bytes of the log. */
const MESSAGE_LIMIT = 4096;
const FALLBACK_LINES = 80;
const FALLBACK_BYTES = 2048;

export function readTerminationMessage(
  file: string,
  log: string,
  plan: Pick<PodPlan, 'termination'>,
  exitCode: number,
): string | undefined {
  const written = existsSync(file) ? readFileSync(file).subarray(0, MESSAGE_LIMIT).toString('utf8') : '';
  if (written) return written;
  if (!plan.termination.fallbackToLogs || exitCode === 0 || !existsSync(log)) return undefined;
  const lines = readFileSync(log, 'utf8')
    .split(/(?<=\n)/)
    .slice(-FALLBACK_LINES)
    .join('');
  const bytes = Buffer.from(lines, 'utf8');
  return (
    (bytes.length > FALLBACK_BYTES ? bytes.subarray(bytes.length - FALLBACK_BYTES) : bytes).toString('utf8') ||
    undefined
  );
}

async function requestToken(
  kube: KubeHttp,
  plan: PodPlan,
  audience: string | undefined,
  expirationSeconds: number,
): Promise<string> {
  const res = await kube.post<{ status: { token: string } }>(
    `/api/v1/namespaces/${plan.namespace}/serviceaccounts/${plan.serviceAccount}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        ...(audience ? { audiences: [audience] } : {}),
        expirationSeconds: Math.max(600, expirationSeconds),
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: plan.name, uid: plan.uid },
      },
    },
  );
  return res.status.token;
}

async function prepareMount(
  m: MountPlan,
  plan: PodPlan,
  dir: string,
  ctx: NodeContext,
  owner: { uid: number; gid: number } | undefined,
): Promise<HostMount> {
  let host: string;
  const source = m.source;
  switch (source.kind) {
    case 'emptyDir':
      host = join(dir, 'volumes', m.volume);
      mkdirSync(host, { recursive: true });
      if (owner) chownSync(host, owner.uid, owner.gid);
      break;
    case 'claim': {
      const claim = await ctx.kube.find(`/api/v1/namespaces/${plan.namespace}/persistentvolumeclaims/${source.claim}`);
      if (!claim) throw new StandinRefusal(`volume ${m.volume}: PersistentVolumeClaim ${source.claim} does not exist`);
      host = ctx.claimDir(plan.namespace, source.claim);
      mkdirSync(host, { recursive: true });
      if (owner) chownSync(host, owner.uid, owner.gid);
      break;
    }
    case 'files':
    case 'token': {
      host = join(dir, 'volumes', m.volume);
      const files = { ...source.files };
      if (source.kind === 'token')
        files[source.path] = await requestToken(ctx.kube, plan, source.audience, source.expirationSeconds);
      for (const [name, content] of Object.entries(files)) {
        const file = join(host, name);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content, { mode: 0o644 });
      }
      mkdirSync(host, { recursive: true });
      break;
    }
  }
  if (m.subPath) {
    host = join(host, m.subPath);
    mkdirSync(host, { recursive: true });
    if (owner) chownSync(host, owner.uid, owner.gid);
  }
  return { host, container: m.mountPath, readOnly: m.readOnly || source.kind === 'files' || source.kind === 'token' };
}

/** The script run inside `unshare --mount`: bind the pod's volumes, make the root read-only if asked, drop to the pod's user. */
/** Where a pod's mount sources are staged inside its mount namespace (a private tmpfs; the host keeps an empty dir). */
const STAGE = '/run/strata-standin';

export function mountScript(
  plan: Pick<PodPlan, 'runAs' | 'readOnlyRoot' | 'workingDir' | 'strataImage'>,
  mounts: HostMount[],
  argoDir: string,
): string {
  const lines = ['#!/bin/sh', 'set -e'];
  // A volume mounted at /tmp (or any parent of a host path) hides the host paths behind it, so every source is first
  // bound into a namespace-private tmpfs outside them, then mounted from there: the repository may live under /tmp.
  const sorted = [...mounts].sort((a, b) => a.container.length - b.container.length);
  lines.push(`mkdir -p ${STAGE}`, `mount -t tmpfs strata-standin ${STAGE}`);
  const staged = (i: number | 'argo') => shellQuote(`${STAGE}/${i}`);
  sorted.forEach((m, i) => {
    lines.push(m.file ? `: > ${staged(i)}` : `mkdir ${staged(i)}`);
    lines.push(`mount --bind ${shellQuote(m.host)} ${staged(i)}`);
  });
  lines.push(`mkdir ${staged('argo')}`, `mount --bind ${shellQuote(argoDir)} ${staged('argo')}`);
  // Shorter paths first, so a mount inside another volume lands on top of it.
  sorted.forEach((m, i) => {
    // A mount point the host lacks is created once: an empty directory (e.g. /var/lib/strata,
    // /run/secrets/kubernetes.io/serviceaccount) or, for the termination log, an empty file (/dev/termination-log).
    if (m.file)
      lines.push(
        `mkdir -p ${shellQuote(posix.dirname(m.container))}`,
        `[ -e ${shellQuote(m.container)} ] || : > ${shellQuote(m.container)}`,
      );
    else lines.push(`mkdir -p ${shellQuote(m.container)}`);
    lines.push(`mount --bind ${staged(i)} ${shellQuote(m.container)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${shellQuote(m.container)}`);
  });
  // The executor's progress file and staged script stay writable/readable under a read-only root.
  lines.push(`mkdir -p ${shellQuote(argoDir)}`, `mount --bind ${staged('argo')} ${shellQuote(argoDir)}`);
  if (plan.readOnlyRoot) lines.push('mount -o remount,bind,ro /');
  lines.push(`cd ${shellQuote(plan.workingDir ?? (plan.strataImage ? '/tmp' : '/'))}`);
  if (plan.runAs) {
    const groups = plan.runAs.fsGroup !== undefined ? `--groups=${plan.runAs.fsGroup}` : '--clear-groups';
    lines.push(`exec setpriv --reuid=${plan.runAs.uid} --regid=${plan.runAs.gid} ${groups} -- "$@"`);
  } else lines.push('exec "$@"');
  return lines.join('\n') + '\n';
}

async function execute(
  runScript: string,
  argv: string[],
  env: Record<string, string>,
  logFile: string,
  stdoutFile: string,
  deadlineSeconds: number | undefined,
  signal: AbortSignal,
  fault?: ContainerFault,
): Promise<{ end: ContainerEnd; deadline: boolean }> {
  const log = createWriteStream(logFile);
  const stamped = new StampedLog(`${logFile}.timestamps`);
  const stdout = createWriteStream(stdoutFile);
  const child = spawn('unshare', ['--mount', '--propagation', 'private', '/bin/sh', runScript, ...argv], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout.on('data', (c: Buffer) => {
    log.write(c);
    stamped.write(c);
    stdout.write(c);
  });
  child.stderr.on('data', (c: Buffer) => {
    log.write(c);
    stamped.write(c);
  });
  let deadline = false;
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer =
    deadlineSeconds === undefined
      ? undefined
      : setTimeout(() => {
          deadline = true;
          kill();
        }, deadlineSeconds * 1000);
  let faulted = false;
  const faultTimer =
    fault?.killAfterSeconds !== undefined
      ? setTimeout(() => {
          faulted = true;
          kill();
        }, fault.killAfterSeconds * 1000)
      : undefined;
  signal.addEventListener('abort', kill, { once: true });
  if (signal.aborted) kill();
  const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((ok) =>
    child.on('close', (c, s) => ok([c, s])),
  );
  clearTimeout(timer);
  clearTimeout(faultTimer);
  signal.removeEventListener('abort', kill);
  await Promise.all([new Promise((ok) => log.end(ok)), stamped.end(), new Promise((ok) => stdout.end(ok))]);
  const exitCode = code ?? 128 + (sig ? signalNumber(sig) : 9);
  const reason = faulted && fault ? fault.reason : exitCode === 0 ? 'Completed' : 'Error';
  return { end: { exitCode, reason }, deadline };
}

/** The log as the kubelet serves it with `timestamps=true`: each line prefixed with the time it arrived. */
class StampedLog {
  private readonly out;
  private partial = '';

  constructor(path: string) {
    this.out = createWriteStream(path);
  }

  write(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    const at = new Date().toISOString();
    for (const line of lines) this.out.write(`${at} ${line}\n`);
  }

  end(): Promise<void> {
    if (this.partial) this.out.write(`${new Date().toISOString()} ${this.partial}\n`);
    return new Promise((ok) => this.out.end(ok));
  }
}

function signalNumber(sig: NodeJS.Signals): number {
  return ({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[sig] ?? 9;
}

async function loadInputArtifact(
  art: ArtifactSpec,
  mounts: HostMount[],
  repo: () => ArtifactRepository,
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  const host = hostPathOf(art.path!, mounts);
  if (!host) throw new StandinRefusal(`input artifact ${art.name}: ${art.path} is on no volume`);
  if (art.raw) {
    mkdirSync(dirname(host), { recursive: true });
    writeFileSync(host, art.raw.data);
  } else if (art.s3?.key) {
    const downloaded = `${host}.download`;
    await repo().download(art.s3.key, downloaded);
    await unpackArtifact(downloaded, host);
    rmSync(downloaded, { force: true });
  } else if (!art.optional) throw new Error(`input artifact ${art.name} has no s3 key or raw data`);
  if (owner && existsSync(host)) chownSync(host, owner.uid, owner.gid);
}

async function saveOutputArtifact(
  art: ArtifactSpec,
  mounts: HostMount[],
  repo: () => ArtifactRepository,
  staging: string,
): Promise<object | undefined> {
  const host = art.path ? hostPathOf(art.path, mounts) : undefined;
  if (!host || !existsSync(host)) {
    if (art.optional) return undefined;
    throw new Error(`path ${art.path} does not exist in archive ${staging}`);
  }
  const file = await packArtifact(host, art, staging);
  const key = posix.join(repo().location.key ?? '', artifactFileName(art));
  await repo().upload(key, file);
  return { name: art.name, path: art.path, s3: { key } };
}

function readProgress(argoDir: string): string | undefined {
  const file = join(argoDir, 'progress');
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8').trim().split('\n').pop()?.trim();
  return text && /^\d+\/\d+$/.test(text) ? text : undefined;
}
