// Bearer tokens that are OIDC JWTs from one configured issuer: signature checked against the issuer's published keys
// (discovery document → jwks_uri, through jose's remote key set, which caches and refetches on an unknown key id),
// issuer, audience and expiry checked; username and groups from configured claims, prefixed as Kubernetes' own
// OIDC authenticator does, so the same RoleBindings (SubjectAccessReview) or access-file rules apply.
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { ConfigError, describeError } from '../../lib/errors.ts';
import { HttpError } from '../api/errors.ts';
import type { Authenticator, Caller } from './access.ts';

export interface OidcOptions {
  /** The issuer URL, exactly as tokens carry it in `iss` (https; http only for a loopback host). */
  issuer: string;
  /** Tokens must name this client id in `aud`. */
  audience: string;
  /** Claim holding the username (default `sub`; `email` needs `email_verified` true). */
  usernameClaim?: string;
  /** Claim holding the groups (default `groups`): a list of strings, or one string. */
  groupsClaim?: string;
  /** Put before every username (default `oidc:`), so a token can never name a cluster user or ServiceAccount. */
  usernamePrefix?: string;
  /** Put before every group (default `oidc:`). */
  groupsPrefix?: string;
  /** Signature algorithms accepted (default the asymmetric ones OIDC providers use). */
  algorithms?: string[];
  /** Seconds of clock skew tolerated on exp/nbf/iat (default 30). */
  clockToleranceSeconds?: number;
}

const DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Checks the issuer URL: https, or http on a loopback host (a test or a sidecar). */
export function checkIssuer(issuer: string): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new ConfigError(`--oidc-issuer ${JSON.stringify(issuer)} is not a URL`, { key: 'oidc-issuer' });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new ConfigError(`--oidc-issuer must be https (plain http only on a loopback host), got ${issuer}`, {
      key: 'oidc-issuer',
    });
  }
  return url;
}

export class OidcAuthenticator implements Authenticator {
  private keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(private readonly opts: OidcOptions) {
    checkIssuer(opts.issuer);
    if (!opts.audience)
      throw new ConfigError('--oidc-audience is required with --oidc-issuer', { key: 'oidc-audience' });
  }

  /** Is this token meant for this authenticator (a JWT naming our issuer)? Nothing is trusted from it yet. */
  claims(token: string): boolean {
    try {
      return decodeJwt(token).iss === this.opts.issuer;
    } catch {
      return false;
    }
  }

  async authenticate(token: string): Promise<Caller | undefined> {
    let payload: JWTPayload;
    const unreachable = (err: unknown) =>
      new HttpError(
        503,
        `the OIDC issuer ${this.opts.issuer} cannot be reached to check the token: ${describeError(err)}`,
      );
    let keys: ReturnType<typeof createRemoteJWKSet>;
    try {
      keys = await this.keySet();
    } catch (err) {
      throw unreachable(err);
    }
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        algorithms: this.opts.algorithms ?? DEFAULT_ALGORITHMS,
        clockTolerance: this.opts.clockToleranceSeconds ?? 30,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      // The key set could not be fetched: the token may be good, so not a 401.
      if (!(err instanceof errors.JOSEError) || err instanceof errors.JWKSTimeout) throw unreachable(err);
      return undefined; // bad signature, unknown key, wrong issuer/audience, expired: not a caller
    }
    const claim = this.opts.usernameClaim ?? 'sub';
    const name = payload[claim];
    if (typeof name !== 'string' || !name) return undefined;
    // Kubernetes takes an email only when the provider verified it: an unverified address names nobody.
    if (claim === 'email' && payload.email_verified !== true) return undefined;
    const username = (this.opts.usernamePrefix ?? 'oidc:') + name;
    if (username.startsWith('system:')) return undefined; // never a cluster identity, whatever the prefix
    const raw = payload[this.opts.groupsClaim ?? 'groups'];
    const groups = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [])
      .filter((g): g is string => typeof g === 'string' && g.length > 0)
      .map((g) => (this.opts.groupsPrefix ?? 'oidc:') + g)
      .filter((g) => !g.startsWith('system:'));
    return { username, groups, via: 'oidc' };
  }

  /** The issuer's key set, from its discovery document (fetched once; a failed fetch is retried next time). */
  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.keys) return this.keys;
    this.discovering ??= this.discover().finally(() => (this.discovering = undefined));
    this.keys = await this.discovering;
    return this.keys;
  }

  private async discover(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const base = this.opts.issuer.replace(/\/+$/, '');
    const res = await fetch(`${base}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`OIDC discovery at ${base} answered ${res.status}`);
    const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    // The document must be the issuer's own (OpenID Connect Discovery 1.0, section 4.3).
    if (doc.issuer !== this.opts.issuer) throw new Error(`OIDC discovery at ${base} names another issuer`);
    if (typeof doc.jwks_uri !== 'string') throw new Error(`OIDC discovery at ${base} has no jwks_uri`);
    return createRemoteJWKSet(checkIssuer(doc.jwks_uri), { timeoutDuration: 10_000 });
  }
}

/** OIDC tokens go to the OIDC authenticator, every other token to `rest` (the token file or TokenReview). */
export function withOidc(oidc: OidcAuthenticator, rest: Authenticator): Authenticator {
  return {
    authenticate: (token) => (oidc.claims(token) ? oidc.authenticate(token) : rest.authenticate(token)),
  };
}
