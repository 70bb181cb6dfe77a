// Opens the cluster port: an explicit API server URL (kubectl proxy, the fake in tests) or the usual kubeconfig/in-cluster account.
import { KubeClusterApi, defaultKubeConfig, plainKubeConfig } from './client.ts';
import type { ClusterApi } from './cluster-api.ts';

export function openCluster(server: string | undefined = process.env.STRATA_KUBE_SERVER): ClusterApi {
  return new KubeClusterApi(server ? plainKubeConfig(server) : defaultKubeConfig());
}
