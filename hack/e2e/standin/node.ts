// The stand-in node: registers a Node, binds the namespace's pending pods to itself, runs each (pod-run.ts), reports
// their status, and serves their logs to the API server the way a kubelet does (so `pods/log` and `argo logs` work).
import { createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { KubeHttpError, type KubeHttp } from './kube-http.ts';
import type { Pod } from './kube-types.ts';
import { planPod, StandinRefusal, type PodInputs } from './pod-plan.ts';
import { containerLogPath, runPod, type NodeContext } from './pod-run.ts';
import { takeFault } from './faults.ts';
import { finishedStatus, refusedStatus, runningStatus } from './pod-status.ts';

export interface NodeOptions {
  name: string;
  /** Faults scenarios ask for (faults.ts): read before each pod runs. */
  faultsFile: string;
  namespace: string;
  port: number;
  tls: { cert: Buffer; key: Buffer; ca: Buffer };
  context: NodeContext;
  log: (line: string) => void;
}

interface Running {
  uid: string;
  abort: AbortController;
  done: Promise<void>;
}

export class StandinNode {
  private readonly running = new Map<string, Running>();
  /** Every pod uid this node has started: a pod runs once, whatever events arrive later. */
  private readonly started = new Set<string>();
  /** namespace/name → uid of every pod this node has run and not yet seen deleted (the log endpoint's index). */
  private readonly pods = new Map<string, { uid: string; finished: boolean }>();
  private readonly stop = new AbortController();
  private server: Server | undefined;

  constructor(private readonly opts: NodeOptions) {}

  private get kube(): KubeHttp {
    return this.opts.context.kube;
  }

  private podPath(pod: Pod, sub = ''): string {
    return `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}${sub}`;
  }

  async start(): Promise<void> {
    await this.serveLogs();
    await this.register();
    void this.loop();
  }

  async shutdown(): Promise<void> {
    this.stop.abort();
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }

  private async register(): Promise<void> {
    const { name, port } = this.opts;
    const now = new Date().toISOString();
    const path = `/api/v1/nodes/${name}`;
    if (!(await this.kube.find(path))) {
      await this.kube.post('/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
      });
    }
    await this.kube.mergePatch(`${path}/status`, {
      status: {
        addresses: [
          { type: 'InternalIP', address: '127.0.0.1' },
          { type: 'Hostname', address: name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: port } },
        capacity: { cpu: '2', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '2', memory: '8Gi', pods: '110' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'StandinReady',
            message: 'the e2e stand-in for the kubelet',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    });
  }

  private async loop(): Promise<void> {
    const base = `/api/v1/namespaces/${this.opts.namespace}/pods`;
    let first = true;
    while (!this.stop.signal.aborted) {
      try {
        const list = await this.kube.get<{ items: Pod[]; metadata: { resourceVersion: string } }>(base);
        for (const pod of list.items) this.consider(pod, first);
        first = false;
        await this.kube.watch<Pod>(
          `${base}?watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`,
          (e) => {
            if (e.type === 'ADDED' || e.type === 'MODIFIED') this.consider(e.object, false);
            else if (e.type === 'DELETED') this.forget(e.object);
          },
          this.stop.signal,
        );
      } catch (err) {
        if (this.stop.signal.aborted) return;
        this.opts.log(`watch failed, re-listing: ${(err as Error).message}`);
        await new Promise((ok) => setTimeout(ok, 1000));
      }
    }
  }

  private consider(pod: Pod, atStart: boolean): void {
    const { uid } = pod.metadata;
    const phase = pod.status?.phase;
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const mine = pod.spec.nodeName === this.opts.name;
    if (pod.metadata.deletionTimestamp) {
      // A kubelet stops the containers, then finishes the deletion.
      const r = this.running.get(uid);
      if (r) r.abort.abort();
      if (mine) void (r?.done ?? Promise.resolve()).then(() => this.finishDeletion(pod));
      return;
    }
    if (terminal || this.started.has(uid) || (pod.spec.nodeName && !mine)) return;
    this.started.add(uid);
    if (mine && atStart && phase === 'Running') {
      // This node restarted while the pod ran: like a rebooted node, report it failed (Argo retries it).
      void this.patchStatus(pod, refusedStatus(pod, 'the stand-in node restarted while the pod ran', now()));
      return;
    }
    const abort = new AbortController();
    const done = this.run(pod, abort.signal).finally(() => this.running.delete(uid));
    this.running.set(uid, { uid, abort, done });
  }

  private forget(pod: Pod): void {
    const { uid, namespace, name } = pod.metadata;
    this.running.get(uid)?.abort.abort();
    this.pods.delete(`${namespace}/${name}`);
    // The kubelet removes a deleted pod's directory and logs.
    const dir = join(this.opts.context.podsDir, uid);
    void (this.running.get(uid)?.done ?? Promise.resolve()).then(() => rmSync(dir, { recursive: true, force: true }));
  }

  private async finishDeletion(pod: Pod): Promise<void> {
    await this.kube
      .delete(this.podPath(pod), {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      })
      .catch(() => undefined);
  }

  private async run(pod: Pod, signal: AbortSignal): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const what = `pod ${key}`;
    try {
      if (!pod.spec.nodeName) {
        await this.kube
          .post(this.podPath(pod, '/binding'), {
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name: pod.metadata.name },
            target: { apiVersion: 'v1', kind: 'Node', name: this.opts.name },
          })
          .catch(async (err: unknown) => {
            // A retried binding that had gone through answers 409: fine if the pod is ours.
            const now = await this.kube.find<Pod>(this.podPath(pod));
            if (now?.spec.nodeName !== this.opts.name) throw err;
          });
      }
      this.pods.set(key, { uid: pod.metadata.uid, finished: false });
      mkdirSync(join(this.opts.context.podsDir, pod.metadata.uid, 'logs'), { recursive: true });
      const inputs = await this.inputs(pod.metadata.namespace);
      let outcome;
      try {
        const plan = planPod(pod, inputs);
        const fault = takeFault(this.opts.faultsFile, pod.metadata.name);
        if (fault) this.opts.log(`${what}: injecting ${JSON.stringify(fault)}`);
        outcome = await runPod(
          plan,
          inputs,
          this.opts.context,
          signal,
          () => this.patchStatus(pod, runningStatus(pod, now())),
          fault,
        );
      } catch (err) {
        if (!(err instanceof StandinRefusal)) throw err;
        this.opts.log(err.message);
        await this.patchStatus(pod, refusedStatus(pod, err.message, now()));
        return;
      }
      if (signal.aborted) return;
      this.opts.log(
        `${what}: main exited ${outcome.main.exitCode}${outcome.wait.message ? `; executor: ${outcome.wait.message}` : ''}`,
      );
      await this.patchStatus(pod, finishedStatus(pod, outcome));
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 404) return; // deleted meanwhile
      this.opts.log(`${what}: ${(err as Error).stack ?? err}`);
      await this.patchStatus(pod, refusedStatus(pod, `stand-in error: ${(err as Error).message}`, now())).catch(
        () => undefined,
      );
    } finally {
      const entry = this.pods.get(key);
      if (entry) entry.finished = true;
    }
  }

  private async patchStatus(pod: Pod, status: object): Promise<void> {
    await this.kube.mergePatch(this.podPath(pod, '/status'), status);
  }

  private async inputs(namespace: string): Promise<PodInputs> {
    type Items = { items: { metadata: { name: string }; data?: Record<string, string> }[] };
    const [cms, secrets] = await Promise.all([
      this.kube.get<Items>(`/api/v1/namespaces/${namespace}/configmaps`),
      this.kube.get<Items>(`/api/v1/namespaces/${namespace}/secrets`),
    ]);
    return {
      configMaps: new Map(cms.items.map((i) => [i.metadata.name, i])),
      secrets: new Map(secrets.items.map((i) => [i.metadata.name, i])),
    };
  }

  /** The kubelet's /containerLogs endpoint, for the API server (client certificate from its CA required). */
  private serveLogs(): Promise<void> {
    const { tls, port } = this.opts;
    this.server = createServer(
      { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const url = new URL(req.url ?? '/', 'https://node');
        const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
        const entry = m ? this.pods.get(`${m[1]}/${m[2]}`) : undefined;
        if (!m || !entry) {
          res.writeHead(404).end('not found');
          return;
        }
        const timestamps = url.searchParams.get('timestamps') === 'true';
        const file = containerLogPath(this.opts.context, entry.uid, m[3]!) + (timestamps ? '.timestamps' : '');
        res.writeHead(200, { 'content-type': 'text/plain' });
        if (!existsSync(file)) {
          res.end();
          return;
        }
        const limit = Number(url.searchParams.get('limitBytes') ?? 0) || undefined;
        const tail = Number(url.searchParams.get('tailLines') ?? -1);
        const follow = url.searchParams.get('follow') === 'true';
        if (tail >= 0 || !follow) {
          void sendLog(file, res, tail, limit);
          return;
        }
        // follow: stream what is there, then what is appended, until the pod finishes.
        let sent = 0;
        const pump = () => {
          const size = statSync(file).size;
          const finished = this.pods.get(`${m[1]}/${m[2]}`)?.finished ?? true;
          const next = () => (finished ? res.end() : setTimeout(pump, 200));
          if (size > sent) {
            const from = sent;
            sent = size;
            createReadStream(file, { start: from, end: size - 1 })
              .on('end', next)
              .pipe(res, { end: false });
          } else next();
        };
        pump();
      },
    );
    return new Promise((ok, fail) => {
      this.server!.once('error', fail);
      this.server!.listen(port, '127.0.0.1', () => ok());
    });
  }
}

async function sendLog(
  file: string,
  res: import('node:http').ServerResponse,
  tailLines: number,
  limitBytes: number | undefined,
): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  let text = await readFile(file);
  if (tailLines >= 0) {
    const lines = text.toString('utf8').split(/(?<=\n)/);
    text = Buffer.from(lines.slice(Math.max(0, lines.length - tailLines)).join(''));
  }
  if (limitBytes !== undefined) text = text.subarray(0, limitBytes);
  res.end(text);
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}
