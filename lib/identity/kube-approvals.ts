// Approvals as ConfigMaps in Strata's namespace, created by the approver's own credentials. The admission policy
// `strata-approvals` (templates/base/admission-policies.yaml) pins `data.approver` to the creator's username, refuses
// self-approval and edits, and asks the authorizer whether the creator may `create approvals.strata.dev` there.
import { ApiException, CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { ClusterError, describeError } from '../errors.ts';
import { approvalDigest, type Approval, type ApprovalStore, type ApprovedAction } from './approval.ts';

export const APPROVAL_LABEL = 'strata.dev/approval';
const ACTIONS: readonly ApprovedAction[] = ['emergency-delete', 'extend'];

export class KubeApprovals implements ApprovalStore {
  private readonly core: CoreV1Api;
  readonly description: string;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.description = `namespace ${namespace} (ConfigMaps labelled ${APPROVAL_LABEL})`;
  }

  async find(digest: string): Promise<Approval[]> {
    try {
      const list = await this.core.listNamespacedConfigMap({
        namespace: this.namespace,
        labelSelector: `${APPROVAL_LABEL}=${digest}`,
      });
      return list.items.flatMap((cm) => {
        const a = approvalFromConfigMap(cm);
        return a ? [a] : [];
      });
    } catch (err) {
      throw new ClusterError(`list approvals in ${this.namespace}: ${detail(err)}`, undefined, { cause: err });
    }
  }

  async create(a: Omit<Approval, 'name' | 'created' | 'digest'>): Promise<Approval> {
    const body = approvalConfigMap(a, this.namespace);
    try {
      const created = await this.core.createNamespacedConfigMap({ namespace: this.namespace, body });
      const approval = approvalFromConfigMap(created);
      if (!approval) throw new Error('the API server returned an object that is not an approval');
      return approval;
    } catch (err) {
      throw new ClusterError(
        `create approval ${body.metadata!.generateName}… in ${this.namespace}: ${detail(err)}`,
        undefined,
        {
          cause: err,
        },
      );
    }
  }
}

/**
 * The ConfigMap an approver creates, named by the API server (generateName): approving the same request again after
 * an approval expired, or a second approver, never collides with an earlier one.
 */
export function approvalConfigMap(a: Omit<Approval, 'name' | 'created' | 'digest'>, namespace: string): V1ConfigMap {
  const digest = approvalDigest(a);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      generateName: `strata-approval-${digest.slice(0, 16)}-`,
      namespace,
      labels: { [APPROVAL_LABEL]: digest, 'strata.dev/action': a.action, 'app.kubernetes.io/part-of': 'strata' },
    },
    immutable: true,
    data: {
      action: a.action,
      workflow: a.workflow,
      namespace: a.namespace,
      reason: a.reason,
      requester: a.requester,
      approver: a.approver,
      breakGlass: String(Boolean(a.breakGlass)),
      expires: a.expires.toISOString(),
      ...(a.until && { until: a.until.toISOString() }),
    },
  };
}

/** The approval a ConfigMap holds, or undefined when it is not one (missing fields are not an approval). */
export function approvalFromConfigMap(cm: V1ConfigMap): Approval | undefined {
  const d = cm.data ?? {};
  const digest = cm.metadata?.labels?.[APPROVAL_LABEL];
  const action = d.action as ApprovedAction;
  const created = cm.metadata?.creationTimestamp;
  if (!digest || !ACTIONS.includes(action) || !created || !cm.metadata?.name) return undefined;
  if (!d.workflow || !d.requester || !d.approver || !d.expires || d.reason === undefined) return undefined;
  return {
    name: cm.metadata.name,
    digest,
    action,
    workflow: d.workflow,
    namespace: d.namespace ?? '',
    reason: d.reason,
    requester: d.requester,
    approver: d.approver,
    breakGlass: d.breakGlass === 'true',
    created: new Date(created),
    expires: new Date(d.expires),
    ...(d.until && { until: new Date(d.until) }),
  };
}

function detail(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as string | { message?: string } | undefined;
    let message = typeof body === 'object' ? body?.message : undefined;
    if (typeof body === 'string') {
      try {
        message = (JSON.parse(body) as { message?: string }).message;
      } catch {
        message = body.slice(0, 200);
      }
    }
    return `HTTP ${err.code}${message ? ` ${message}` : ''}`;
  }
  return describeError(err);
}

/**
 * The same cluster and namespace, called with the approver's own bearer token: the API server (and admission, which
 * pins `data.approver` to whoever creates the object) sees the approver, not the server's account.
 */
export function kubeConfigAs(kc: KubeConfig, token: string): KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ClusterError('the kubeconfig names no cluster to create the approval on');
  const as = new KubeConfig();
  as.loadFromClusterAndUser(cluster, { name: 'approver', token });
  return as;
}
