// The Argo UI link component (templates/components/argo-links) rendered over an Argo-like controller ConfigMap, and
// the URL Argo's UI makes of it for a workflow: the same substitution as argo-workflows ui/src/shared/components/
// links.tsx processURL (`${a.b.c}` looked up in the object, no escaping), so the dashboard's browser test can open it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

const repoRoot = resolve(import.meta.dirname, '../..');
export const ARGO_LINKS_COMPONENT = join(repoRoot, 'templates/components/argo-links');

export interface ArgoLink {
  name: string;
  scope: string;
  type?: string;
  url: string;
}

/** `kubectl kustomize` of a kustomization holding `configMap` (YAML) and the component: the rendered ConfigMap. */
export function renderWithArgoLinks(configMap: string): { data: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'strata-argo-links-'));
  try {
    writeFileSync(join(dir, 'configmap.yaml'), configMap);
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      `resources: [configmap.yaml]\ncomponents: [${relative(dir, ARGO_LINKS_COMPONENT)}]\n`,
    );
    const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    const docs = parseAllDocuments(out).map((d) => d.toJS() as { kind: string; data: Record<string, string> });
    return docs.find((d) => d.kind === 'ConfigMap')!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const workflowLinks = (data: Record<string, string>): ArgoLink[] =>
  (parse(data.links ?? '[]') as ArgoLink[]).filter((l) => l.scope === 'workflow');

/** What Argo's UI does to a link's URL for an object (processURL), minus its epoch extras. */
export function argoLinkUrl(template: string, object: Record<string, unknown>): string {
  return template.replace(/\${[^}]*}/g, (x) => {
    const parts = x.replace(/(\$%7B|%7D|\${|})/g, '').split('.');
    const empty = parts[0] === 'workflow' ? '' : null;
    return String(parts.reduce<unknown>((p, c) => (p as Record<string, unknown> | null)?.[c] || empty, object));
  });
}
