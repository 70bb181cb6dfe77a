// What the stand-in assumes about the templates it runs, as a check over Argo workflow specs (docs/e2e.md lists
// the same). Strata's shipped templates must pass it, so a template the stand-in would run differently from a real
// node (and could thereby hide a fault in) fails a test instead.
import { STRATA_IMAGE } from './pod-plan.ts';

interface Mount {
  name: string;
  mountPath: string;
}

interface TemplateContainer {
  image?: string;
  command?: string[];
  args?: string[];
  source?: string;
  volumeMounts?: Mount[];
  env?: { name: string; value?: string; valueFrom?: Record<string, unknown> }[];
  envFrom?: Record<string, unknown>[];
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean };
}

interface Template {
  name: string;
  container?: TemplateContainer;
  script?: TemplateContainer;
  steps?: unknown;
  dag?: unknown;
  suspend?: unknown;
  [other: string]: unknown;
  volumes?: { name: string; [kind: string]: unknown }[];
  sidecars?: unknown[];
  initContainers?: unknown[];
  outputs?: {
    parameters?: { name: string; valueFrom?: { path?: string } }[];
    artifacts?: { name: string; path?: string }[];
  };
  inputs?: { artifacts?: { name: string; path?: string }[] };
}

export interface WorkflowSpecLike {
  templates?: Template[];
  volumes?: { name: string; [kind: string]: unknown }[];
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean };
}

/** Template kinds the controller handles itself, and the pod kinds the stand-in runs. */
const CONTROLLER_KINDS = ['steps', 'dag', 'suspend'];
const POD_KINDS = ['container', 'script'];
const UNSUPPORTED_KINDS = ['resource', 'containerSet', 'http', 'plugin', 'data'];
const VOLUME_KINDS = ['emptyDir', 'persistentVolumeClaim', 'configMap', 'secret'];
const ENV_SOURCES = ['configMapKeyRef', 'secretKeyRef', 'fieldRef'];
/** Script interpreters the step image and the host both have. */
const SCRIPT_INTERPRETERS = ['sh'];

function under(path: string, mounts: Mount[]): boolean {
  return mounts.some((m) => path === m.mountPath || path.startsWith(m.mountPath.replace(/\/?$/, '/')));
}

/** Every way a workflow spec departs from what the stand-in runs faithfully; empty when it fits. */
export function templateAssumptionProblems(spec: WorkflowSpecLike, where: string): string[] {
  const problems: string[] = [];
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  for (const t of spec.templates ?? []) {
    const at = `${where} template ${t.name}`;
    const kinds = Object.keys(t).filter((k) => [...CONTROLLER_KINDS, ...POD_KINDS, ...UNSUPPORTED_KINDS].includes(k));
    for (const k of kinds.filter((k) => UNSUPPORTED_KINDS.includes(k)))
      problems.push(`${at}: ${k} templates are not run by the stand-in`);
    const c = t.container ?? t.script;
    if (!c) continue;
    if (t.sidecars?.length) problems.push(`${at}: sidecars are not run by the stand-in`);
    if (t.initContainers?.length) problems.push(`${at}: init containers are not run by the stand-in`);
    if (!STRATA_IMAGE.test(c.image ?? '')) problems.push(`${at}: image ${c.image} is not the strata step image`);
    if (t.container && c.command?.[0] !== 'strata')
      problems.push(`${at}: command ${JSON.stringify(c.command)} does not start with strata`);
    if (t.script && !SCRIPT_INTERPRETERS.includes(c.command?.[0] ?? ''))
      problems.push(`${at}: script interpreter ${JSON.stringify(c.command)} is not one of ${SCRIPT_INTERPRETERS}`);
    const local = new Map((t.volumes ?? []).map((v) => [v.name, v]));
    const mounts = c.volumeMounts ?? [];
    for (const m of mounts) {
      const v = local.get(m.name) ?? volumes.get(m.name);
      if (!v) problems.push(`${at}: volume mount ${m.name} names no volume`);
      else if (!VOLUME_KINDS.some((k) => k in v))
        problems.push(`${at}: volume ${m.name} is none of ${VOLUME_KINDS.join(', ')}`);
    }
    const paths = [
      ...(t.outputs?.parameters ?? []).flatMap((p) =>
        p.valueFrom?.path ? [[`output parameter ${p.name}`, p.valueFrom.path]] : [],
      ),
      ...(t.outputs?.artifacts ?? []).map((a) => [`output artifact ${a.name}`, a.path ?? '']),
      ...(t.inputs?.artifacts ?? []).map((a) => [`input artifact ${a.name}`, a.path ?? '']),
    ];
    // Argo's executor can read a file from the image's own filesystem; the stand-in reads only volumes.
    for (const [what, path] of paths)
      if (!under(path!, mounts)) problems.push(`${at}: ${what} at ${path} is on no mounted volume`);
    for (const e of c.env ?? []) {
      const from = Object.keys(e.valueFrom ?? {});
      if (from.some((k) => !ENV_SOURCES.includes(k))) problems.push(`${at}: env ${e.name} from ${from.join(', ')}`);
    }
    for (const e of c.envFrom ?? [])
      if (!('configMapRef' in e) && !('secretRef' in e))
        problems.push(`${at}: envFrom other than configMapRef/secretRef`);
    const security = { ...spec.securityContext, ...c.securityContext };
    if (security.runAsNonRoot && security.runAsUser === undefined)
      problems.push(`${at}: runAsNonRoot without runAsUser (the image's user is unknown to the stand-in)`);
  }
  return problems;
}
