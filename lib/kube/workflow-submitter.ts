// Submitting Workflows and following them (the server's restore jobs run as strata-restore Workflows): a small port
// over the Workflow resource in one namespace, and its adapter over @kubernetes/client-node.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { WORKFLOWS, type KubeObject } from './cluster-api.ts';
import { callApi, orAbsent } from './client.ts';
import { ClusterStatusError } from './errors.ts';

export interface WorkflowSubmitter {
  /** Creates the Workflow; an existing one of that name is returned instead (`created: false`), never replaced. */
  submit(workflow: KubeObject): Promise<{ workflow: KubeObject; created: boolean }>;
  get(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Every Workflow of the namespace with these labels (`key=value,…`). */
  list(namespace: string, labelSelector: string): Promise<KubeObject[]>;
  /** As `argo terminate` (spec.shutdown=Terminate stops its pods and fails it), with annotations set at once. */
  terminate(namespace: string, name: string, annotations?: Record<string, string>): Promise<void>;
}

export class KubeWorkflowSubmitter implements WorkflowSubmitter {
  private readonly custom: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  async submit(workflow: KubeObject): Promise<{ workflow: KubeObject; created: boolean }> {
    const { namespace, name } = workflow.metadata;
    if (!namespace) throw new ClusterStatusError(0, `submit workflow ${name}: no namespace`);
    try {
      const created = (await callApi(`create workflow ${namespace}/${name}`, () =>
        this.custom.createNamespacedCustomObject({ ...WORKFLOWS, namespace, body: workflow }),
      )) as KubeObject;
      return { workflow: created, created: true };
    } catch (err) {
      if (!(err instanceof ClusterStatusError) || err.status !== 409) throw err;
      const existing = await this.get(namespace, name);
      if (!existing) throw err;
      return { workflow: existing, created: false };
    }
  }

  get(namespace: string, name: string): Promise<KubeObject | undefined> {
    return orAbsent(
      callApi(
        `get workflow ${namespace}/${name}`,
        async () => (await this.custom.getNamespacedCustomObject({ ...WORKFLOWS, namespace, name })) as KubeObject,
      ),
    );
  }

  async list(namespace: string, labelSelector: string): Promise<KubeObject[]> {
    const out: KubeObject[] = [];
    let token: string | undefined;
    do {
      const page = (await callApi(`list workflows in ${namespace}`, () =>
        this.custom.listNamespacedCustomObject({
          ...WORKFLOWS,
          namespace,
          labelSelector,
          limit: 500,
          _continue: token,
        }),
      )) as { items?: KubeObject[]; metadata?: { continue?: string } };
      out.push(...(page.items ?? []));
      token = page.metadata?.continue || undefined;
    } while (token);
    return out;
  }

  async terminate(namespace: string, name: string, annotations?: Record<string, string>): Promise<void> {
    const body = { ...(annotations && { metadata: { annotations } }), spec: { shutdown: 'Terminate' } };
    await callApi(`terminate workflow ${namespace}/${name}`, () =>
      this.custom.patchNamespacedCustomObject(
        { ...WORKFLOWS, namespace, name, body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }
}
