// The Argo UI link: the component adds a workflow-scoped link to Argo's controller ConfigMap without touching its
// other keys, and the URL Argo makes of it names the workflow's namespace, name and uid on the dashboard.
import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { argoLinkUrl, renderWithArgoLinks, workflowLinks } from './argo-links.ts';

let hasKubectl = true;
try {
  execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
} catch {
  hasKubectl = false;
}

const ARGO_CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: workflow-controller-configmap
  namespace: argo
data:
  executor: |
    resources:
      requests:
        cpu: 10m
  namespaceParallelism: "10"
`;

describe.skipIf(!hasKubectl)('templates/components/argo-links', () => {
  test("patches the controller ConfigMap's links and keeps its other keys", () => {
    const cm = renderWithArgoLinks(ARGO_CONFIGMAP);
    expect(cm.data.namespaceParallelism).toBe('10');
    expect(cm.data.executor).toContain('cpu: 10m');
    const links = workflowLinks(cm.data);
    expect(links).toEqual([
      {
        name: 'Strata archive',
        scope: 'workflow',
        type: 'external',
        url: 'https://strata.example.com/ui/#/argo/${metadata.namespace}/${metadata.name}/${metadata.uid}',
      },
    ]);
  });

  test("Argo's substitution makes the dashboard URL of the workflow", () => {
    const [link] = workflowLinks(renderWithArgoLinks(ARGO_CONFIGMAP).data);
    const wf = {
      metadata: { namespace: 'agents', name: 'wf-1', uid: '00000000-0000-0000-0000-000000000001' },
      status: { startedAt: '2026-11-01T09:00:00Z' },
    };
    expect(argoLinkUrl(link!.url, wf)).toBe(
      'https://strata.example.com/ui/#/argo/agents/wf-1/00000000-0000-0000-0000-000000000001',
    );
  });
});
