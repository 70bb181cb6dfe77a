// Strata's shipped ValidatingAdmissionPolicies, evaluated with their real CEL (cel-js) — for fast tests and for the
// fake API server, which enforces them as the real one would. `authorizer` answers from the fake's RBAC rules.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Environment } from '@marcbachmann/cel-js';
import { parseAllDocuments } from 'yaml';
import { rbacAllows, type FakeKubeApi } from './fake-kube-api.ts';

const base = resolve(import.meta.dirname, '../../templates/base');

export interface AdmissionPolicy {
  name: string;
  /** Resources it matches (plural), and the namespace its binding selects. */
  resources: string[];
  operations: string[];
  namespace: string;
  variables: { name: string; expression: string }[];
  validations: { expression: string; message?: string; messageExpression?: string }[];
}

/** What a policy sees of a request. */
export interface AdmissionRequest {
  operation: 'CREATE' | 'UPDATE';
  namespace: string;
  object: unknown;
  oldObject: unknown;
  userInfo: { username: string; groups?: string[] };
}

/** An authorizer check as CEL builds it: `authorizer.group(g).resource(r).namespace(n).name(x).check(verb)`. */
export interface AuthorizerCheck {
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  verb: string;
}

type Decide = (check: AuthorizerCheck) => boolean;

class Authorizer {
  constructor(readonly decide: Decide) {}
}
class ResourceCheck {
  constructor(
    readonly decide: Decide,
    readonly attrs: Omit<AuthorizerCheck, 'verb'>,
  ) {}
  with(more: Omit<AuthorizerCheck, 'verb'>): ResourceCheck {
    return new ResourceCheck(this.decide, { ...this.attrs, ...more });
  }
}
class Decision {
  constructor(readonly allowed: boolean) {}
}

const env = new Environment({ unlistedVariablesAreDyn: true })
  .registerType('Authorizer', Authorizer)
  .registerType('ResourceCheck', ResourceCheck)
  .registerType('Decision', Decision)
  .registerFunction('Authorizer.group(string): ResourceCheck', (a: Authorizer, g: string) => {
    return new ResourceCheck(a.decide, { group: g });
  })
  .registerFunction('ResourceCheck.resource(string): ResourceCheck', (r: ResourceCheck, v: string) =>
    r.with({ resource: v }),
  )
  .registerFunction('ResourceCheck.subresource(string): ResourceCheck', (r: ResourceCheck, v: string) =>
    r.with({ subresource: v }),
  )
  .registerFunction('ResourceCheck.namespace(string): ResourceCheck', (r: ResourceCheck, v: string) =>
    r.with({ namespace: v }),
  )
  .registerFunction('ResourceCheck.name(string): ResourceCheck', (r: ResourceCheck, v: string) => r.with({ name: v }))
  .registerFunction('ResourceCheck.check(string): Decision', (r: ResourceCheck, verb: string) => {
    return new Decision(r.decide({ ...r.attrs, verb }));
  })
  .registerFunction('Decision.allowed(): bool', (d: Decision) => d.allowed);

/**
 * cel-js rejects has() on a field of an indexed element (`has(list[0].field)`), which Kubernetes' cel-go accepts;
 * on the maps a manifest decodes to, `'field' in list[0]` means the same.
 */
const portable = (expression: string) => expression.replace(/has\(([\w.]+)\[(\d+)\]\.(\w+)\)/g, "('$3' in $1[$2])");

/** Every ValidatingAdmissionPolicy in admission-policies.yaml, with the namespace its binding selects. */
export function strataAdmissionPolicies(file = join(base, 'admission-policies.yaml')): AdmissionPolicy[] {
  interface Doc {
    kind: string;
    metadata: { name: string };
    spec: {
      policyName?: string;
      matchResources?: { namespaceSelector: { matchLabels: Record<string, string> } };
      matchConstraints?: { resourceRules: { resources: string[]; operations: string[] }[] };
      variables?: AdmissionPolicy['variables'];
      validations?: AdmissionPolicy['validations'];
    };
  }
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Doc);
  return docs
    .filter((d) => d.kind === 'ValidatingAdmissionPolicy')
    .map((p) => {
      const binding = docs.find(
        (d) => d.kind === 'ValidatingAdmissionPolicyBinding' && d.spec.policyName === p.metadata.name,
      );
      const rules = p.spec.matchConstraints?.resourceRules ?? [];
      return {
        name: p.metadata.name,
        resources: rules.flatMap((r) => r.resources),
        operations: rules.flatMap((r) => r.operations),
        namespace: binding?.spec.matchResources?.namespaceSelector.matchLabels['kubernetes.io/metadata.name'] ?? '',
        variables: p.spec.variables ?? [],
        validations: p.spec.validations ?? [],
      };
    });
}

/** The messages of the validations the request fails (empty: admitted). An expression that errors denies, as failurePolicy Fail. */
export function admissionDenials(
  policy: AdmissionPolicy,
  req: AdmissionRequest,
  decide: Decide = () => false,
): string[] {
  const ctx: Record<string, unknown> = {
    object: req.object,
    oldObject: req.oldObject ?? null,
    request: {
      operation: req.operation,
      namespace: req.namespace,
      userInfo: { username: req.userInfo.username, groups: req.userInfo.groups ?? [] },
    },
    authorizer: new Authorizer(decide),
  };
  const variables: Record<string, unknown> = {};
  const run = (expression: string) => env.evaluate(portable(expression), { ...ctx, variables }) as unknown;
  const out: string[] = [];
  try {
    for (const v of policy.variables) variables[v.name] = run(v.expression);
  } catch (err) {
    return [`${policy.name}: variable failed: ${(err as Error).message}`];
  }
  for (const v of policy.validations) {
    let ok: unknown;
    try {
      ok = run(v.expression);
    } catch (err) {
      out.push(`${policy.name}: expression failed: ${(err as Error).message}`);
      continue;
    }
    if (ok === true) continue;
    let message = v.message ?? v.expression;
    if (v.messageExpression) {
      try {
        message = String(run(v.messageExpression));
      } catch {
        // the real API server falls back to the static message
      }
    }
    out.push(message);
  }
  return out;
}

/**
 * Makes the fake API server enforce Strata's admission policies in the namespaces their bindings select, with
 * `authorizer` answered by the fake's RBAC rules (as the real API server's authorizer would).
 */
export function enforceStrataAdmission(fake: FakeKubeApi, policies = strataAdmissionPolicies()): void {
  fake.admission.push((req) => {
    for (const policy of policies) {
      if (policy.namespace !== req.namespace || !policy.resources.includes(req.resource)) continue;
      if (!policy.operations.includes(req.operation)) continue;
      const denied = admissionDenials(
        policy,
        { ...req, userInfo: req.user },
        (check) => rbacAllows(fake.rules, req.user, check) !== undefined,
      );
      if (denied.length) {
        return `ValidatingAdmissionPolicy '${policy.name}' with binding '${policy.name}' denied request: ${denied[0]}`;
      }
    }
    return undefined;
  });
}
