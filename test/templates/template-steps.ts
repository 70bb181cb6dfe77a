// Every `strata` step Strata's templates (and the watch Deployment) run, with the ServiceAccount it runs as.
import { loadFile } from './manifests.ts';

export interface Step {
  where: string;
  account: string;
  command: string;
  args: string[];
  argo: boolean;
}

const base = (f: string) => loadFile(`templates/base/${f}`);

/** Every `strata` container a template or the watch Deployment runs, with the account it runs as. */
export function steps(): Step[] {
  const out: Step[] = [];
  const files = [
    'workflowtemplate-archive.yaml',
    'workflowtemplate-restore.yaml',
    'workflowtemplate-emergency-delete.yaml',
    'workflowtemplate-legal-hold.yaml',
    'workflowtemplate-tiering.yaml',
    'workflowtemplate-verify.yaml',
  ];
  for (const m of files.flatMap(base)) {
    const spec = m.spec as {
      serviceAccountName?: string;
      templates: {
        name: string;
        serviceAccountName?: string;
        container?: { command?: string[]; args?: string[] };
        script?: unknown;
      }[];
    };
    for (const t of spec.templates) {
      if (t.container?.command?.[0] !== 'strata') continue;
      const args = t.container.args ?? [];
      out.push({
        where: `${m.metadata.name}/${t.name}`,
        account: t.serviceAccountName ?? spec.serviceAccountName!,
        command: args[0]!,
        args,
        argo: true,
      });
    }
  }
  const watch = loadFile('templates/components/watch/deployment.yaml')[0]!;
  const pod = (watch.spec as { template: { spec: { serviceAccountName: string; containers: { args: string[] }[] } } })
    .template.spec;
  out.push({
    where: 'Deployment/strata-watch',
    account: pod.serviceAccountName,
    command: pod.containers[0]!.args[0]!,
    args: pod.containers[0]!.args,
    argo: false,
  });
  return out;
}
