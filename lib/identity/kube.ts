// The identity port over the Kubernetes API server: SelfSubjectReview for who, SelfSubjectAccessReview for may.
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ClusterError, describeError } from '../errors.ts';
import { STRATA_GROUP, type AccessCheck, type AccessDecision, type Authority, type Identity } from './identity.ts';

export class KubeAuthority implements Authority {
  private readonly authn: AuthenticationV1Api;
  private readonly authz: AuthorizationV1Api;

  /** Set when asking for someone else (SubjectAccessReview: the submitter a Strata step acts for). */
  private subject: { user: string; groups: string[] } | undefined;

  constructor(
    kc: KubeConfig,
    private readonly server = kc.getCurrentCluster()?.server ?? '(no cluster)',
  ) {
    this.authn = kc.makeApiClient(AuthenticationV1Api);
    this.authz = kc.makeApiClient(AuthorizationV1Api);
  }

  async whoAmI(): Promise<Identity> {
    let username: string | undefined;
    let groups: string[];
    try {
      const review = await this.authn.createSelfSubjectReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      username = review.status?.userInfo?.username;
      groups = review.status?.userInfo?.groups ?? [];
    } catch (err) {
      throw new ClusterError(`who am I (SelfSubjectReview at ${this.server}): ${describeError(err)}`, undefined, {
        cause: err,
      });
    }
    // An empty name is nobody: it must never stand for a person (nor pass as "someone else" in an approval).
    if (!username) throw new ClusterError(`who am I (SelfSubjectReview at ${this.server}): the server named no user`);
    return { username, groups, verified: true, source: 'cluster' };
  }

  /** From now on, answers `can` for this user (needs `create subjectaccessreviews`), not for the caller. */
  actFor(user: string, groups: string[] = []): void {
    this.subject = { user, groups };
  }

  async can(check: AccessCheck): Promise<AccessDecision> {
    const resourceAttributes = {
      group: STRATA_GROUP,
      resource: check.resource,
      verb: check.verb,
      ...(check.subresource && { subresource: check.subresource }),
      ...(check.namespace && { namespace: check.namespace }),
      ...(check.name && { name: check.name }),
    };
    const kind = this.subject ? 'SubjectAccessReview' : 'SelfSubjectAccessReview';
    try {
      const review = this.subject
        ? await this.authz.createSubjectAccessReview({
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind,
              spec: { resourceAttributes, user: this.subject.user, groups: this.subject.groups },
            },
          })
        : await this.authz.createSelfSubjectAccessReview({
            body: { apiVersion: 'authorization.k8s.io/v1', kind, spec: { resourceAttributes } },
          });
      const status = review.status;
      return {
        allowed: status?.allowed === true && status.denied !== true,
        reason: status?.reason || status?.evaluationError || undefined,
      };
    } catch (err) {
      throw new ClusterError(`access check (${kind} at ${this.server}): ${describeError(err)}`, undefined, {
        cause: err,
      });
    }
  }
}
