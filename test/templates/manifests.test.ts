// Every manifest in templates/ and policies/ is valid: Argo kinds against Argo's schema, core kinds structurally,
// kustomizations resolve, parameter references are declared, and every `strata` invocation parses with the real CLI.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, test } from 'vitest';
import { checkEventBinding, checkWorkflowSpec, unknownEventNames } from './argo-refs.ts';
import { allManifests, buildKustomization, repoRoot, type Manifest } from './manifests.ts';
import { strataInvocations, parseWithCli } from './cli-drift.ts';
import { ExitCode } from '../../lib/errors.ts';

/** kubectl carries kustomize (`kubectl kustomize`); machines without it skip those builds. */
function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const ARGO_KINDS = new Set([
  'Workflow',
  'WorkflowTemplate',
  'ClusterWorkflowTemplate',
  'CronWorkflow',
  'WorkflowEventBinding',
]);
const schemaPath = join(resolve(repoRoot, '../shared'), 'argo/schema.json');
const manifests = allManifests();
const argo = manifests.filter((m) => ARGO_KINDS.has(m.kind));
const core = manifests.filter((m) => !ARGO_KINDS.has(m.kind));
const strip = ({ file: _file, ...m }: Manifest) => m;
const ref = (m: Manifest) => `${m.file} ${m.kind}/${m.metadata?.name}`;

test('templates/ holds the pipeline the issue asks for', () => {
  const have = new Set(manifests.map((m) => `${m.kind}/${m.metadata.name}`));
  for (const want of [
    'WorkflowTemplate/strata-archive',
    'WorkflowTemplate/strata-restore',
    'WorkflowTemplate/strata-emergency-delete',
    'WorkflowTemplate/strata-legal-hold',
    'WorkflowTemplate/strata-tiering',
    'WorkflowTemplate/strata-verify',
    'CronWorkflow/strata-sweep',
    'CronWorkflow/strata-tiering',
    'CronWorkflow/strata-verify',
    'WorkflowEventBinding/strata-archive-now',
    'ConfigMap/strata-config',
    'ConfigMap/artifact-repositories',
    'ServiceAccount/strata-archiver',
    'ClusterRole/strata-archiver',
  ])
    expect(have, want).toContain(want);
  const sweep = argo.find((m) => m.metadata.name === 'strata-sweep')!.spec as {
    schedules: string[];
    concurrencyPolicy: string;
  };
  expect(sweep).toMatchObject({ schedules: ['*/15 * * * *'], concurrencyPolicy: 'Forbid' });
});

if (!existsSync(schemaPath)) console.warn(`skipping Argo schema validation: ${schemaPath} is absent`);
describe.skipIf(!existsSync(schemaPath))('Argo kinds against ../shared/argo/schema.json (draft 2020-12)', () => {
  // In beforeAll: a skipped describe still runs its body to collect the tests, and the schema may be absent.
  let validate!: ValidateFunction;
  beforeAll(() => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    formats.default(ajv); // CommonJS module: the plugin is its default export
    validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
  });
  test.each(argo.map((m) => [ref(m), m] as const))('%s', (_name, m) => {
    const ok = validate(strip(m));
    // oneOf reports every branch; the branch whose kind matches is the one that says what is wrong.
    const errors = (validate.errors ?? []).filter(
      (e) => !/\/(kind|apiVersion)$/.test(e.instancePath) && e.keyword !== 'oneOf' && e.keyword !== 'const',
    );
    expect(ok ? [] : errors.map((e) => `${e.instancePath} ${e.message}`)).toEqual([]);
  });

  test.skipIf(!hasKubectl()).each(['templates/overlays/dev', 'templates/overlays/prod'])(
    'kubectl kustomize %s: the rendered Argo objects still validate (patches included)',
    (dir) => {
      const text = execFileSync('kubectl', ['kustomize', join(repoRoot, dir)], { encoding: 'utf8' });
      const rendered = parseAllDocuments(text)
        .map((d) => d.toJS() as Manifest)
        .filter((m) => ARGO_KINDS.has(m.kind));
      expect(rendered.length).toBeGreaterThan(5);
      for (const m of rendered) expect(validate(m), `${m.kind}/${m.metadata.name}`).toBe(true);
    },
  );

  test('the schema catches a broken manifest (the check can fail)', () => {
    const broken = strip(argo.find((m) => m.kind === 'CronWorkflow')!) as Record<string, unknown>;
    expect(validate({ ...broken, spec: { ...(broken.spec as object), schedules: '*/15 * * * *' } })).toBe(false);
  });
});

/** Small structural schemas for the core kinds we ship (no cluster OpenAPI here). */
function coreProblems(m: Manifest): string[] {
  const p: string[] = [];
  const need = (cond: boolean, msg: string) => cond || p.push(msg);
  need(
    typeof m.metadata?.name === 'string' && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(m.metadata.name),
    'metadata.name is a DNS name',
  );
  const rules = (m.rules ?? []) as {
    apiGroups?: string[];
    resources?: string[];
    verbs?: string[];
    resourceNames?: string[];
  }[];
  switch (m.kind) {
    case 'ServiceAccount':
      need(m.apiVersion === 'v1', 'apiVersion v1');
      break;
    case 'ConfigMap':
      need(m.apiVersion === 'v1', 'apiVersion v1');
      for (const [k, v] of Object.entries((m.data ?? {}) as Record<string, unknown>)) {
        need(/^[-._a-zA-Z0-9]+$/.test(k), `data key "${k}" is a valid ConfigMap key`);
        need(typeof v === 'string', `data.${k} is a string`);
      }
      break;
    case 'Secret':
      need(m.apiVersion === 'v1', 'apiVersion v1');
      need(Boolean(m.data ?? m.stringData), 'data or stringData');
      break;
    case 'PersistentVolumeClaim':
      need(m.apiVersion === 'v1', 'apiVersion v1');
      need(Array.isArray((m.spec as { accessModes?: unknown })?.accessModes), 'spec.accessModes');
      break;
    case 'Role':
    case 'ClusterRole':
      need(m.apiVersion === 'rbac.authorization.k8s.io/v1', 'apiVersion rbac.authorization.k8s.io/v1');
      need(rules.length > 0, 'has rules');
      for (const r of rules) {
        need(
          Array.isArray(r.apiGroups) && Array.isArray(r.resources) && Array.isArray(r.verbs) && r.verbs.length > 0,
          'rule has apiGroups, resources, verbs',
        );
        need(![...(r.verbs ?? []), ...(r.resources ?? []), ...(r.apiGroups ?? [])].includes('*'), 'no wildcards');
        need(
          !(r.resources ?? []).some((x) => ['secrets', 'pods/exec', 'pods/attach'].includes(x)),
          'no secrets or exec',
        );
        need(
          !(r.resources ?? []).includes('pods') ||
            !(r.verbs ?? []).some((v) => ['create', 'delete', 'patch', 'update'].includes(v)),
          'pods are read-only',
        );
      }
      break;
    case 'RoleBinding':
    case 'ClusterRoleBinding': {
      need(m.apiVersion === 'rbac.authorization.k8s.io/v1', 'apiVersion rbac.authorization.k8s.io/v1');
      const roleRef = m.roleRef as { kind?: string; name?: string; apiGroup?: string } | undefined;
      need(roleRef?.apiGroup === 'rbac.authorization.k8s.io' && Boolean(roleRef.name), 'roleRef');
      need(m.kind === 'RoleBinding' || roleRef?.kind === 'ClusterRole', 'a ClusterRoleBinding binds a ClusterRole');
      need(Array.isArray(m.subjects) && (m.subjects as unknown[]).length > 0, 'subjects');
      break;
    }
    case 'Deployment': {
      need(m.apiVersion === 'apps/v1', 'apiVersion apps/v1');
      const spec = m.spec as {
        selector?: { matchLabels?: Record<string, string> };
        template?: {
          metadata?: { labels?: Record<string, string> };
          spec?: {
            containers?: {
              image?: string;
              securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
            }[];
            securityContext?: { runAsNonRoot?: boolean };
          };
        };
      };
      const labels = spec?.template?.metadata?.labels ?? {};
      need(
        Object.entries(spec?.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
          Object.keys(spec?.selector?.matchLabels ?? {}).length > 0,
        'selector matches the pod labels',
      );
      const containers = spec?.template?.spec?.containers ?? [];
      need(containers.length > 0 && containers.every((c) => Boolean(c.image)), 'containers with images');
      need(spec?.template?.spec?.securityContext?.runAsNonRoot === true, 'runAsNonRoot');
      need(
        containers.every(
          (c) =>
            c.securityContext?.readOnlyRootFilesystem === true && c.securityContext.allowPrivilegeEscalation === false,
        ),
        'read-only root, no privilege escalation',
      );
      break;
    }
    case 'Service':
    case 'NetworkPolicy': {
      need(
        m.apiVersion === (m.kind === 'Service' ? 'v1' : 'networking.k8s.io/v1'),
        m.kind === 'Service' ? 'apiVersion v1' : 'apiVersion networking.k8s.io/v1',
      );
      const spec = m.spec as {
        selector?: Record<string, string>;
        podSelector?: { matchLabels?: Record<string, string> };
        ports?: { port?: number; targetPort?: string | number }[];
      };
      const selector = (m.kind === 'Service' ? spec?.selector : spec?.podSelector?.matchLabels) ?? {};
      // A selector that matches no pod of a Deployment here is a Service (or policy) for nothing.
      const podLabels = manifests
        .filter((d) => d.kind === 'Deployment')
        .map(
          (d) =>
            (d.spec as { template?: { metadata?: { labels?: Record<string, string> } } })?.template?.metadata?.labels ??
            {},
        );
      need(
        Object.keys(selector).length > 0 &&
          podLabels.some((l) => Object.entries(selector).every(([k, v]) => l[k] === v)),
        "selector matches a Deployment's pods",
      );
      if (m.kind === 'Service') need(Array.isArray(spec?.ports) && spec.ports.length > 0, 'ports');
      break;
    }
    case 'PodDisruptionBudget': {
      need(m.apiVersion === 'policy/v1', 'apiVersion policy/v1');
      const spec = m.spec as { minAvailable?: number; selector?: { matchLabels?: Record<string, string> } };
      const selector = spec?.selector?.matchLabels ?? {};
      const guarded = manifests.filter((d) => {
        const labels =
          (d.spec as { template?: { metadata?: { labels?: Record<string, string> } } })?.template?.metadata?.labels ??
          {};
        return (
          d.kind === 'Deployment' &&
          Object.keys(selector).length > 0 &&
          Object.entries(selector).every(([k, v]) => labels[k] === v)
        );
      });
      need(guarded.length > 0, "selector matches a Deployment's pods");
      // A budget as large as the replica count blocks every drain for good.
      need(
        typeof spec?.minAvailable === 'number' &&
          guarded.every((d) => ((d.spec as { replicas?: number }).replicas ?? 1) > spec.minAvailable!),
        'minAvailable below the replica count',
      );
      break;
    }
    case 'ValidatingAdmissionPolicy': {
      need(m.apiVersion === 'admissionregistration.k8s.io/v1', 'apiVersion admissionregistration.k8s.io/v1');
      const spec = m.spec as {
        failurePolicy?: string;
        matchConstraints?: { resourceRules?: unknown[] };
        validations?: { expression?: string; message?: string; messageExpression?: string }[];
      };
      need(spec?.failurePolicy === 'Fail', 'failurePolicy Fail (a policy that cannot run refuses, never admits)');
      need((spec?.matchConstraints?.resourceRules?.length ?? 0) > 0, 'matchConstraints.resourceRules');
      need(
        (spec?.validations ?? []).length > 0 &&
          (spec?.validations ?? []).every((v) => Boolean(v.expression) && Boolean(v.message ?? v.messageExpression)),
        'validations with an expression and a message',
      );
      break;
    }
    case 'ValidatingAdmissionPolicyBinding': {
      need(m.apiVersion === 'admissionregistration.k8s.io/v1', 'apiVersion admissionregistration.k8s.io/v1');
      const spec = m.spec as { policyName?: string; validationActions?: string[] };
      need(
        manifests.some((x) => x.kind === 'ValidatingAdmissionPolicy' && x.metadata.name === spec?.policyName),
        'binds a policy that exists',
      );
      need(spec?.validationActions?.includes('Deny') === true, 'validationActions include Deny');
      break;
    }
    case 'PrometheusRule': {
      need(m.apiVersion === 'monitoring.coreos.com/v1', 'apiVersion monitoring.coreos.com/v1');
      const groups = ((m.spec as { groups?: unknown[] })?.groups ?? []) as {
        name?: string;
        rules?: {
          alert?: string;
          expr?: unknown;
          for?: string;
          labels?: { severity?: string };
          annotations?: Record<string, string>;
        }[];
      }[];
      need(
        groups.length > 0 && groups.every((g) => Boolean(g.name) && (g.rules?.length ?? 0) > 0),
        'groups with rules',
      );
      for (const r of groups.flatMap((g) => g.rules ?? [])) {
        need(/^[A-Z][A-Za-z0-9]+$/.test(r.alert ?? ''), `alert name ${JSON.stringify(r.alert)}`);
        need(typeof r.expr === 'string' && r.expr.trim().length > 0, `${r.alert}: expr`);
        need(r.for === undefined || /^([0-9]+[smhdwy])+$/.test(r.for), `${r.alert}: for is a duration`);
        need(['critical', 'warning', 'info'].includes(r.labels?.severity ?? ''), `${r.alert}: labels.severity`);
        need(Boolean(r.annotations?.summary && r.annotations.description), `${r.alert}: summary and description`);
      }
      break;
    }
    default:
      p.push(`kind ${m.kind} has no structural check: add one`);
  }
  return p;
}

describe('core Kubernetes kinds', () => {
  test.each(core.map((m) => [ref(m), m] as const))('%s', (_name, m) => {
    expect(coreProblems(m)).toEqual([]);
  });

  test('bindings point at roles and accounts that exist; the archiver writes nothing, only finalizer, watcher and emergency delete Workflows', () => {
    const named = (kind: string, name: string) => manifests.some((m) => m.kind === kind && m.metadata.name === name);
    for (const b of core.filter((m) => m.kind === 'RoleBinding' || m.kind === 'ClusterRoleBinding')) {
      const roleRef = b.roleRef as { kind: string; name: string };
      expect(named(roleRef.kind, roleRef.name), `${ref(b)} → ${roleRef.kind}/${roleRef.name}`).toBe(true);
      for (const s of b.subjects as { kind: string; name: string }[])
        expect(named(s.kind, s.name), `${ref(b)} → ${s.name}`).toBe(true);
    }
    const archiver = core.find((m) => m.kind === 'ClusterRole' && m.metadata.name === 'strata-archiver')!;
    const writes = (role: Manifest) =>
      (role.rules as { resources: string[]; verbs: string[] }[]).filter((r) =>
        r.verbs.some((v) => ['create', 'update', 'patch', 'delete'].includes(v)),
      );
    expect(writes(archiver)).toEqual([]);
    const deleters = core
      .filter((m) => m.kind === 'ClusterRole' || m.kind === 'Role')
      .filter((m) => writes(m).some((r) => r.verbs.includes('delete') && r.resources.includes('workflows')))
      .map((m) => m.metadata.name)
      .sort();
    expect(deleters).toEqual(['strata-emergency', 'strata-finalizer', 'strata-watcher']);
    expect(
      coreProblems({ ...archiver, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] } as Manifest),
    ).not.toEqual([]);
  });

  test('every service account a template runs as exists', () => {
    const accounts = new Set(core.filter((m) => m.kind === 'ServiceAccount').map((m) => m.metadata.name));
    for (const m of argo) {
      const spec = (m.kind === 'CronWorkflow' ? (m.spec as { workflowSpec: object }).workflowSpec : m.spec) as {
        serviceAccountName?: string;
      };
      if (spec?.serviceAccountName) expect(accounts, ref(m)).toContain(spec.serviceAccountName);
    }
  });
});

describe('kustomize', () => {
  test.each(['templates/base', 'templates/overlays/dev', 'templates/overlays/prod'])(
    '%s resolves (resources, patches, targets)',
    (dir) => {
      const out = buildKustomization(dir);
      expect(out.length).toBeGreaterThan(10);
      if (!dir.includes('overlays')) return;
      // Strata's objects in its namespace, the tenant RoleBindings in theirs, and every account a binding names is
      // Strata's (the overlay's NamespaceTransformer sets subjects; `namespace:` would move the tenants' too).
      const tenant = dir.endsWith('dev') ? 'argo' : 'agents';
      for (const m of out) {
        const expected = m.kind.startsWith('Cluster')
          ? undefined
          : m.file.startsWith('templates/tenant/')
            ? tenant
            : 'argo';
        expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toBe(expected);
        for (const sub of (m.subjects ?? []) as { kind: string; namespace?: string }[])
          if (sub.kind === 'ServiceAccount') expect(sub.namespace, `${m.kind}/${m.metadata.name}`).toBe('argo');
      }
      expect(out.filter((m) => m.file.startsWith('templates/tenant/')).length).toBeGreaterThan(0);
    },
  );

  test.skipIf(!hasKubectl()).each(['templates/overlays/dev', 'templates/overlays/prod'])(
    'kubectl kustomize %s places every object and binding subject where buildKustomization says',
    (dir) => {
      const text = execFileSync('kubectl', ['kustomize', join(repoRoot, dir)], { encoding: 'utf8' });
      const where = (m: { kind: string; metadata: { name: string; namespace?: string }; subjects?: unknown }) =>
        `${m.kind}/${m.metadata.name} ns=${m.metadata.namespace ?? '-'} subjects=${JSON.stringify(m.subjects ?? [])}`;
      const rendered = parseAllDocuments(text).map((d) => where(d.toJS() as Manifest));
      expect(buildKustomization(dir).map(where).sort()).toEqual(rendered.sort());
    },
  );

  if (!hasKubectl()) console.warn('skipping `kubectl kustomize` builds: kubectl is not installed');
  test.skipIf(!hasKubectl()).each(['templates/overlays/dev', 'templates/overlays/prod'])(
    'kubectl kustomize %s builds and sets every image',
    (dir) => {
      const text = execFileSync('kubectl', ['kustomize', join(repoRoot, dir)], { encoding: 'utf8' });
      const images = [...text.matchAll(/image: (\S+)/g)].map((m) => m[1]);
      expect(images.length).toBeGreaterThan(5);
      expect(images.every((i) => i === (dir.endsWith('dev') ? 'strata:dev' : 'ghcr.io/strata-dev/strata:0.1.0'))).toBe(
        true,
      );
    },
  );
});

describe('Argo references', () => {
  const templates = new Map(
    argo.filter((m) => m.kind === 'WorkflowTemplate').map((m) => [m.metadata.name, m.spec as Record<string, unknown>]),
  );
  const referenced = (spec: { workflowTemplateRef?: { name: string } }) =>
    spec.workflowTemplateRef ? templates.get(spec.workflowTemplateRef.name) : undefined;

  test.each(argo.map((m) => [ref(m), m] as const))(
    '%s: every {{…}} reference and template name resolves',
    (_name, m) => {
      let problems: string[] = [];
      if (m.kind === 'WorkflowTemplate') problems = checkWorkflowSpec(m.spec as Record<string, unknown>, ref(m));
      if (m.kind === 'CronWorkflow') {
        const spec = (m.spec as { workflowSpec: Record<string, unknown> & { workflowTemplateRef?: { name: string } } })
          .workflowSpec;
        if (spec.workflowTemplateRef) expect(templates.has(spec.workflowTemplateRef.name), ref(m)).toBe(true);
        problems = checkWorkflowSpec(spec, ref(m), referenced(spec));
        const declared = new Set(
          ((referenced(spec)?.arguments as { parameters?: { name: string }[] })?.parameters ?? []).map((p) => p.name),
        );
        for (const p of (spec.arguments as { parameters?: { name: string }[] } | undefined)?.parameters ?? []) {
          if (spec.workflowTemplateRef && !declared.has(p.name))
            problems.push(`${ref(m)}: argument "${p.name}" is not a parameter of ${spec.workflowTemplateRef.name}`);
        }
      }
      if (m.kind === 'WorkflowEventBinding') {
        const submit = (
          m.spec as {
            submit: { workflowTemplateRef: { name: string }; arguments?: { parameters?: { name: string }[] } };
          }
        ).submit;
        const target = templates.get(submit.workflowTemplateRef.name);
        expect(target, ref(m)).toBeDefined();
        const declared = new Set(
          ((target?.arguments as { parameters?: { name: string }[] })?.parameters ?? []).map((p) => p.name),
        );
        for (const p of submit.arguments?.parameters ?? [])
          if (!declared.has(p.name)) problems.push(`${ref(m)}: argument "${p.name}" is not declared`);
        problems.push(...checkEventBinding(m.spec as Record<string, unknown>, ref(m)));
      }
      expect(problems).toEqual([]);
    },
  );

  test('the event expression check finds a bare word (it can fail)', () => {
    // argo-server failed every event of the shipped binding on its label value `event` (unknown name).
    expect(unknownEventNames('event')).toEqual(['event']);
    expect(unknownEventNames('"event"')).toEqual([]);
    expect(unknownEventNames('payload.selector ?? "!strata.dev/skip"')).toEqual([]);
    expect(unknownEventNames('discriminator == "x" && payload.namespace != nil && metadata["x-a"] == ["b"]')).toEqual(
      [],
    );
    expect(unknownEventNames('payload.name + suffix')).toEqual(['suffix']);
  });

  test('the reference check finds an undeclared parameter (it can fail)', () => {
    const spec = {
      entrypoint: 'a',
      templates: [{ name: 'a', container: { args: ['{{inputs.parameters.nope}}', '{{workflow.parameters.gone}}'] } }],
    };
    expect(checkWorkflowSpec(spec, 'x')).toHaveLength(2);
    // A metric reading an output parameter its template does not declare.
    const metric = {
      templates: [
        {
          name: 'a',
          outputs: { parameters: [{ name: 'archived' }] },
          metrics: { prometheus: [{ name: 'm', help: 'h', counter: { value: '{{outputs.parameters.archive}}' } }] },
        },
      ],
    };
    expect(checkWorkflowSpec(metric, 'x')).toEqual([
      'x template "a".metrics.prometheus[0].counter.value: {{outputs.parameters.archive}} but the template declares no output parameter "archive"',
    ]);
  });
});

describe('templates and the CLI cannot drift apart', () => {
  const calls = strataInvocations(manifests);
  test('there are strata invocations to check', () => {
    expect(calls.length).toBeGreaterThan(10);
  });
  test.each(calls.map((c) => [`${c.where}: strata ${c.args.join(' ')}`, c] as const))('%s', async (_name, c) => {
    expect(await parseWithCli(c.args)).toBe('ok');
  });
  test('an unknown flag or command is caught', async () => {
    expect(await parseWithCli(['assess', '--no-such-flag=1'])).toMatch(/Unknown argument/);
    expect(await parseWithCli(['no-such-command'])).not.toBe('ok');
  });
});

describe('the strata-archive pipeline', () => {
  const spec = argo.find((m) => m.kind === 'WorkflowTemplate' && m.metadata.name === 'strata-archive')!.spec as {
    entrypoint: string;
    templates: {
      name: string;
      dag?: { tasks: { name: string; template: string; depends?: string }[] };
      container?: { command?: string[]; args?: string[]; envFrom?: unknown[]; securityContext?: unknown };
    }[];
  };
  const template = (name: string) => spec.templates.find((t) => t.name === name)!;

  test('the DAG reads in the Argo UI as assess → archive → index → verify → finalize → audit-seal, each after the one before', () => {
    const tasks = template(spec.entrypoint).dag!.tasks;
    expect(tasks.map((t) => t.name)).toEqual(['assess', 'archive', 'index', 'verify', 'finalize', 'audit-seal']);
    tasks.slice(1).forEach((t, i) => expect(t.depends, t.name).toBe(tasks[i]!.name));
    for (const t of tasks)
      expect(template(t.template).container?.args?.join(' '), t.name).toMatch(
        new RegExp(`^${t.name.replace('-', ' ')}\\b`),
      );
  });

  test('each batch is archived by `strata archive` (the one archiver), never by the watch loop', () => {
    const args = template('archive').container!.args!;
    expect(args.slice(0, 4)).toEqual([
      'archive',
      '--workflows={{inputs.parameters.workflows}}',
      '--uids={{inputs.parameters.uids}}',
      '--group={{inputs.parameters.group}}',
    ]);
    const watchers = strataInvocations(argo).filter((c) => c.args[0] === 'watch');
    expect(watchers.map((c) => c.where)).toEqual([]);
  });

  test('every step reads the same configuration and runs restricted', () => {
    const steps = spec.templates.filter((t) => t.container);
    expect(steps.length).toBe(6);
    for (const t of steps) {
      expect(t.container!.envFrom, t.name).toEqual([
        { configMapRef: { name: 'strata-config' } },
        { secretRef: { name: 'strata-s3', optional: true } },
      ]);
      expect(t.container!.securityContext, t.name).toEqual({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
    }
  });
});

/** Every template of an Argo manifest (WorkflowTemplate, CronWorkflow's workflowSpec, Workflow). */
function argoTemplates(m: Manifest): { name: string; [k: string]: unknown }[] {
  const spec = (m.kind === 'CronWorkflow' ? (m.spec as { workflowSpec?: unknown }).workflowSpec : m.spec) as
    { templates?: { name: string }[] } | undefined;
  return spec?.templates ?? [];
}

/** Problems that would hide why a step failed: output files without defaults, containers without a message. */
function failureReportingProblems(m: Manifest): string[] {
  const problems: string[] = [];
  for (const t of argoTemplates(m)) {
    const outputs = (t.outputs as { parameters?: { name: string; valueFrom?: { path?: string; default?: unknown } }[] })
      ?.parameters;
    for (const p of outputs ?? []) {
      // Without a default, a step that fails before writing the file fails again in Argo's wait container
      // ("open /tmp/outputs/x: no such file or directory"), and that message replaces the real cause.
      if (p.valueFrom?.path && typeof p.valueFrom.default !== 'string')
        problems.push(`${ref(m)} template ${t.name}: output parameter "${p.name}" has a path but no default`);
    }
    for (const kind of ['container', 'script'] as const) {
      const c = t[kind] as { terminationMessagePolicy?: string } | undefined;
      if (c && c.terminationMessagePolicy !== 'FallbackToLogsOnError')
        problems.push(`${ref(m)} template ${t.name}: ${kind} without terminationMessagePolicy FallbackToLogsOnError`);
    }
  }
  return problems;
}

describe('a failed step says why in Argo', () => {
  test.each(argo.map((m) => [ref(m), m] as const))('%s: output defaults and termination messages', (_name, m) => {
    expect(failureReportingProblems(m)).toEqual([]);
  });

  test('the check finds an output without a default and a container without a message policy (it can fail)', () => {
    const bad = {
      file: 'x.yaml',
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'WorkflowTemplate',
      metadata: { name: 'x' },
      spec: {
        templates: [
          {
            name: 'finalize',
            container: { image: 'strata' },
            outputs: { parameters: [{ name: 'deleted', valueFrom: { path: '/tmp/outputs/deleted' } }] },
          },
        ],
      },
    } as Manifest;
    expect(failureReportingProblems(bad)).toHaveLength(2);
  });
});

/** Retry strategies that would retry a refusal or a usage error: trying again changes neither. */
function retryProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const expected = `asInt(lastRetry.exitCode) != ${ExitCode.Usage} && asInt(lastRetry.exitCode) != ${ExitCode.Refused}`;
  for (const t of argoTemplates(m)) {
    const retry = t.retryStrategy as { retryPolicy?: string; expression?: string } | undefined;
    // OnError retries only what Argo itself calls an error (pod gone, init or wait failed), never an exit code.
    if (!retry || retry.retryPolicy === 'OnError') continue;
    if (retry.expression !== expected)
      problems.push(`${ref(m)} template ${t.name}: retryStrategy.expression is not ${JSON.stringify(expected)}`);
    // With an expression and no policy, Argo ≥ 3.5 retries Always (errors too): say which one is meant.
    if (!retry.retryPolicy) problems.push(`${ref(m)} template ${t.name}: retryStrategy without retryPolicy`);
  }
  return problems;
}

describe('a refusal is not retried', () => {
  test.each(argo.map((m) => [ref(m), m] as const))('%s: retry expressions leave exit 2 and 4 alone', (_name, m) => {
    expect(retryProblems(m)).toEqual([]);
  });

  test('there are retry strategies to check, and the check finds one that retries everything (it can fail)', () => {
    expect(argo.flatMap(argoTemplates).filter((t) => t.retryStrategy).length).toBeGreaterThan(5);
    const bad = {
      file: 'x.yaml',
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'WorkflowTemplate',
      metadata: { name: 'x' },
      spec: { templates: [{ name: 'hold', retryStrategy: { limit: '3' } }] },
    } as Manifest;
    expect(retryProblems(bad)).toHaveLength(2);
  });
});
