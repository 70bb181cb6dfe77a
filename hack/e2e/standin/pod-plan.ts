// What the stand-in will run for an Argo pod, worked out from the pod alone (pure): the main container's command,
// its environment, volumes, identity and the outputs Argo's executor would collect. Anything it cannot run the way a
// node would is refused with a message naming it, so a template fault is never papered over.
import type { ArgoTemplate, ArchiveLocation, ArtifactSpec, Container, EnvVar, Pod, Volume } from './kube-types.ts';

/** The executor's own mounts: Argo's binary and progress file, the script staging directory. */
export const ARGO_INTERNAL_VOLUMES = new Set(['var-run-argo', 'argo-staging']);
/** Images run with the bundled strata CLI on PATH (the step image); other images run the command as is. */
export const STRATA_IMAGE = /(^|\/)strata(:[^/]*)?$/;

export class StandinRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StandinRefusal';
  }
}

/** The cluster objects a pod's environment and volumes draw on (keyed by name, in the pod's namespace). */
export interface PodInputs {
  configMaps: Map<string, { data?: Record<string, string> }>;
  secrets: Map<string, { data?: Record<string, string> }>;
}

export type VolumeSource =
  | { kind: 'emptyDir' }
  | { kind: 'claim'; claim: string }
  | { kind: 'files'; files: Record<string, string> }
  | { kind: 'token'; audience?: string; expirationSeconds: number; path: string; files: Record<string, string> };

export interface MountPlan {
  volume: string;
  mountPath: string;
  subPath?: string;
  readOnly: boolean;
  source: VolumeSource;
}

export interface OutputParameterPlan {
  name: string;
  path: string;
  default?: string;
}

/** Argo's executor's part of a pod: what the wait container collects and reports. */
export interface ExecutorPlan {
  workflow: { name: string; uid: string };
  nodeId: string;
  template: ArgoTemplate;
  script?: string;
  outputParameters: OutputParameterPlan[];
  outputArtifacts: ArtifactSpec[];
  inputArtifacts: ArtifactSpec[];
  archiveLocation?: ArchiveLocation;
}

export interface PodPlan {
  namespace: string;
  name: string;
  uid: string;
  /** The container the stand-in runs (`main` in an Argo pod). */
  container: string;
  serviceAccount: string;
  image: string;
  strataImage: boolean;
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  runAs?: { uid: number; gid: number; fsGroup?: number };
  readOnlyRoot: boolean;
  mounts: MountPlan[];
  /** Where the container may write its termination message, and whether its log stands in when it wrote none. */
  termination: { path: string; fallbackToLogs: boolean };
  deadlineSeconds?: number;
  /** Present for Argo's pods; a plain pod (a Deployment's, a Job's) has no executor. */
  executor?: ExecutorPlan;
}

const DEFAULT_DEADLINE_SECONDS = 600;

/** Plans any pod: Argo's (main container run by argoexec emissary) or a plain one (a Deployment's, a Job's). */
export function planPod(pod: Pod, inputs: PodInputs): PodPlan {
  const isArgo = Boolean(pod.metadata.labels?.['workflows.argoproj.io/workflow']);
  return isArgo ? planArgoPod(pod, inputs) : planPlainPod(pod, inputs);
}

function refuser(pod: Pod): (what: string) => never {
  return (what: string): never => {
    throw new StandinRefusal(`stand-in cannot run pod ${pod.metadata.namespace}/${pod.metadata.name}: ${what}`);
  };
}

function planArgoPod(pod: Pod, inputs: PodInputs): PodPlan {
  const meta = pod.metadata;
  const refuse = refuser(pod);
  const main = pod.spec.containers.find((c) => c.name === 'main');
  if (!main) return refuse('no main container (resource, suspend and plugin templates are not pods it runs)');
  const extra = pod.spec.containers.filter((c) => c.name !== 'main' && c.name !== 'wait');
  if (extra.length) refuse(`sidecar containers are not supported (${extra.map((c) => c.name).join(', ')})`);
  const template = argoTemplate(pod) ?? refuse('no ARGO_TEMPLATE on the init or wait container');
  const owner = meta.ownerReferences?.find((o) => o.kind === 'Workflow');
  if (!owner) refuse('no Workflow owner reference');
  const nodeId = meta.annotations?.['workflows.argoproj.io/node-id'] ?? refuse('no workflows.argoproj.io/node-id');

  const full = [...(main.command ?? []), ...(main.args ?? [])];
  const dashDash = full.indexOf('--');
  if (!full[0]?.endsWith('argoexec') || dashDash < 0)
    refuse(`main container does not run "argoexec emissary -- <command>": ${JSON.stringify(full)}`);
  let argv = full.slice(dashDash + 1);
  if (!argv.length) refuse('main container has no command after "argoexec emissary --"');
  let script: string | undefined;
  if (template.script) {
    script = template.script.source ?? '';
    // The executor stages the source at /argo/staging/script; the runner swaps in its own copy.
    argv = argv.map((a) => (a === '/argo/staging/script' ? SCRIPT_PLACEHOLDER : a));
  }

  const outputParameters: OutputParameterPlan[] = [];
  for (const p of template.outputs?.parameters ?? []) {
    if (!p.valueFrom?.path) continue;
    outputParameters.push({
      name: p.name,
      path: p.valueFrom.path,
      ...(p.valueFrom.default !== undefined ? { default: String(p.valueFrom.default) } : {}),
    });
  }
  for (const [what, path] of [
    ...outputParameters.map((p) => [`output parameter ${p.name}`, p.path] as const),
    ...(template.outputs?.artifacts ?? []).map((a) => [`output artifact ${a.name}`, a.path ?? ''] as const),
    ...(template.inputs?.artifacts ?? []).map((a) => [`input artifact ${a.name}`, a.path ?? ''] as const),
  ]) {
    if (!path.startsWith('/')) refuse(`${what} has no absolute path`);
  }

  return {
    ...containerPlan(pod, main, argv, inputs, refuse),
    strataImage: STRATA_IMAGE.test(template.container?.image ?? template.script?.image ?? main.image ?? ''),
    deadlineSeconds: pod.spec.activeDeadlineSeconds ?? DEFAULT_DEADLINE_SECONDS,
    executor: {
      workflow: { name: owner!.name, uid: owner!.uid },
      nodeId,
      template,
      ...(script !== undefined ? { script } : {}),
      outputParameters,
      outputArtifacts: template.outputs?.artifacts ?? [],
      inputArtifacts: template.inputs?.artifacts ?? [],
      ...(template.archiveLocation ? { archiveLocation: template.archiveLocation } : {}),
    },
  };
}

/** The step image's entrypoint (images/Dockerfile): a container without a command runs `strata <args>`. */
const STRATA_ENTRYPOINT = ['strata'];

function planPlainPod(pod: Pod, inputs: PodInputs): PodPlan {
  const refuse = refuser(pod);
  if (pod.spec.initContainers?.length) refuse('init containers are not supported');
  if (pod.spec.containers.length !== 1)
    refuse(`only single-container pods run (${pod.spec.containers.map((c) => c.name).join(', ')})`);
  const c = pod.spec.containers[0]!;
  const strataImage = STRATA_IMAGE.test(c.image ?? '');
  const command =
    c.command ?? (strataImage ? STRATA_ENTRYPOINT : refuse(`image ${c.image}: its entrypoint is unknown here`));
  return {
    ...containerPlan(pod, c, [...command, ...(c.args ?? [])], inputs, refuse),
    strataImage,
    ...(pod.spec.activeDeadlineSeconds ? { deadlineSeconds: pod.spec.activeDeadlineSeconds } : {}),
  };
}

function containerPlan(
  pod: Pod,
  c: Container,
  argv: string[],
  inputs: PodInputs,
  refuse: (what: string) => never,
): Omit<PodPlan, 'strataImage' | 'executor' | 'deadlineSeconds'> {
  const meta = pod.metadata;
  const podVolumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  const mounts: MountPlan[] = [];
  for (const m of c.volumeMounts ?? []) {
    if (ARGO_INTERNAL_VOLUMES.has(m.name)) continue;
    const volume = podVolumes.get(m.name) ?? refuse(`volume mount ${m.name} names no volume`);
    mounts.push({
      volume: m.name,
      mountPath: m.mountPath,
      ...(m.subPath ? { subPath: m.subPath } : {}),
      readOnly: Boolean(m.readOnly),
      source: volumeSource(volume, pod, inputs, refuse),
    });
  }

  const security = { ...pod.spec.securityContext, ...c.securityContext };
  let runAs: PodPlan['runAs'];
  const fsGroup = pod.spec.securityContext?.fsGroup;
  if (security.runAsUser !== undefined)
    runAs = {
      uid: security.runAsUser,
      gid: security.runAsGroup ?? security.runAsUser,
      ...(fsGroup !== undefined ? { fsGroup } : {}),
    };
  else if (security.runAsNonRoot) refuse('runAsNonRoot without runAsUser (the image user is unknown here)');

  return {
    namespace: meta.namespace,
    name: meta.name,
    uid: meta.uid,
    container: c.name,
    serviceAccount: pod.spec.serviceAccountName ?? 'default',
    image: c.image ?? '',
    argv,
    env: resolveEnv(c, pod, inputs, refuse),
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    ...(runAs ? { runAs } : {}),
    readOnlyRoot: Boolean(c.securityContext?.readOnlyRootFilesystem),
    mounts,
    termination: {
      path: c.terminationMessagePath ?? '/dev/termination-log',
      fallbackToLogs: c.terminationMessagePolicy === 'FallbackToLogsOnError',
    },
  };
}

/** Stands for the staged script's path in argv until the runner knows where it put the script. */
export const SCRIPT_PLACEHOLDER = '\0script';

function argoTemplate(pod: Pod): ArgoTemplate | undefined {
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    const raw = c.env?.find((e) => e.name === 'ARGO_TEMPLATE')?.value;
    if (raw) return JSON.parse(raw) as ArgoTemplate;
  }
  return undefined;
}

function decodeSecret(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

function resolveEnv(
  c: Container,
  pod: Pod,
  inputs: PodInputs,
  refuse: (what: string) => never,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = inputs.configMaps.get(from.configMapRef.name);
      if (!cm && !from.configMapRef.optional) refuse(`envFrom ConfigMap ${from.configMapRef.name} does not exist`);
      for (const [k, v] of Object.entries(cm?.data ?? {})) env[prefix + k] = v;
    } else if (from.secretRef) {
      const secret = inputs.secrets.get(from.secretRef.name);
      if (!secret && !from.secretRef.optional) refuse(`envFrom Secret ${from.secretRef.name} does not exist`);
      for (const [k, v] of Object.entries(decodeSecret(secret?.data))) env[prefix + k] = v;
    } else refuse('envFrom with neither configMapRef nor secretRef');
  }
  for (const e of c.env ?? []) {
    const value = envValue(e, pod, inputs, refuse);
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

function envValue(e: EnvVar, pod: Pod, inputs: PodInputs, refuse: (what: string) => never): string | undefined {
  if (!e.valueFrom) return expandEnv(e.value ?? '');
  const { configMapKeyRef, secretKeyRef, fieldRef } = e.valueFrom;
  if (configMapKeyRef) {
    const value = inputs.configMaps.get(configMapKeyRef.name)?.data?.[configMapKeyRef.key];
    if (value === undefined && !configMapKeyRef.optional)
      refuse(`env ${e.name}: ConfigMap key ${configMapKeyRef.name}/${configMapKeyRef.key} does not exist`);
    return value;
  }
  if (secretKeyRef) {
    const value = decodeSecret(inputs.secrets.get(secretKeyRef.name)?.data)[secretKeyRef.key];
    if (value === undefined && !secretKeyRef.optional)
      refuse(`env ${e.name}: Secret key ${secretKeyRef.name}/${secretKeyRef.key} does not exist`);
    return value;
  }
  if (fieldRef)
    return fieldValue(fieldRef.fieldPath, pod) ?? refuse(`env ${e.name}: unsupported fieldRef ${fieldRef.fieldPath}`);
  return refuse(`env ${e.name}: unsupported valueFrom ${Object.keys(e.valueFrom).join(', ')}`);
}

/** $(VAR) references to earlier variables are not used by the templates; refuse rather than pass them on. */
function expandEnv(value: string): string {
  if (/\$\([A-Za-z_][A-Za-z0-9_]*\)/.test(value))
    throw new StandinRefusal(`env value "${value}" uses $(VAR) expansion`);
  return value;
}

function fieldValue(path: string, pod: Pod): string | undefined {
  const meta = pod.metadata;
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return meta.labels?.[label[1]!] ?? '';
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (annotation) return meta.annotations?.[annotation[1]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name;
    case 'metadata.namespace':
      return meta.namespace;
    case 'metadata.uid':
      return meta.uid;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'status.podIP':
    case 'status.hostIP':
      return '127.0.0.1';
    default:
      return undefined;
  }
}

function volumeSource(volume: Volume, pod: Pod, inputs: PodInputs, refuse: (what: string) => never): VolumeSource {
  if (volume.emptyDir) return { kind: 'emptyDir' };
  if (volume.persistentVolumeClaim) return { kind: 'claim', claim: volume.persistentVolumeClaim.claimName };
  if (volume.configMap) {
    const cm = inputs.configMaps.get(volume.configMap.name);
    if (!cm && !volume.configMap.optional)
      refuse(`volume ${volume.name}: ConfigMap ${volume.configMap.name} does not exist`);
    return { kind: 'files', files: pick(cm?.data ?? {}, volume.configMap.items) };
  }
  if (volume.secret) {
    const secret = inputs.secrets.get(volume.secret.secretName);
    if (!secret && !volume.secret.optional)
      refuse(`volume ${volume.name}: Secret ${volume.secret.secretName} does not exist`);
    return { kind: 'files', files: pick(decodeSecret(secret?.data), volume.secret.items) };
  }
  if (volume.projected) {
    // The service account admission plugin's kube-api-access volume: a bound token, the cluster CA, the namespace.
    const files: Record<string, string> = {};
    let token: { audience?: string; expirationSeconds: number; path: string } | undefined;
    for (const s of volume.projected.sources) {
      if (s.serviceAccountToken) {
        token = {
          ...(s.serviceAccountToken.audience ? { audience: s.serviceAccountToken.audience } : {}),
          expirationSeconds: s.serviceAccountToken.expirationSeconds ?? 3600,
          path: s.serviceAccountToken.path,
        };
      } else if (s.configMap) {
        const cm = inputs.configMaps.get(s.configMap.name);
        if (!cm && !s.configMap.optional) refuse(`volume ${volume.name}: ConfigMap ${s.configMap.name} does not exist`);
        Object.assign(files, pick(cm?.data ?? {}, s.configMap.items));
      } else if (s.downwardAPI) {
        for (const item of s.downwardAPI.items) {
          const value = item.fieldRef ? fieldValue(item.fieldRef.fieldPath, pod) : undefined;
          if (value === undefined) refuse(`volume ${volume.name}: unsupported downwardAPI item ${item.path}`);
          files[item.path] = value!;
        }
      } else refuse(`volume ${volume.name}: unsupported projected source ${Object.keys(s).join(', ')}`);
    }
    return token ? { kind: 'token', ...token, files } : { kind: 'files', files };
  }
  return refuse(
    `volume ${volume.name}: unsupported kind ${Object.keys(volume)
      .filter((k) => k !== 'name')
      .join(', ')}`,
  );
}

function pick(
  data: Record<string, string>,
  items: { key: string; path: string }[] | undefined,
): Record<string, string> {
  if (!items) return { ...data };
  return Object.fromEntries(items.filter((i) => i.key in data).map((i) => [i.path, data[i.key]!]));
}
