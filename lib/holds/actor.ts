// Who is acting, for hold/extension records and audit: --actor, else $STRATA_ACTOR, else the OS user.
import { userInfo } from 'node:os';

export function resolveActor(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.STRATA_ACTOR) return env.STRATA_ACTOR;
  try {
    return `user:${userInfo().username}`;
  } catch {
    return 'unknown';
  }
}
