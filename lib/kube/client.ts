// The cluster port over @kubernetes/client-node 1.4 (Workflows, pods and logs, related resources, ConfigMaps).
import { PassThrough, type Readable } from 'node:stream';
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Log,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  JOBS,
  PODS,
  WORKFLOWS,
  type ClusterApi,
  type DeleteOutcome,
  type KubeObject,
  type MetadataPatch,
  type ResourceType,
  type Selection,
  type WatchEvent,
  type WatchOptions,
} from './cluster-api.ts';
import { ClusterStatusError, WatchExpiredError } from './errors.ts';

/** Kubeconfig from $KUBECONFIG / ~/.kube/config, or the pod's service account when running in a cluster. */
export function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

/** A kubeconfig for a server by URL (the fake API server in tests, `kubectl proxy`): no auth, or a bearer token. */
export function plainKubeConfig(server: string, token?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'plain', server, skipTLSVerify: true },
    token ? { name: 'token', token } : { name: 'anonymous' },
  );
  return kc;
}

/** Runs one API call; ApiException becomes ClusterStatusError naming what failed. */
export async function callApi<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiException) {
      const body = err.body as { message?: string } | string | undefined;
      const detail = typeof body === 'string' ? safeMessage(body) : body?.message;
      throw new ClusterStatusError(err.code, `${what}: HTTP ${err.code}${detail ? ` ${detail}` : ''}`, { cause: err });
    }
    throw new ClusterStatusError(0, `${what}: ${(err as Error).message}`, { cause: err });
  }
}

function safeMessage(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { message?: string }).message;
  } catch {
    return body.slice(0, 200) || undefined;
  }
}

export async function orAbsent<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ClusterStatusError && err.status === 404) return undefined;
    throw err;
  }
}

/** Typed client models carry Dates; the archive wants the JSON the API server sent. */
function toPlain(obj: unknown): KubeObject {
  return JSON.parse(JSON.stringify(obj)) as KubeObject;
}

/**
 * A 403 on workflows says which install is missing what: the default install binds Strata's accounts only in the
 * tenant namespaces it lists (templates/tenant), so a cluster-wide call needs those namespaces named instead.
 */
async function withRbacHint<T>(namespace: string | undefined, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (!(err instanceof ClusterStatusError) || err.status !== 403) throw err;
    const hint = namespace
      ? `namespace ${namespace} is not a tenant namespace of this install: add a tenants/${namespace} directory ` +
        '(templates/tenant) to the overlay, or use components/cluster-wide (docs/install.md)'
      : 'this account may act only in the tenant namespaces the install binds it in: list them in ' +
        'STRATA_TENANT_NAMESPACES (or --namespace), or use components/cluster-wide (docs/install.md)';
    throw new ClusterStatusError(403, `${err.message}; ${hint}`, { cause: err });
  }
}

interface ListPage {
  items?: unknown[];
  metadata?: { continue?: string; resourceVersion?: string };
}

export class KubeClusterApi implements ClusterApi {
  readonly description: string;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly batch: BatchV1Api;
  private listVersion: string | undefined;

  constructor(private readonly kc: KubeConfig) {
    this.description = kc.getCurrentCluster()?.server ?? '(no cluster)';
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
  }

  async *listWorkflows(selection: Selection, pageSize = 200): AsyncIterable<KubeObject> {
    const namespaces = selection.namespaces?.length ? selection.namespaces : [undefined];
    this.listVersion = undefined;
    for (const namespace of namespaces) {
      let token: string | undefined;
      do {
        const { group, version, plural } = WORKFLOWS;
        const common = {
          group,
          version,
          plural,
          labelSelector: selection.labelSelector,
          limit: pageSize,
          _continue: token,
        };
        const page = (await withRbacHint(
          namespace,
          callApi(`list workflows${namespace ? ` in ${namespace}` : ''}`, () =>
            namespace
              ? this.custom.listNamespacedCustomObject({ ...common, namespace })
              : this.custom.listClusterCustomObject(common),
          ),
        )) as ListPage;
        for (const item of page.items ?? []) yield item as KubeObject;
        token = page.metadata?.continue || undefined;
        if (!token) this.listVersion = namespaces.length === 1 ? page.metadata?.resourceVersion : undefined;
      } while (token);
    }
  }

  lastListVersion(): string | undefined {
    return this.listVersion;
  }

  getWorkflow(namespace: string, name: string): Promise<KubeObject | undefined> {
    return orAbsent(
      callApi(
        `get workflow ${namespace}/${name}`,
        async () => (await this.custom.getNamespacedCustomObject({ ...WORKFLOWS, namespace, name })) as KubeObject,
      ),
    );
  }

  async *watchWorkflows(opts: WatchOptions): AsyncIterable<WatchEvent> {
    const { group, version, plural } = WORKFLOWS;
    const path = opts.namespace
      ? `/apis/${group}/${version}/namespaces/${opts.namespace}/${plural}`
      : `/apis/${group}/${version}/${plural}`;
    const queue: WatchEvent[] = [];
    let finished = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    if (opts.signal?.aborted) return;
    const connecting = new Watch(this.kc).watch(
      path,
      { labelSelector: opts.labelSelector, resourceVersion: opts.resourceVersion, allowWatchBookmarks: true },
      (type, object) => {
        if (type === 'ERROR') {
          const status = object as { code?: number; message?: string };
          failure =
            status.code === 410
              ? new WatchExpiredError(status.message ?? 'resourceVersion too old')
              : new ClusterStatusError(status.code ?? 0, `watch workflows: ${status.message ?? 'error event'}`);
        } else {
          queue.push({ type: type as WatchEvent['type'], object: object as KubeObject });
        }
        notify();
      },
      (err: unknown) => {
        if (err && !failure && !opts.signal?.aborted) {
          const code = (err as { statusCode?: number }).statusCode;
          failure =
            code === 410
              ? new WatchExpiredError('resourceVersion too old')
              : new ClusterStatusError(code ?? 0, `watch workflows: ${String((err as Error).message ?? err)}`);
        }
        finished = true;
        notify();
      },
    );
    // An abort before the API server answers ends the watch too: a quiet watch may send nothing for minutes.
    let onAbortWhileConnecting = () => {};
    const aborted = new Promise<undefined>((resolve) => {
      onAbortWhileConnecting = () => resolve(undefined);
      opts.signal?.addEventListener('abort', onAbortWhileConnecting, { once: true });
    });
    let controller: AbortController | undefined;
    try {
      controller = await Promise.race([connecting, aborted]);
    } finally {
      opts.signal?.removeEventListener('abort', onAbortWhileConnecting);
    }
    if (!controller) {
      connecting.then((c) => c.abort()).catch(() => {});
      return;
    }
    const onAbort = () => {
      controller.abort();
      finished = true;
      notify();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (failure) throw failure;
        if (finished) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  async listPods(namespace: string, labelSelector: string): Promise<KubeObject[]> {
    const list = await callApi(`list pods in ${namespace}`, () =>
      this.core.listNamespacedPod({ namespace, labelSelector }),
    );
    return list.items.map(toPlain);
  }

  async podLogs(namespace: string, pod: string, container: string): Promise<Readable> {
    const out = new PassThrough();
    await callApi(`logs of ${namespace}/${pod} container ${container}`, () =>
      new Log(this.kc).log(namespace, pod, container, out, { follow: false }),
    );
    return out;
  }

  async listResources(type: ResourceType, namespace: string, labelSelector?: string): Promise<KubeObject[]> {
    const what = `list ${type.plural}.${type.group || 'core'} in ${namespace}`;
    if (type === PODS || (type.group === '' && type.plural === 'pods'))
      return this.listPods(namespace, labelSelector ?? '');
    if (type === JOBS || (type.group === 'batch' && type.plural === 'jobs')) {
      const list = await callApi(what, () => this.batch.listNamespacedJob({ namespace, labelSelector }));
      return list.items.map(toPlain);
    }
    const page = (await callApi(what, () =>
      this.custom.listNamespacedCustomObject({ ...type, namespace, labelSelector }),
    )) as ListPage;
    return (page.items ?? []) as KubeObject[];
  }

  getResource(type: ResourceType, namespace: string, name: string): Promise<KubeObject | undefined> {
    const what = `get ${type.plural}.${type.group || 'core'} ${namespace}/${name}`;
    if (type.group === '' && type.plural === 'pods') {
      return orAbsent(callApi(what, async () => toPlain(await this.core.readNamespacedPod({ namespace, name }))));
    }
    if (type.group === 'batch' && type.plural === 'jobs') {
      return orAbsent(callApi(what, async () => toPlain(await this.batch.readNamespacedJob({ namespace, name }))));
    }
    return orAbsent(
      callApi(
        what,
        async () => (await this.custom.getNamespacedCustomObject({ ...type, namespace, name })) as KubeObject,
      ),
    );
  }

  async patchWorkflowMetadata(namespace: string, name: string, uid: string, patch: MetadataPatch): Promise<KubeObject> {
    // metadata.uid in a merge patch acts as a precondition: the server answers 409 if it does not match.
    const body = { metadata: { uid, ...patch } };
    return (await callApi(`label workflow ${namespace}/${name}`, () =>
      this.custom.patchNamespacedCustomObject(
        { ...WORKFLOWS, namespace, name, body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    )) as KubeObject;
  }

  async deleteWorkflow(namespace: string, name: string, uid: string): Promise<DeleteOutcome> {
    let result: KubeObject | undefined;
    try {
      result = (await callApi(`delete workflow ${namespace}/${name}`, () =>
        this.custom.deleteNamespacedCustomObject({
          ...WORKFLOWS,
          namespace,
          name,
          propagationPolicy: 'Background',
          body: { preconditions: { uid } },
        }),
      )) as KubeObject;
    } catch (err) {
      if (err instanceof ClusterStatusError && err.status === 404) return 'absent';
      throw err;
    }
    const meta = result?.metadata;
    return meta?.deletionTimestamp && (meta.finalizers?.length ?? 0) > 0 ? 'pending' : 'deleted';
  }

  readConfigMap(namespace: string, name: string): Promise<KubeObject | undefined> {
    return orAbsent(
      callApi(`read configmap ${namespace}/${name}`, async () =>
        toPlain(await this.core.readNamespacedConfigMap({ namespace, name })),
      ),
    );
  }

  async listConfigMaps(namespace: string, labelSelector: string): Promise<KubeObject[]> {
    const list = await callApi(`list configmaps in ${namespace}`, () =>
      this.core.listNamespacedConfigMap({ namespace, labelSelector }),
    );
    return list.items.map(toPlain);
  }

  async writeConfigMap(
    namespace: string,
    name: string,
    data: Record<string, string>,
    labels?: Record<string, string>,
  ): Promise<void> {
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data };
    const existing = await this.readConfigMap(namespace, name);
    if (existing) {
      await callApi(`replace configmap ${namespace}/${name}`, () =>
        this.core.replaceNamespacedConfigMap({
          namespace,
          name,
          body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion } },
        }),
      );
    } else {
      await callApi(`create configmap ${namespace}/${name}`, () =>
        this.core.createNamespacedConfigMap({ namespace, body }),
      );
    }
  }
}
