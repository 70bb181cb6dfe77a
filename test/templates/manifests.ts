// Loads the manifests of templates/ and policies/ and resolves kustomizations the way `kustomize build` does (resources, patches, namespace).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export const repoRoot = resolve(import.meta.dirname, '../..');

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export function yamlFiles(dir: string): string[] {
  const abs = join(repoRoot, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .flatMap((name) => {
      const p = join(abs, name);
      if (statSync(p).isDirectory()) return yamlFiles(relative(repoRoot, p));
      return /\.ya?ml$/.test(name) ? [relative(repoRoot, p)] : [];
    })
    .sort();
}

export function loadFile(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(join(repoRoot, file), 'utf8'));
  return docs.flatMap((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
    const v = d.toJS() as Manifest | null;
    return v ? [{ ...v, file }] : [];
  });
}

/**
 * Every resource manifest in templates/ (kustomization and patch files excluded) and the ConfigMaps of policies/
 * (the other files there are policy tests and price lists, not Kubernetes objects).
 */
export function allManifests(): Manifest[] {
  const templates = yamlFiles('templates')
    .flatMap(loadFile)
    .filter((m) => m.kind !== 'Kustomization' && m.kind !== 'Component' && !isPatchFile(m.file));
  const policies = yamlFiles('policies')
    .flatMap(loadFile)
    .filter((m) => m.kind === 'ConfigMap');
  return [...templates, ...policies];
}

const patchFiles = new Set<string>();
function isPatchFile(file: string): boolean {
  if (patchFiles.size === 0) {
    for (const k of yamlFiles('templates').filter((f) => /kustomization\.ya?ml$/.test(f))) {
      const kust = loadFile(k)[0] as unknown as {
        patches?: { path?: string }[];
        configurations?: string[];
        transformers?: string[];
      };
      for (const p of kust.patches ?? [])
        if (p.path) patchFiles.add(relative(repoRoot, resolve(repoRoot, dirname(k), p.path)));
      for (const c of [...(kust.configurations ?? []), ...(kust.transformers ?? []).filter((t) => !t.includes('\n'))])
        patchFiles.add(relative(repoRoot, resolve(repoRoot, dirname(k), c)));
    }
  }
  return patchFiles.has(file);
}

interface Kustomization {
  namespace?: string;
  /** Transformer configs: files, or inline YAML (only NamespaceTransformer is understood). */
  transformers?: string[];
  resources?: string[];
  components?: string[];
  patches?: { path?: string; patch?: string; target?: { kind?: string; name?: string } }[];
  configurations?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

interface NamespaceTransformer {
  kind: 'NamespaceTransformer';
  metadata: { namespace: string };
  unsetOnly?: boolean;
  setRoleBindingSubjects?: 'defaultOnly' | 'allServiceAccounts' | 'none';
}

/** Kinds kustomize knows are cluster-scoped (it namespaces kinds it does not know, e.g. admission policies). */
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'CustomResourceDefinition']);

/** kustomize's namespace transformer: `namespace:` is `{namespace, defaultOnly}`; NamespaceTransformer says more. */
function setNamespace(m: Manifest, t: Omit<NamespaceTransformer, 'kind'>): Manifest {
  const ns = t.metadata.namespace;
  const metadata =
    CLUSTER_SCOPED.has(m.kind) || (t.unsetOnly && m.metadata.namespace) ? m.metadata : { ...m.metadata, namespace: ns };
  const mode = t.setRoleBindingSubjects ?? 'defaultOnly';
  const subjects = (m.subjects as { kind: string; namespace?: string }[] | undefined)?.map((sub) => {
    if (sub.kind !== 'ServiceAccount' || mode === 'none') return sub;
    if (mode === 'defaultOnly' ? sub.namespace === 'default' : !(t.unsetOnly && sub.namespace)) {
      return { ...sub, namespace: ns };
    }
    return sub;
  });
  return { ...m, metadata, ...(subjects ? { subjects } : {}) };
}

function transformersOf(dir: string, file: string, k: Kustomization): NamespaceTransformer[] {
  return (k.transformers ?? []).map((t) => {
    const docs = t.includes('\n') ? [parse(t) as NamespaceTransformer] : (loadFile(join(dir, t)) as unknown[]);
    const config = docs[0] as NamespaceTransformer | undefined;
    if (config?.kind !== 'NamespaceTransformer')
      throw new Error(`${file}: transformer ${t} is not a NamespaceTransformer`);
    return config;
  });
}

/** What `kustomize build <dir>` would put out, minus patch application: resources with the namespace applied; throws on anything unresolvable. */
export function buildKustomization(dir: string): Manifest[] {
  const file = ['kustomization.yaml', 'kustomization.yml']
    .map((f) => join(dir, f))
    .find((f) => existsSync(join(repoRoot, f)));
  if (!file) throw new Error(`${dir}: no kustomization.yaml`);
  const k = loadFile(file)[0] as unknown as Kustomization;
  const out: Manifest[] = [];
  for (const r of k.resources ?? []) {
    const target = relative(repoRoot, resolve(repoRoot, dir, r));
    if (!existsSync(join(repoRoot, target))) throw new Error(`${file}: resource ${r} does not exist`);
    out.push(...(statSync(join(repoRoot, target)).isDirectory() ? buildKustomization(target) : loadFile(target)));
  }
  for (const c of k.components ?? []) {
    const target = relative(repoRoot, resolve(repoRoot, dir, c));
    if (!existsSync(join(repoRoot, target)) || !statSync(join(repoRoot, target)).isDirectory()) {
      throw new Error(`${file}: component ${c} is not a directory`);
    }
    out.push(...buildKustomization(target));
  }
  for (const c of k.configurations ?? []) {
    if (!existsSync(resolve(repoRoot, dir, c))) throw new Error(`${file}: configuration ${c} does not exist`);
  }
  for (const p of k.patches ?? []) {
    if (p.path) {
      const path = relative(repoRoot, resolve(repoRoot, dir, p.path));
      if (!existsSync(join(repoRoot, path))) throw new Error(`${file}: patch ${p.path} does not exist`);
      for (const target of loadFile(path)) {
        if (!out.some((m) => m.kind === target.kind && m.metadata.name === target.metadata.name)) {
          throw new Error(
            `${file}: patch ${p.path} targets ${target.kind}/${target.metadata.name}, which is not among the resources`,
          );
        }
      }
    }
    if (
      p.target &&
      !out.some(
        (m) =>
          (!p.target!.kind || m.kind === p.target!.kind) && (!p.target!.name || m.metadata.name === p.target!.name),
      )
    ) {
      throw new Error(`${file}: patch target ${p.target.kind}/${p.target.name} matches no resource`);
    }
  }
  let built = k.namespace ? out.map((m) => setNamespace(m, { metadata: { namespace: k.namespace! } })) : out;
  for (const t of transformersOf(dir, file, k)) built = built.map((m) => setNamespace(m, t));
  return built;
}
