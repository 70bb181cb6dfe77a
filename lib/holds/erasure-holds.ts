// Which legal holds stand in the way of erasing a tenant (crypto-shredding, lib/crypto/erase.ts).
import { archivedNamespace, type Repository } from '../archive/index.ts';
import { describeError } from '../errors.ts';
import type { HoldRecord } from '../policy/holds.ts';

/**
 * Active legal holds that stand in the way of erasing a tenant: those on its workflows, and — failing closed — those
 * whose record does not verify or whose workflow's namespace cannot be read (it may be the tenant's). Crypto-shredding
 * destroys held data as surely as a deletion, which a hold forbids.
 */
export async function holdsBlockingErasure(
  repo: Repository,
  holds: readonly HoldRecord[],
  tenantOfNamespace: (namespace: string) => string,
  tenant: string,
): Promise<Array<{ hold: HoldRecord; why: string }>> {
  const blocking: Array<{ hold: HoldRecord; why: string }> = [];
  for (const hold of holds) {
    if (hold.released && !hold.unverified) continue;
    if (hold.unverified) {
      blocking.push({ hold, why: `hold record does not verify: ${hold.unverified}` });
      continue;
    }
    let namespace: string | undefined;
    try {
      namespace = await archivedNamespace(repo, hold.workflowUid);
    } catch (err) {
      blocking.push({ hold, why: `its workflow's namespace cannot be read: ${describeError(err)}` });
      continue;
    }
    if (namespace !== undefined && tenantOfNamespace(namespace) === tenant)
      blocking.push({ hold, why: `held workflow ${hold.workflowUid} in namespace ${namespace}` });
  }
  return blocking;
}
