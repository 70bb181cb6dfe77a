// What the stand-in plans for a pod Argo's controller really created (fixtures/pod-assess.json: strata-archive's
// assess step from the dev overlay, as the v4.0.5 controller wrote it), and what it refuses to run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Pod } from '../../../hack/e2e/standin/kube-types.ts';
import { planPod, StandinRefusal, type PodInputs } from '../../../hack/e2e/standin/pod-plan.ts';

const fixture = (): Pod =>
  JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/pod-assess.json'), 'utf8')) as Pod;

const inputs = (): PodInputs => ({
  configMaps: new Map<string, { data?: Record<string, string> }>([
    ['strata-config', { data: { STRATA_STORE: 's3://strata-archive/dev', STRATA_OUTPUT: 'json' } }],
    ['kube-root-ca.crt', { data: { 'ca.crt': 'CA PEM' } }],
  ]),
  secrets: new Map([['minio-credentials', { data: { accesskey: Buffer.from('ak').toString('base64') } }]]),
});

describe('planPod on a controller-made pod', () => {
  const plan = planPod(fixture(), inputs());

  test('runs what follows "argoexec emissary --" with the strata CLI', () => {
    expect(plan.argv.slice(0, 2)).toEqual(['strata', 'assess']);
    expect(plan.argv).toContain('--outputs-dir=/tmp/outputs');
    expect(plan.strataImage).toBe(true);
  });

  test('resolves envFrom (the optional Secret may be missing) and keeps the executor env', () => {
    expect(plan.env.STRATA_STORE).toBe('s3://strata-archive/dev');
    expect(plan.env.ARGO_PROGRESS_FILE).toBe('/var/run/argo/progress');
    expect(plan.env).not.toHaveProperty('STRATA_S3_ACCESS_KEY_ID');
  });

  test("takes the pod's user, fsGroup and read-only root", () => {
    expect(plan.runAs).toEqual({ uid: 10001, gid: 10001, fsGroup: 10001 });
    expect(plan.readOnlyRoot).toBe(true);
    expect(plan.termination).toEqual({ path: '/dev/termination-log', fallbackToLogs: true });
  });

  test("mounts the template's /tmp and the service account volume, not the executor's own", () => {
    const byPath = Object.fromEntries(plan.mounts.map((m) => [m.mountPath, m]));
    expect(Object.keys(byPath).sort()).toEqual(['/tmp', '/var/run/secrets/kubernetes.io/serviceaccount']);
    expect(byPath['/tmp']!.source).toEqual({ kind: 'emptyDir' });
    const sa = byPath['/var/run/secrets/kubernetes.io/serviceaccount']!;
    expect(sa.readOnly).toBe(true);
    expect(sa.source).toMatchObject({ kind: 'token', path: 'token', files: { 'ca.crt': 'CA PEM', namespace: 'argo' } });
  });

  test('knows the outputs, their defaults, and where logs are archived', () => {
    const exec = plan.executor!;
    expect(exec.outputParameters).toEqual([
      { name: 'batches', path: '/tmp/outputs/batches', default: '[]' },
      { name: 'selected', path: '/tmp/outputs/selected', default: '0' },
      { name: 'deferred', path: '/tmp/outputs/deferred', default: '0' },
    ]);
    expect(exec.archiveLocation?.archiveLogs).toBe(true);
    expect(exec.archiveLocation?.s3?.key).toMatch(/^argo\/strata-archive-9zgqm\//);
    expect(exec.workflow.name).toBe('strata-archive-9zgqm');
    expect(exec.nodeId).toBe(fixture().metadata.annotations!['workflows.argoproj.io/node-id']);
    expect(plan.serviceAccount).toBe('strata-archiver');
  });
});

describe("planPod on a plain pod (a Deployment's)", () => {
  const plain = (): Pod => ({
    metadata: { name: 'strata-watch-abc', namespace: 'argo', uid: 'u1', labels: { app: 'watch' } },
    spec: {
      serviceAccountName: 'strata-archiver',
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001 },
      containers: [{ name: 'watch', image: 'strata:dev', args: ['watch', '--policy-from-cluster=argo'] }],
    },
  });

  test("runs the step image's entrypoint with the container's args, no executor", () => {
    const plan = planPod(plain(), inputs());
    expect(plan.argv).toEqual(['strata', 'watch', '--policy-from-cluster=argo']);
    expect(plan.container).toBe('watch');
    expect(plan.executor).toBeUndefined();
    expect(plan.deadlineSeconds).toBeUndefined();
  });

  test('another image without a command: its entrypoint is unknown, so it is refused', () => {
    const pod = plain();
    pod.spec.containers[0]!.image = 'nginx:1';
    expect(() => planPod(pod, inputs())).toThrow(/image nginx:1: its entrypoint is unknown here/);
  });
});

describe('planPod refuses what a node would not run the same way', () => {
  const refusal = (pod: Pod, cluster = inputs()): string => {
    try {
      planPod(pod, cluster);
    } catch (err) {
      if (err instanceof StandinRefusal) return err.message;
      throw err;
    }
    return 'not refused';
  };

  test('a ConfigMap envFrom names that does not exist (and is not optional)', () => {
    const cluster = inputs();
    cluster.configMaps.delete('strata-config');
    expect(refusal(fixture(), cluster)).toMatch(/envFrom ConfigMap strata-config does not exist/);
  });

  test('a sidecar', () => {
    const pod = fixture();
    pod.spec.containers.push({ name: 'sidecar', image: 'x' });
    expect(refusal(pod)).toMatch(/sidecar containers are not supported \(sidecar\)/);
  });

  test('a main container not run by argoexec emissary', () => {
    const pod = fixture();
    const main = pod.spec.containers.find((c) => c.name === 'main')!;
    main.command = ['strata'];
    main.args = ['assess'];
    expect(refusal(pod)).toMatch(/does not run "argoexec emissary/);
  });

  test('runAsNonRoot without a user', () => {
    const pod = fixture();
    delete pod.spec.securityContext!.runAsUser;
    expect(refusal(pod)).toMatch(/runAsNonRoot without runAsUser/);
  });

  test('a volume kind it does not know', () => {
    const pod = fixture();
    pod.spec.volumes!.find((v) => v.name === 'tmp')!.emptyDir = undefined;
    (pod.spec.volumes!.find((v) => v.name === 'tmp') as unknown as Record<string, unknown>).hostPath = { path: '/' };
    expect(refusal(pod)).toMatch(/volume tmp: unsupported kind/);
  });
});
