// The sweep watermark kept in a ConfigMap (for clusters where the pipeline must not write to the archive repository).
import { parseWatermark, type Watermark, type WatermarkStore } from './watermark.ts';
import type { ClusterApi } from '../kube/cluster-api.ts';

export function configMapWatermark(
  cluster: ClusterApi,
  namespace: string,
  name: string,
  scope: string,
): WatermarkStore {
  const key = scope.replace(/[^-._a-zA-Z0-9]/g, '_') || 'all';
  return {
    description: `configmap ${namespace}/${name} key ${key}`,
    async read() {
      const cm = await cluster.readConfigMap(namespace, name);
      return parseWatermark(cm?.data?.[key]);
    },
    async write(w: Watermark) {
      const cm = await cluster.readConfigMap(namespace, name);
      await cluster.writeConfigMap(
        namespace,
        name,
        { ...(cm?.data ?? {}), [key]: JSON.stringify(w) },
        { 'app.kubernetes.io/part-of': 'strata' },
      );
    },
  };
}
