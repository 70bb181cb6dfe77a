// The policy set a pipeline step runs with: policy files, plus ConfigMaps labelled strata.dev/policy read live from the cluster.
import { createHash } from 'node:crypto';
import { policyDigest, type PolicyDigest } from '../audit/policy-in-force.ts';
import { loadPolicySet, type PolicyProblem, type PolicySet } from '../policy/index.ts';
import { readPolicySources } from '../policy-files/policy-files.ts';
import { policySourcesFromCluster } from '../policy/cluster-source.ts';
import type { ClusterApi } from './cluster-api.ts';

/**
 * Reading ConfigMaps through the API rather than a volume mount means a policy change applies at the next step,
 * and avoids the `..data` / timestamped directories Kubernetes puts in ConfigMap volumes.
 */
export async function loadStepPolicy(
  cluster: ClusterApi,
  files: readonly string[] = [],
  namespaces: readonly string[] = [],
): Promise<{
  policySet: PolicySet;
  problems: PolicyProblem[];
  sources: number;
  fingerprint: string;
  digest: PolicyDigest;
}> {
  const sources = [
    ...readPolicySources(files),
    ...(namespaces.length ? await policySourcesFromCluster(cluster, namespaces) : []),
  ];
  // Tells a long-running step whether anything changed since it last read them.
  const hash = createHash('sha256');
  for (const s of sources) hash.update(`${s.name}\0${s.text.length}\0${s.text}`);
  return {
    ...loadPolicySet(sources),
    sources: sources.length,
    fingerprint: hash.digest('hex'),
    digest: policyDigest(sources),
  };
}

/** "argo,agents" or repeated flags → namespaces. */
export function namespaceList(values: readonly string[] | string | undefined): string[] {
  const list = typeof values === 'string' ? [values] : (values ?? []);
  return list
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}
