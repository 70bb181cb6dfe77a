// Least privilege, checked: every `strata` step a template (or the watch Deployment) runs is mapped to the Kubernetes
// permissions its code uses; the account it runs as must hold exactly the union of those for all its steps — each
// one granted, and nothing more. The table is checked against the code below (which commands can reach the cluster).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadFile, repoRoot, type Manifest } from './manifests.ts';

/** `<scope> <verb> <group>/<resource>[#name]`: scope `any` (every namespace; a ClusterRole bound cluster-wide) or
 * `strata` (Strata's own namespace). */
type Permission = string;

const any = (verb: string, resource: string) => `any ${verb} ${resource}`;
const strata = (verb: string, resource: string) => `strata ${verb} ${resource}`;

/** Argo's executor reports each step's outputs (every account that runs a template step). */
const EXECUTOR = [
  strata('create', 'argoproj.io/workflowtaskresults'),
  strata('patch', 'argoproj.io/workflowtaskresults'),
];
/** A step acting for its submitter asks what they may do (lib/identity/kube.ts, SubjectAccessReview). */
const ACT_FOR_REQUESTER = [any('create', 'authorization.k8s.io/subjectaccessreviews')];

/** Reading what a workflow ran (lib/sources/cluster.ts, lib/sources/argo-artifact-repository.ts). */
const READ_WORKFLOW_RUN = [
  any('get', 'argoproj.io/workflows'),
  any('get', '/pods'),
  any('list', '/pods'),
  any('get', '/pods/log'),
  any('get', 'batch/jobs'),
  any('list', 'batch/jobs'),
  ...['coderuns', 'docsruns', 'reviewruns'].flatMap((r) => [
    any('get', `agents.platform/${r}`),
    any('list', `agents.platform/${r}`),
  ]),
  any('get', '/configmaps#artifact-repositories'),
];
/** --policy-from-cluster lists the policy ConfigMaps (lib/policy/cluster-source.ts). */
const POLICY_FROM_CLUSTER = [strata('list', '/configmaps')];

/** What each subcommand does against the API server, and the code that does it. */
const STEP_NEEDS: Record<string, Permission[]> = {
  // lib/pipeline/cluster-archive.ts lists workflows; the watermark ConfigMap is read and replaced
  // (lib/pipeline/watermark-configmap.ts).
  assess: [
    any('list', 'argoproj.io/workflows'),
    ...POLICY_FROM_CLUSTER,
    strata('get', '/configmaps#strata-watermark'),
    strata('update', '/configmaps#strata-watermark'),
  ],
  archive: READ_WORKFLOW_RUN,
  // lib/pipeline/finalize-run.ts: get, label (merge patch), delete with a uid precondition.
  finalize: [
    any('get', 'argoproj.io/workflows'),
    any('patch', 'argoproj.io/workflows'),
    any('delete', 'argoproj.io/workflows'),
    ...POLICY_FROM_CLUSTER,
  ],
  // lib/pipeline/watch-loop.ts: list + watch, then archive and finalize.
  watch: [
    ...READ_WORKFLOW_RUN,
    any('list', 'argoproj.io/workflows'),
    any('watch', 'argoproj.io/workflows'),
    any('patch', 'argoproj.io/workflows'),
    any('delete', 'argoproj.io/workflows'),
    ...POLICY_FROM_CLUSTER,
  ],
  // lib/pipeline/emergency-delete.ts (get, delete uid-guarded); approvals listed (lib/identity/kube-approvals.ts).
  'emergency-delete': [
    any('get', 'argoproj.io/workflows'),
    any('delete', 'argoproj.io/workflows'),
    strata('list', '/configmaps'),
  ],
  // Restores, holds, the store's maintenance and the catalog touch no cluster object.
  restore: [],
  drill: [],
  thaw: [],
  hold: [],
  tier: POLICY_FROM_CLUSTER,
  gc: [],
  index: [],
  verify: [],
  audit: [],
};

interface Step {
  where: string;
  account: string;
  command: string;
  args: string[];
  argo: boolean;
}

const base = (f: string) => loadFile(`templates/base/${f}`);
const rbacDocs = [...base('rbac.yaml')];

/** Every `strata` container a template or the watch Deployment runs, with the account it runs as. */
function steps(): Step[] {
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

/** What a step needs: its command's, the executor's, and a review for its requester when it acts for one. */
function needsOf(step: Step): Permission[] {
  const needs = [...(STEP_NEEDS[step.command] ?? [`(no entry for strata ${step.command})`])];
  if (step.argo) needs.push(...EXECUTOR);
  if (step.args.some((a) => a.startsWith('--requester'))) needs.push(...ACT_FOR_REQUESTER);
  // A restore nobody asked for (the verify drill) is the account's own: it asks SelfSubjectAccessReview.
  else if (step.command === 'restore' || step.command === 'drill') needs.push(any('create', 'strata.dev/restores'));
  return needs;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** What an account is granted, expanded rule by rule (RoleBindings in Strata's namespace, ClusterRoleBindings). */
function grantsOf(account: string): Permission[] {
  const out = new Set<Permission>();
  for (const b of rbacDocs.filter((d) => d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding')) {
    const subjects = b.subjects as { kind: string; name: string }[];
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === account)) continue;
    const ref = b.roleRef as { kind: string; name: string };
    const role = [...rbacDocs, ...base('roles-people.yaml')].find(
      (d) => d.kind === ref.kind && d.metadata.name === ref.name,
    );
    expect(role, `${b.metadata.name} → ${ref.kind}/${ref.name}`).toBeDefined();
    const scope = b.kind === 'ClusterRoleBinding' ? 'any' : 'strata';
    for (const r of (role as Manifest).rules as Rule[])
      for (const g of r.apiGroups)
        for (const res of r.resources)
          for (const v of r.verbs)
            for (const n of r.resourceNames ?? [undefined]) out.add(`${scope} ${v} ${g}/${res}${n ? `#${n}` : ''}`);
  }
  return [...out].sort();
}

describe('every account holds exactly what its steps use', () => {
  const all = steps();
  const accounts = [...new Set(all.map((s) => s.account))].sort();

  test('the jobs run as separate accounts', () => {
    expect(accounts).toEqual([
      'strata-archiver',
      'strata-emergency',
      'strata-finalizer',
      'strata-operator',
      'strata-tiering',
      'strata-verifier',
      'strata-watcher',
    ]);
    // Only the finalize step of strata-archive deletes: it runs as its own account.
    expect(all.find((s) => s.where === 'strata-archive/finalize')?.account).toBe('strata-finalizer');
  });

  test.each(accounts)('%s', (account) => {
    const needed = [...new Set(all.filter((s) => s.account === account).flatMap(needsOf))].sort();
    expect(grantsOf(account)).toEqual(needed);
  });

  test('every ServiceAccount the install creates runs some step', () => {
    const declared = rbacDocs
      .filter((d) => d.kind === 'ServiceAccount')
      .map((d) => d.metadata.name)
      .sort();
    expect(declared).toEqual(accounts);
  });

  test('the check can fail: a grant no step uses is caught', () => {
    const extra = { apiGroups: [''], resources: ['secrets'], verbs: ['get'] };
    const role = rbacDocs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === 'strata-archiver')!;
    (role.rules as Rule[]).push(extra);
    try {
      expect(grantsOf('strata-archiver')).toContain('any get /secrets');
    } finally {
      (role.rules as Rule[]).pop();
    }
  });

  test('the steps trusted to act for a requester are exactly those config.yaml trusts', () => {
    const config = base('config.yaml')[0]!.data as Record<string, string>;
    const trusted = config
      .STRATA_TRUST_REQUESTER_FROM!.split(',')
      .map((u) => u.replace('system:serviceaccount:argo:', ''));
    const actors = [
      ...new Set(all.filter((s) => s.args.some((a) => a.startsWith('--requester'))).map((s) => s.account)),
    ];
    expect(trusted.sort()).toEqual(actors.sort());
  });
});

// The table against the code: a command whose module cannot reach the Kubernetes client (through any import,
// static or dynamic, of lib/kube/open.ts or the identity/approval adapters) must need nothing from the cluster, and a
// command that needs something must reach it.
describe('the table agrees with the code', () => {
  const kubeEntrances = ['lib/kube/open.ts'];
  // The step context opens the caller's identity lazily, only when a command calls ctx.caller (searched for below).
  const lazy = ['lib/cli/run-step.ts', 'lib/cli/step-command.ts'];
  const importRe = /(?:from\s+|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g;

  function reaches(file: string, seen = new Set<string>()): boolean {
    if (kubeEntrances.includes(file)) return true;
    if (seen.has(file) || lazy.includes(file)) return false;
    seen.add(file);
    const text = readFileSync(join(repoRoot, file), 'utf8');
    if (/\bctx\.caller\(/.test(text)) return true;
    for (const m of text.matchAll(importRe)) {
      const target = resolve(repoRoot, dirname(file), m[1]!).slice(repoRoot.length + 1);
      if (target.endsWith('.ts') && reaches(target, seen)) return true;
    }
    return false;
  }

  const commandFile = (command: string) => `steps/${command}/command.ts`;
  // Which commands reach the cluster depends on flags at run time (restore, hold: --requester), so the check runs
  // one way for the commands with no needs and no flags that could add any.
  const alwaysLocal = ['gc', 'index', 'verify', 'audit', 'thaw'];

  test.each(alwaysLocal)('strata %s never opens the cluster', (command) => {
    expect(STEP_NEEDS[command]).toEqual([]);
    expect(reaches(commandFile(command))).toBe(false);
  });

  test.each(Object.keys(STEP_NEEDS).filter((c) => STEP_NEEDS[c]!.length > 0))(
    'strata %s can reach the cluster',
    (command) => {
      expect(reaches(commandFile(command))).toBe(true);
    },
  );
});
