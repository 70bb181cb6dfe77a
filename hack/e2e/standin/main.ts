// The e2e stand-in for the kubelet and Argo's executor (started by hack/e2e/up.sh; docs/e2e.md says what it assumes).
//   node --import tsx hack/e2e/standin/main.ts --kubeconfig K --namespace argo --state DIR --bundle DIR --port P \
//     --tls-cert CRT --tls-key KEY
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { accessFromKubeconfig, KubeHttp } from './kube-http.ts';
import { StandinNode } from './node.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');

/** The step image's `strata` wrapper (images/strata.sh), pointed at the bundle instead of /app. */
export function strataWrapper(bundleDir: string): string {
  const image = readFileSync(join(repoRoot, 'images/strata.sh'), 'utf8');
  if (!image.includes('/app/strata.mjs')) throw new Error('images/strata.sh no longer runs /app/strata.mjs');
  return image.replaceAll('/app/strata.mjs', join(bundleDir, 'strata.mjs'));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', default: 'argo' },
      state: { type: 'string' },
      bundle: { type: 'string' },
      port: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      node: { type: 'string', default: 'strata-e2e-node' },
    },
  });
  for (const required of ['kubeconfig', 'state', 'bundle', 'port', 'tls-cert', 'tls-key'] as const)
    if (!values[required]) throw new Error(`--${required} is required`);
  if (process.getuid?.() !== 0)
    throw new Error('the stand-in runs pods in mount namespaces as their users: it needs root (see docs/e2e.md)');

  const state = resolve(values.state!);
  const strataBin = join(state, 'bin');
  mkdirSync(strataBin, { recursive: true });
  writeFileSync(join(strataBin, 'strata'), strataWrapper(resolve(values.bundle!)));
  chmodSync(join(strataBin, 'strata'), 0o755);
  for (const dir of [state, resolve(values.bundle!)])
    if (dir === '/tmp' || dir.startsWith('/tmp/'))
      throw new Error(`${dir} is under /tmp, which every pod's own /tmp hides: put the state elsewhere`);
  // Pods run as other users (runAsUser): the state and the bundle must be reachable by them.
  for (const start of [state, resolve(values.bundle!)])
    for (let d = start; d !== dirname(d); d = dirname(d))
      if ((statSync(d).mode & 0o005) !== 0o005)
        throw new Error(`${d} is not readable by other users (pods run as theirs)`);

  const access = accessFromKubeconfig(values.kubeconfig!);
  const kube = new KubeHttp(access);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const node = new StandinNode({
    name: values.node!,
    faultsFile: join(state, 'faults.json'),
    namespace: values.namespace!,
    port: Number(values.port),
    tls: { cert: readFileSync(values['tls-cert']!), key: readFileSync(values['tls-key']!), ca: access.ca },
    context: {
      podsDir: join(state, 'pods'),
      strataBin,
      apiServer: new URL(access.server),
      kube,
      claimDir: (namespace, claim) => join(state, 'claims', namespace, claim),
    },
    log,
  });
  await node.start();
  log(`stand-in node ${values.node} serving pods of ${values.namespace}`);
  const stop = () => {
    log('stopping');
    void node.shutdown().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: Error) => {
    process.stderr.write(`stand-in: ${err.message}\n`);
    process.exit(1);
  });
}
