// In a cluster: tokens checked by the API server's TokenReview, permissions by SubjectAccessReview on Strata's verbs.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ClusterError } from '../../lib/errors.ts';
import {
  resourceVerb,
  STRATA_GROUP,
  type ArchiveVerb,
  type Authenticator,
  type Authorizer,
  type Caller,
} from './access.ts';

const IN_CLUSTER = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long an answer is reused: a revoked token or a removed RoleBinding takes effect within this. */
const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;

export interface KubeReviewOptions {
  /** API server URL (default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT). */
  server: string;
  /** The server's own credential, which must be allowed to create tokenreviews and subjectaccessreviews. */
  token: string;
  /** PEM CA bundle for an https server. */
  ca?: string;
  /** Tokens must be meant for this audience (TokenReview spec.audiences), when set. */
  audiences?: string[];
}

export function inClusterReviewOptions(env: NodeJS.ProcessEnv = process.env): KubeReviewOptions {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) throw new ClusterError('not in a cluster (KUBERNETES_SERVICE_HOST unset): use --access-file');
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token: readFileSync(`${IN_CLUSTER}/token`, 'utf8').trim(),
    ca: readFileSync(`${IN_CLUSTER}/ca.crt`, 'utf8'),
  };
}

class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  constructor(private readonly now: () => number) {}
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e || e.until < this.now()) return undefined;
    return e.value;
  }
  set(key: string, value: V): void {
    if (this.entries.size >= CACHE_MAX) this.entries.clear();
    this.entries.set(key, { value, until: this.now() + CACHE_MS });
  }
}

export class KubeReviewAccess implements Authenticator, Authorizer {
  private readonly tokens: TtlCache<Caller | null>;
  private readonly decisions: TtlCache<boolean>;

  constructor(
    private readonly opts: KubeReviewOptions,
    now: () => number = Date.now,
  ) {
    this.tokens = new TtlCache(now);
    this.decisions = new TtlCache(now);
  }

  async authenticate(token: string): Promise<Caller | undefined> {
    const cached = this.tokens.get(token);
    if (cached !== undefined) return cached ?? undefined;
    const review = (await this.post('/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, ...(this.opts.audiences && { audiences: this.opts.audiences }) },
    })) as { status?: { authenticated?: boolean; user?: { username?: string; groups?: string[] } } };
    const user = review.status?.user;
    const caller: Caller | null =
      review.status?.authenticated === true && user?.username
        ? { username: user.username, groups: user.groups ?? [], via: 'token-review' }
        : null;
    this.tokens.set(token, caller);
    return caller ?? undefined;
  }

  async allows(caller: Caller, verb: ArchiveVerb, namespace: string): Promise<boolean> {
    const key = JSON.stringify([caller.username, caller.groups, verb, namespace]);
    const cached = this.decisions.get(key);
    if (cached !== undefined) return cached;
    const review = (await this.post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: caller.username,
        groups: caller.groups,
        resourceAttributes: { group: STRATA_GROUP, ...resourceVerb(verb), namespace },
      },
    })) as { status?: { allowed?: boolean; denied?: boolean } };
    const allowed = review.status?.allowed === true && review.status.denied !== true;
    this.decisions.set(key, allowed);
    return allowed;
  }

  private post(path: string, body: unknown): Promise<unknown> {
    const url = new URL(path, this.opts.server);
    const payload = Buffer.from(JSON.stringify(body));
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${this.opts.token}`,
            'content-type': 'application/json',
            'content-length': payload.length,
          },
          ...(this.opts.ca && { ca: this.opts.ca }),
          timeout: 10_000,
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            if ((res.statusCode ?? 500) >= 300) {
              reject(new ClusterError(`${url.pathname}: API server answered ${res.statusCode}: ${text.slice(0, 200)}`));
              return;
            }
            try {
              resolve(JSON.parse(text));
            } catch {
              reject(new ClusterError(`${url.pathname}: API server answered non-JSON`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new ClusterError(`${url.pathname}: API server did not answer in 10 s`)));
      req.on('error', (err) =>
        reject(err instanceof ClusterError ? err : new ClusterError(`${url.pathname}: ${err.message}`)),
      );
      req.end(payload);
    });
  }
}
