// Least privilege, checked: every `strata` step a template (or the watch Deployment) runs is mapped to the Kubernetes
// permissions its code uses; the account it runs as must hold exactly the union of those for all its steps — each
// one granted, and nothing more. The table is checked against the code below (which commands can reach the cluster).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildKustomization, loadFile, repoRoot, type Manifest } from './manifests.ts';
import { steps, type Step } from './template-steps.ts';

const base = (f: string) => loadFile(`templates/base/${f}`);

/**
 * `<scope> <verb> <group>/<resource>[#name]`: scope `tenant` (in every namespace Strata archives: a RoleBinding there
 * in the default install, a ClusterRoleBinding with components/cluster-wide), `strata` (Strata's own namespace) or
 * `cluster` (a cluster-scoped resource). A grant no scope explains is `any` (every namespace when only the tenants'
 * are needed), which no step needs.
 */
type Permission = string;

const tenant = (verb: string, resource: string) => `tenant ${verb} ${resource}`;
const strata = (verb: string, resource: string) => `strata ${verb} ${resource}`;
const cluster = (verb: string, resource: string) => `cluster ${verb} ${resource}`;

/** Resources that live outside namespaces: only a ClusterRoleBinding grants them. */
const CLUSTER_SCOPED = new Set(['authorization.k8s.io/subjectaccessreviews', 'authentication.k8s.io/tokenreviews']);

/** Argo's executor reports each step's outputs (every account that runs a template step). */
const EXECUTOR = [
  strata('create', 'argoproj.io/workflowtaskresults'),
  strata('patch', 'argoproj.io/workflowtaskresults'),
];
/** A step acting for its submitter asks what they may do (lib/identity/kube.ts, SubjectAccessReview). */
const ACT_FOR_REQUESTER = [cluster('create', 'authorization.k8s.io/subjectaccessreviews')];

/** Reading what a workflow ran (lib/sources/cluster.ts, lib/sources/argo-artifact-repository.ts). */
const READ_WORKFLOW_RUN = [
  tenant('get', 'argoproj.io/workflows'),
  tenant('get', '/pods'),
  tenant('list', '/pods'),
  tenant('get', '/pods/log'),
  tenant('get', 'batch/jobs'),
  tenant('list', 'batch/jobs'),
  ...['coderuns', 'docsruns', 'reviewruns'].flatMap((r) => [
    tenant('get', `agents.platform/${r}`),
    tenant('list', `agents.platform/${r}`),
  ]),
  tenant('get', '/configmaps#artifact-repositories'),
];
/** --policy-from-cluster lists the policy ConfigMaps (lib/policy/cluster-source.ts). */
const POLICY_FROM_CLUSTER = [strata('list', '/configmaps')];

/** What each subcommand does against the API server, and the code that does it. */
const STEP_NEEDS: Record<string, Permission[]> = {
  // lib/pipeline/cluster-archive.ts lists workflows (in each tenant namespace, STRATA_TENANT_NAMESPACES); the watermark ConfigMap is read and replaced
  // (lib/pipeline/watermark-configmap.ts).
  assess: [
    tenant('list', 'argoproj.io/workflows'),
    ...POLICY_FROM_CLUSTER,
    strata('get', '/configmaps#strata-watermark'),
    strata('update', '/configmaps#strata-watermark'),
  ],
  archive: READ_WORKFLOW_RUN,
  // lib/pipeline/finalize-run.ts: get, label (merge patch), delete with a uid precondition.
  finalize: [
    tenant('get', 'argoproj.io/workflows'),
    tenant('patch', 'argoproj.io/workflows'),
    tenant('delete', 'argoproj.io/workflows'),
    ...POLICY_FROM_CLUSTER,
  ],
  // lib/pipeline/watch-loop.ts: list + watch, then archive and finalize.
  watch: [
    ...READ_WORKFLOW_RUN,
    tenant('list', 'argoproj.io/workflows'),
    tenant('watch', 'argoproj.io/workflows'),
    tenant('patch', 'argoproj.io/workflows'),
    tenant('delete', 'argoproj.io/workflows'),
    ...POLICY_FROM_CLUSTER,
  ],
  // lib/pipeline/emergency-delete.ts (get, delete uid-guarded); approvals listed (lib/identity/kube-approvals.ts).
  'emergency-delete': [
    tenant('get', 'argoproj.io/workflows'),
    tenant('delete', 'argoproj.io/workflows'),
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

/** What a step needs: its command's, the executor's, and a review for its requester when it acts for one. */
function needsOf(step: Step): Permission[] {
  const needs = [...(STEP_NEEDS[step.command] ?? [`(no entry for strata ${step.command})`])];
  if (step.argo) needs.push(...EXECUTOR);
  if (step.args.some((a) => a.startsWith('--requester'))) needs.push(...ACT_FOR_REQUESTER);
  // A restore nobody asked for (the verify drill) is the account's own: it asks SelfSubjectAccessReview.
  else if (step.command === 'restore' || step.command === 'drill') needs.push(tenant('create', 'strata.dev/restores'));
  return needs;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The install's RBAC objects as kustomize renders them (namespaces and binding subjects set). */
type Install = Manifest[];

const rbacKinds = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);
const rbacOf = (docs: Manifest[]): Install => docs.filter((d) => rbacKinds.has(d.kind));

/** The default install: Strata's namespace `argo`, its accounts bound in each tenant namespace (templates/tenant). */
const namespaced = (overlay: string): Install => rbacOf(buildKustomization(overlay));
/** components/cluster-wide instead of tenant directories: the same roles, bound in every namespace. */
const clusterWide = (): Install =>
  rbacOf([...buildKustomization('templates/base'), ...buildKustomization('templates/components/cluster-wide')]);

const STRATA_NAMESPACE = 'argo';
const fromTenantDir = (m: Manifest) => m.file.startsWith('templates/tenant/');

/**
 * What an account is granted, expanded rule by rule: a Role bound in Strata's namespace is `strata`; a RoleBinding
 * from templates/tenant is `tenant` (and every tenant namespace must hold the same); a ClusterRoleBinding is `cluster`
 * for cluster-scoped resources, `tenant` when the install binds cluster-wide, else `any` (more than a step needs).
 */
function grantsOf(install: Install, account: string, bindsClusterWide: boolean): Permission[] {
  const perTenant = new Map<string, Set<Permission>>(
    install.filter(fromTenantDir).map((d) => [d.metadata.namespace!, new Set<Permission>()]),
  );
  const out = new Set<Permission>();
  for (const b of install.filter((d) => d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding')) {
    const subjects = b.subjects as { kind: string; name: string; namespace?: string }[];
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === account)) continue;
    for (const s of subjects.filter((s) => s.kind === 'ServiceAccount'))
      expect(s.namespace ?? STRATA_NAMESPACE, `${b.kind}/${b.metadata.name} subject ${s.name}`).toBe(STRATA_NAMESPACE);
    const ref = b.roleRef as { kind: string; name: string };
    const role = [...install, ...base('roles-people.yaml')].find(
      (d) =>
        d.kind === ref.kind &&
        d.metadata.name === ref.name &&
        (ref.kind === 'ClusterRole' || d.metadata.namespace === b.metadata.namespace),
    );
    expect(role, `${b.metadata.name} → ${ref.kind}/${ref.name}`).toBeDefined();
    const tenantNamespace = b.kind === 'RoleBinding' && fromTenantDir(b) ? b.metadata.namespace! : undefined;
    if (b.kind === 'RoleBinding' && !tenantNamespace)
      expect(b.metadata.namespace ?? STRATA_NAMESPACE, `${b.metadata.name}`).toBe(STRATA_NAMESPACE);
    const into = tenantNamespace ? (perTenant.get(tenantNamespace) ?? new Set<Permission>()) : out;
    if (tenantNamespace) perTenant.set(tenantNamespace, into);
    for (const r of (role as Manifest).rules as Rule[])
      for (const g of r.apiGroups)
        for (const res of r.resources) {
          const scope =
            b.kind === 'RoleBinding'
              ? tenantNamespace
                ? 'tenant'
                : 'strata'
              : CLUSTER_SCOPED.has(`${g}/${res}`)
                ? 'cluster'
                : bindsClusterWide
                  ? 'tenant'
                  : 'any';
          for (const v of r.verbs)
            for (const n of r.resourceNames ?? [undefined]) into.add(`${scope} ${v} ${g}/${res}${n ? `#${n}` : ''}`);
        }
  }
  const tenants = [...perTenant.values()].map((set) => [...set].sort());
  // Every tenant namespace grants the same; a namespace missing a binding shows as a difference here.
  for (const [i, t] of tenants.entries()) expect(t, [...perTenant.keys()][i]).toEqual(tenants[0]);
  for (const p of tenants[0] ?? []) out.add(p);
  return [...out].sort();
}

const installs: [string, () => Install, boolean][] = [
  ['default install (dev overlay: tenant namespace argo)', () => namespaced('templates/overlays/dev'), false],
  ['default install (prod overlay: tenant namespace agents)', () => namespaced('templates/overlays/prod'), false],
  ['components/cluster-wide', clusterWide, true],
];

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

  describe.each(installs)('%s', (_name, install, bindsClusterWide) => {
    const docs = install();
    test.each(accounts)('%s', (account) => {
      const needed = [...new Set(all.filter((s) => s.account === account).flatMap(needsOf))].sort();
      expect(grantsOf(docs, account, bindsClusterWide)).toEqual(needed);
    });

    test('every ServiceAccount the install creates runs some step', () => {
      const declared = docs
        .filter((d) => d.kind === 'ServiceAccount')
        .map((d) => d.metadata.name)
        .sort();
      expect(declared).toEqual(accounts);
    });
  });

  test('the default install grants nothing cluster-wide on namespaced resources, and lists its tenants in the config', () => {
    for (const overlay of ['templates/overlays/dev', 'templates/overlays/prod']) {
      const docs = buildKustomization(overlay);
      const tenants = [...new Set(docs.filter(fromTenantDir).map((d) => d.metadata.namespace!))].sort();
      const config = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'strata-config')!;
      const patch = loadFile(`${overlay}/config-patch.yaml`)[0]!.data as Record<string, string>;
      expect(config).toBeDefined();
      expect(patch.STRATA_TENANT_NAMESPACES!.split(',').sort(), overlay).toEqual(tenants);
      const bound = docs
        .filter((d) => d.kind === 'ClusterRoleBinding')
        .map((d) => (d.roleRef as { name: string }).name)
        .sort();
      expect(bound, overlay).toEqual(['strata-subject-review']);
    }
  });

  test('the check can fail: a grant no step uses, or a tenant namespace missing a binding, is caught', () => {
    const docs = namespaced('templates/overlays/prod');
    const role = docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === 'strata-archiver')!;
    (role.rules as Rule[]).push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] });
    expect(grantsOf(docs, 'strata-archiver', false)).toContain('tenant get /secrets');
    (role.rules as Rule[]).pop();
    // A second tenant namespace whose finalizer binding was forgotten.
    const second = docs
      .filter((d) => fromTenantDir(d) && d.metadata.name !== 'strata-finalizer')
      .map((d) => ({ ...d, metadata: { ...d.metadata, namespace: 'team-b' } }));
    expect(() => grantsOf([...docs, ...second], 'strata-finalizer', false)).toThrow();
    // A ClusterRoleBinding in the default install is more than any step needs.
    const wide = clusterWide().filter((d) => d.kind === 'ClusterRoleBinding');
    expect(grantsOf([...docs, ...wide], 'strata-finalizer', false)).toContain('any delete argoproj.io/workflows');
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
  // Which commands reach the cluster depends on flags at run time (restore, thaw, hold: --requester), so the check runs
  // one way for the commands with no needs and no flags that could add any.
  const alwaysLocal = ['gc', 'index', 'verify', 'audit'];

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

// The query service (components/server) is no template step: its needs are listed here from its code —
// server/auth/kube-review.ts (TokenReview, SubjectAccessReview), server/service/hold-service.ts (approvals of long
// extensions: list ConfigMaps) and lib/kube/workflow-submitter.ts (restore jobs as strata-restore Workflows in
// Strata's namespace: submit, read back, list, terminate by patch).
describe("the query service's account holds exactly what the server uses", () => {
  const docs = [...loadFile('templates/components/server/rbac.yaml'), ...base('rbac.yaml')];
  const SERVER_NEEDS = [
    cluster('create', 'authentication.k8s.io/tokenreviews'),
    cluster('create', 'authorization.k8s.io/subjectaccessreviews'),
    strata('list', '/configmaps'),
    strata('create', 'argoproj.io/workflows'),
    strata('get', 'argoproj.io/workflows'),
    strata('list', 'argoproj.io/workflows'),
    strata('patch', 'argoproj.io/workflows'),
  ].sort();

  test('strata-server', () => {
    expect(grantsOf(docs, 'strata-server', false)).toEqual(SERVER_NEEDS);
  });

  test('the submitter calls exactly the workflow verbs granted', () => {
    const code = readFileSync(join(repoRoot, 'lib/kube/workflow-submitter.ts'), 'utf8');
    const calls = [...code.matchAll(/this\.custom\.(\w+)NamespacedCustomObject/g)].map((m) => m[1]).sort();
    const verbs = { create: 'create', get: 'get', list: 'list', patch: 'patch' } as Record<string, string>;
    expect([...new Set(calls.map((c) => verbs[c!]))].sort()).toEqual(
      SERVER_NEEDS.filter((p) => p.includes('workflows')).map((p) => p.split(' ')[1]),
    );
  });
});
