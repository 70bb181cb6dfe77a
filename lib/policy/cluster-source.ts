// Policy sources from the cluster: ConfigMaps labelled strata.dev/policy=true, through a small lister port.
import { stringify } from 'yaml';
import type { PolicySource } from './configmap.ts';
import { POLICY_LABEL } from './schema.ts';

export interface ConfigMapLike {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** What the policy engine needs from Kubernetes (lib/kube's ClusterApi satisfies it). */
export interface PolicyConfigMapLister {
  listConfigMaps(namespace: string, labelSelector: string): Promise<ConfigMapLike[]>;
}

/**
 * Every policy ConfigMap in the namespaces, ordered by namespace then name so merges are deterministic.
 * Each is rendered as YAML (as `kubectl get -o yaml` would), so line numbers refer to that rendering.
 */
export async function policySourcesFromCluster(
  lister: PolicyConfigMapLister,
  namespaces: readonly string[],
): Promise<PolicySource[]> {
  const maps: ConfigMapLike[] = [];
  for (const ns of namespaces) maps.push(...(await lister.listConfigMaps(ns, `${POLICY_LABEL}=true`)));
  maps.sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  return maps.map((cm) => ({
    name: `cluster:configmap/${cm.metadata.namespace ?? 'default'}/${cm.metadata.name}`,
    text: stringify(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: cm.metadata.name, namespace: cm.metadata.namespace, labels: cm.metadata.labels ?? {} },
        data: cm.data ?? {},
      },
      { blockQuote: 'literal' },
    ),
  }));
}
