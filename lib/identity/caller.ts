// The caller of a command: who they are (verified on a cluster, claimed locally) and the checks that guard each act.
import type { AuditAction, AuditLog } from '../audit/audit.ts';
import { AccessDeniedError, ConfigError } from '../errors.ts';
import type { ApprovalStore } from './approval.ts';
import { describeCheck, type AccessCheck, type AccessDecision, type Authority, type Identity } from './identity.ts';

export type IdentityMode = 'auto' | 'cluster' | 'local';

export class Caller {
  constructor(
    readonly identity: Identity,
    private readonly authority: Authority,
  ) {}

  can(check: AccessCheck): Promise<AccessDecision> {
    return this.authority.can(check);
  }

  /**
   * Throws AccessDeniedError naming the user and the permission when the authority says no; with `audited`, the
   * refusal is recorded first (a refused destructive act is as much an event as a done one).
   */
  async require(
    check: AccessCheck,
    audited?: { audit: AuditLog; action: AuditAction; subject: string },
  ): Promise<void> {
    const decision = await this.authority.can(check);
    if (decision.allowed) return;
    const message = denial(this.identity, check, decision);
    await audited?.audit.record({
      action: audited.action,
      actor: this.identity.username,
      verified: this.identity.verified,
      subject: audited.subject,
      outcome: 'refused',
      reason: message,
      details: { permission: describeCheck(check) },
    });
    throw new AccessDeniedError(message);
  }

  /** The actor fields of a record this caller signs. */
  get actor(): { actor: string; actorVerified: boolean } {
    return { actor: this.identity.username, actorVerified: this.identity.verified };
  }

  /** Audit record fields: the actor, whether verified, and the ServiceAccount that vouched for a submitter. */
  get auditActor(): { actor: string; verified: boolean; details?: { via: string } } {
    const { username, verified, via } = this.identity;
    return { actor: username, verified, ...(via && { details: { via } }) };
  }
}

export function denial(identity: Identity, check: AccessCheck, decision: AccessDecision): string {
  return `${identity.username} may not ${describeCheck(check)}${decision.reason ? ` (${decision.reason})` : ''}`;
}

export interface Claim {
  /** `--actor`: the caller's own name, taken only in local mode. */
  actorFlag?: string;
  /** `--requester`: the human an Argo step acts for, taken only from a ServiceAccount in `trustRequesterFrom`. */
  requester?: string;
  /**
   * `--requester-groups`: groups of the requester an admission policy checked are theirs (a submitter may name fewer
   * than they have, never one they lack); asked along with the requester's name, so group RoleBindings apply.
   */
  requesterGroups?: readonly string[];
  trustRequesterFrom?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Under a cluster identity the actor is not chosen: an `--actor` naming someone else is refused (the caller meant
 * to act as another person, and cannot), a different `$STRATA_ACTOR` is ignored with a warning (it is ambient, often
 * set for local use and forgotten). A `--requester` is the actor only when the verified caller is a ServiceAccount
 * trusted to speak for its submitter; permissions are then asked for the requester. Locally the claim is the
 * identity, marked unverified.
 */
export async function identifyCaller(
  authority: Authority,
  claim: Claim,
  warn: (message: string) => void = () => {},
): Promise<Caller> {
  const own = await authority.whoAmI();
  const { actorFlag, requester } = claim;
  const groups = [...(claim.requesterGroups ?? [])];
  if (requester !== undefined && !requester.trim()) {
    throw new ConfigError('--requester is empty: a step acts for a named submitter or not at all');
  }
  if (groups.length && requester === undefined) {
    throw new ConfigError("--requester-groups without --requester: groups are the requester's, taken only with it");
  }
  if (!own.verified) {
    const identity = requester !== undefined ? { ...own, username: requester, source: 'flag' as const } : own;
    return new Caller(identity, authority);
  }
  if (actorFlag !== undefined && actorFlag !== own.username) {
    throw new ConfigError(
      `--actor "${actorFlag}": the cluster says you are "${own.username}"; under a cluster identity the actor cannot be chosen (drop --actor)`,
    );
  }
  const envActor = claim.env?.STRATA_ACTOR;
  if (envActor && envActor !== own.username && requester === undefined) {
    warn(`ignoring STRATA_ACTOR="${envActor}": the cluster says you are "${own.username}"`);
  }
  if (requester === undefined) return new Caller(own, authority);
  if (!(claim.trustRequesterFrom ?? []).includes(own.username) || !authority.actFor) {
    throw new ConfigError(
      `--requester "${requester}": "${own.username}" is not trusted to act for a submitter (configuration trustRequesterFrom lists the ServiceAccounts of Strata's templates)`,
    );
  }
  authority.actFor(requester, groups);
  return new Caller(
    { username: requester, groups, verified: true, source: 'argo-submitter', via: own.username },
    authority,
  );
}

/**
 * Cluster mode when asked for, or (auto) when there is a cluster to ask: an explicit API server
 * (--kube-server, STRATA_KUBE_SERVER) or a pod's service account. A kubeconfig alone does not switch a developer's
 * local run to cluster mode; installs set `identity: cluster` in their configuration.
 */
export function clusterIdentity(mode: IdentityMode, kubeServer: string | undefined, env: NodeJS.ProcessEnv): boolean {
  if (mode !== 'auto') return mode === 'cluster';
  return Boolean(kubeServer || env.STRATA_KUBE_SERVER || env.KUBERNETES_SERVICE_HOST);
}

/** Opens the caller: asks the API server in cluster mode (adapter loaded on first use), else takes the local claim. */
export async function openCaller(
  opts: Claim & { env: NodeJS.ProcessEnv; mode: IdentityMode; kubeServer?: string; warn?: (message: string) => void },
): Promise<Caller> {
  const { env } = opts;
  let authority: Authority;
  if (clusterIdentity(opts.mode, opts.kubeServer, env)) {
    const [{ KubeAuthority }, { kubeConfigFor }] = await Promise.all([import('./kube.ts'), import('../kube/open.ts')]);
    authority = new KubeAuthority(await kubeConfigFor(opts.kubeServer ?? env.STRATA_KUBE_SERVER, env));
  } else {
    const { LocalAuthority } = await import('./local.ts');
    authority = new LocalAuthority(opts.actorFlag, env);
  }
  return identifyCaller(authority, { ...opts, env }, opts.warn);
}

/** The approvals a cluster keeps in Strata's namespace (adapter loaded on first use, like the authority's). */
export async function openApprovals(
  namespace: string,
  kubeServer: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ApprovalStore> {
  const [{ KubeApprovals }, { kubeConfigFor }] = await Promise.all([
    import('./kube-approvals.ts'),
    import('../kube/open.ts'),
  ]);
  return new KubeApprovals(await kubeConfigFor(kubeServer ?? env.STRATA_KUBE_SERVER, env), namespace);
}

/** The cluster's approvals as one approver sees them: what is created there is created with their own token. */
export async function openApprovalsAs(
  namespace: string,
  token: string,
  kubeServer: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ApprovalStore> {
  const [{ KubeApprovals, kubeConfigAs }, { kubeConfigFor }] = await Promise.all([
    import('./kube-approvals.ts'),
    import('../kube/open.ts'),
  ]);
  return new KubeApprovals(
    kubeConfigAs(await kubeConfigFor(kubeServer ?? env.STRATA_KUBE_SERVER, env), token),
    namespace,
  );
}
