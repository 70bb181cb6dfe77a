// Who is asking and what they may do: the identity port, and Strata's RBAC vocabulary (group strata.dev).

/** The caller as the platform knows it (cluster mode) or as they claim (local mode). */
export interface Identity {
  /** Exactly as Kubernetes gives it (e.g. `alice@corp`, `system:serviceaccount:strata:strata-operator`). */
  username: string;
  groups: readonly string[];
  /** True only when the Kubernetes API server said so (SelfSubjectReview); a flag, env or OS user never is. */
  verified: boolean;
  /**
   * Where the name came from: the API server (`cluster`), the submitter of the Argo workflow a trusted Strata
   * ServiceAccount runs for (`argo-submitter`, pinned by admission), or an unverified claim.
   */
  source: 'cluster' | 'argo-submitter' | 'flag' | 'env' | 'os';
  /** For `argo-submitter`: the ServiceAccount that vouches (the step's own verified identity). */
  via?: string;
}

/** The API group Strata's permissions live in; nothing is served there, RBAC rules just name it. */
export const STRATA_GROUP = 'strata.dev';

/** Strata's resources: what a Role grants verbs on, per namespace (of the archived workflow). */
export type StrataResource = 'archives' | 'holds' | 'extensions' | 'emergencydeletions' | 'restores' | 'approvals';

/** One question for the authorizer: may the caller `verb` `resource[/subresource]` in `namespace`? */
export interface AccessCheck {
  verb: 'get' | 'list' | 'create' | 'delete';
  resource: StrataResource;
  subresource?: string;
  /** The archived workflow's namespace; undefined asks for the permission in every namespace (a ClusterRole). */
  namespace?: string;
  /** The object the check is about (a workflow uid), for the authorizer's logs and resourceNames rules. */
  name?: string;
}

export interface AccessDecision {
  allowed: boolean;
  /** The authorizer's explanation, when it gave one. */
  reason?: string;
}

/** The port: who the caller is and whether they may do something (adapters: Kubernetes, local). */
export interface Authority {
  whoAmI(): Promise<Identity>;
  can(check: AccessCheck): Promise<AccessDecision>;
  /** Answers `can` for another user from now on (a trusted step acting for its submitter); cluster adapters only. */
  actFor?(user: string, groups?: string[]): void;
}

/** `create emergencydeletions/breakglass in ns` — how a check reads in errors and audit records. */
export function describeCheck(check: AccessCheck): string {
  const resource = `${check.resource}${check.subresource ? `/${check.subresource}` : ''}.${STRATA_GROUP}`;
  return `${check.verb} ${resource} ${check.namespace ? `in namespace ${check.namespace}` : 'in every namespace'}`;
}
