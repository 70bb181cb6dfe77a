// Opens the cluster port: an explicit API server URL (kubectl proxy, the fake in tests) or the usual kubeconfig/in-cluster account.
import type { ClusterApi } from './cluster-api.ts';

/**
 * The adapter is imported on first use: @kubernetes/client-node adds ~75 MiB of RSS and ~0.5 s of start-up, which
 * commands that never talk to the cluster (archive, restore, query, …) should not pay.
 */
export async function openCluster(server: string | undefined = process.env.STRATA_KUBE_SERVER): Promise<ClusterApi> {
  const { KubeClusterApi, defaultKubeConfig, plainKubeConfig } = await import('./client.ts');
  return new KubeClusterApi(server ? plainKubeConfig(server) : defaultKubeConfig());
}
