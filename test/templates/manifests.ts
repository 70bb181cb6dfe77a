// Loads the manifests of templates/ and policies/ and resolves kustomizations the way `kustomize build` does (resources, patches, namespace).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

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
      const kust = loadFile(k)[0] as unknown as { patches?: { path?: string }[]; configurations?: string[] };
      for (const p of kust.patches ?? [])
        if (p.path) patchFiles.add(relative(repoRoot, resolve(repoRoot, dirname(k), p.path)));
      for (const c of kust.configurations ?? []) patchFiles.add(relative(repoRoot, resolve(repoRoot, dirname(k), c)));
    }
  }
  return patchFiles.has(file);
}

interface Kustomization {
  namespace?: string;
  resources?: string[];
  components?: string[];
  patches?: { path?: string; patch?: string; target?: { kind?: string; name?: string } }[];
  configurations?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
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
  return out.map((m) => (k.namespace ? { ...m, metadata: { ...m.metadata, namespace: k.namespace } } : m));
}
