// The query server explains with the policies `strata tier` applies: its Deployment mounts every policy ConfigMap of
// policies/ (as a projected volume the kubelet updates in place, so the server follows changes) at its --policy path.
import { expect, test } from 'vitest';
import { loadFile, yamlFiles } from './manifests.ts';

interface Container {
  args: string[];
  volumeMounts: Array<{ name: string; mountPath: string; subPath?: string }>;
}
interface Volume {
  name: string;
  projected?: { sources: Array<{ configMap?: { name: string; optional?: boolean } }> };
}

test('the server Deployment mounts every policy ConfigMap of policies/ at its --policy path, updatable', () => {
  const [deployment] = loadFile('templates/components/server/deployment.yaml');
  const pod = (
    deployment as unknown as { spec: { template: { spec: { containers: Container[]; volumes: Volume[] } } } }
  ).spec.template.spec;
  const server = pod.containers[0]!;
  const policyPath = server.args.find((a) => a.startsWith('--policy='))?.slice('--policy='.length);
  expect(policyPath).toBeDefined();
  const mount = server.volumeMounts.find((m) => m.mountPath === policyPath);
  expect(mount, 'a volume at the --policy path').toBeDefined();
  expect(mount!.subPath, 'subPath mounts are never updated').toBeUndefined();
  const volume = pod.volumes.find((v) => v.name === mount!.name)!;
  const mounted = volume.projected!.sources.map((s) => s.configMap!);
  const shipped = yamlFiles('policies')
    .flatMap(loadFile)
    .filter((m) => m.kind === 'ConfigMap' && m.metadata.labels?.['strata.dev/policy'] === 'true')
    .map((m) => m.metadata.name);
  expect(shipped.length).toBeGreaterThan(0);
  expect(mounted.map((c) => c.name).sort()).toEqual(shipped.sort());
  // Optional: an install that applies fewer of them still starts (the server then explains with what is there).
  expect(mounted.every((c) => c.optional === true)).toBe(true);
});
