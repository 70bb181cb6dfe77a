// Embedded local mode (no cluster): the caller is whoever they say (--actor, $STRATA_ACTOR, the OS user), unverified.
import { userInfo } from 'node:os';
import type { AccessDecision, Authority, Identity } from './identity.ts';

/**
 * Nothing is authorised here because nothing can be: whoever runs the CLI holds the store's credentials and could
 * write to it directly. Every record this identity signs says `verified: false`.
 */
export class LocalAuthority implements Authority {
  constructor(
    private readonly actorFlag: string | undefined,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  whoAmI(): Promise<Identity> {
    return Promise.resolve(localIdentity(this.actorFlag, this.env));
  }

  can(): Promise<AccessDecision> {
    return Promise.resolve({ allowed: true, reason: 'local mode: no cluster to ask, the caller is unverified' });
  }
}

export function localIdentity(flag: string | undefined, env: NodeJS.ProcessEnv): Identity {
  const unverified = (username: string, source: Identity['source']): Identity => ({
    username,
    groups: [],
    verified: false,
    source,
  });
  if (flag) return unverified(flag, 'flag');
  if (env.STRATA_ACTOR) return unverified(env.STRATA_ACTOR, 'env');
  try {
    return unverified(`user:${userInfo().username}`, 'os');
  } catch {
    return unverified('unknown', 'os');
  }
}
