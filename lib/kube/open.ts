// Opens the cluster port: an explicit API server URL (kubectl proxy, the fake in tests) or the usual kubeconfig/in-cluster account.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterApi } from './cluster-api.ts';

/**
 * The adapter is imported on first use: @kubernetes/client-node adds ~75 MiB of RSS and ~0.5 s of start-up, which
 * commands that never talk to the cluster (archive, restore, query, …) should not pay.
 */
export async function openCluster(server: string | undefined = process.env.STRATA_KUBE_SERVER): Promise<ClusterApi> {
  const { KubeClusterApi } = await import('./client.ts');
  return new KubeClusterApi(await kubeConfigFor(server));
}

/**
 * The kubeconfig to use: an explicit server (with the bearer token in $STRATA_KUBE_TOKEN, if any, so a test or a
 * static-token cluster can act as a given user), else $KUBECONFIG / ~/.kube/config / the pod's service account.
 */
export async function kubeConfigFor(
  server: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<KubeConfig> {
  const { defaultKubeConfig, plainKubeConfig } = await import('./client.ts');
  return server ? plainKubeConfig(server, env.STRATA_KUBE_TOKEN || undefined) : defaultKubeConfig();
}
