// The flags cluster-facing steps share (--kube-server, --policy, --policy-from-cluster) and opening cluster and policy from them.
import type { Argv } from 'yargs';
import { formatProblem, type PolicySet } from '../lib/policy/index.ts';
import type { ClusterApi } from '../lib/kube/cluster-api.ts';
import type { PolicyDigest } from '../lib/audit/policy-in-force.ts';
import { openCluster } from '../lib/kube/open.ts';
import { loadStepPolicy, namespaceList } from '../lib/kube/policy-sources.ts';
import type { StrataConfig } from '../lib/config/config.ts';

export interface ClusterPolicyArgs {
  policy?: string[];
  'policy-from-cluster'?: string;
  'kube-server'?: string;
}

export function withClusterPolicyOptions<T>(y: Argv<T>): Argv<T & ClusterPolicyArgs> {
  return y
    .option('policy', {
      type: 'string',
      array: true,
      describe: 'policy files or directories (default: built-in defaults)',
    })
    .option('policy-from-cluster', {
      type: 'string',
      describe: 'also read ConfigMaps labelled strata.dev/policy=true from these namespaces (comma-separated)',
    })
    .option('kube-server', {
      type: 'string',
      describe: 'API server URL without auth, e.g. kubectl proxy (env STRATA_KUBE_SERVER)',
    }) as Argv<T & ClusterPolicyArgs>;
}

/** The cluster, and the policy set with its problems already reported; callers decide what an invalid set stops. */
export async function openClusterAndPolicy(
  args: ClusterPolicyArgs,
  log: (line: string) => void,
): Promise<{ cluster: ClusterApi; policySet: PolicySet; digest: PolicyDigest }> {
  const cluster = await openCluster(args['kube-server']);
  const { policySet, problems, digest } = await loadStepPolicy(
    cluster,
    args.policy,
    namespaceList(args['policy-from-cluster']),
  );
  for (const p of problems) log(formatProblem(p));
  return { cluster, policySet, digest };
}

/**
 * The namespaces a sweep or the watcher lists: --namespace when given, else the install's tenant namespaces (where
 * its accounts are bound; templates/tenant), else every namespace (components/cluster-wide).
 */
export function workflowNamespaces(flag: readonly string[] | string | undefined, config: StrataConfig): string[] {
  const given = namespaceList(flag);
  return given.length ? given : [...config.tenantNamespaces];
}
