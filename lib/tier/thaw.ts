// Cold restore planning: which of a workflow's packs must thaw before it can be read, which retrieval tier meets a
// deadline at the least cost, how long and how much; then asking the store and reporting progress. The thaw's
// state lives in the store itself (each object's restore status), so a step that ends and runs again picks it up.
import type { Manifest } from '../archive/manifest.ts';
import { packKey, type Repository } from '../archive/repository.ts';
import { storageClassesOf, type RestoreState, type RestoreTier, type StorageClass } from '../store/store.ts';
import { RESTORE_CLASSES } from './storage-class.ts';

type ArchiveClass = 'GLACIER' | 'DEEP_ARCHIVE';

/** Typical completion times (hours) and prices (per GiB, per 1,000 requests) of S3 restores, us-east-1 list prices. */
export const RETRIEVAL: Record<
  ArchiveClass,
  Partial<Record<RestoreTier, { hours: number; perGB: number; per1000: number }>>
> = {
  GLACIER: {
    Expedited: { hours: 5 / 60, perGB: 0.03, per1000: 10 },
    Standard: { hours: 5, perGB: 0.01, per1000: 0.05 },
    Bulk: { hours: 12, perGB: 0, per1000: 0.025 },
  },
  DEEP_ARCHIVE: {
    Standard: { hours: 12, perGB: 0.02, per1000: 0.1 },
    Bulk: { hours: 48, perGB: 0.0025, per1000: 0.025 },
  },
};

const GIB = 1024 ** 3;

export interface PackThawState {
  key: string;
  bytes: number;
  storageClass?: StorageClass;
  restore?: RestoreState;
}

export interface ThawPlan {
  /** Packs that must be restored before a read, with the tier chosen for each. */
  packs: Array<{ key: string; bytes: number; storageClass: ArchiveClass; state: RestoreState; tier: RestoreTier }>;
  /** Packs readable now (hot classes, or restored copies). */
  ready: number;
  total: number;
  /** Hours until the slowest thaw completes (0 when nothing needs one). */
  hours: number;
  cost: number;
  /** Why the deadline cannot be met, when it cannot (the fastest tiers are chosen then). */
  deadlineMissed?: string;
}

function choose(cls: ArchiveClass, deadlineHours: number | undefined): { tier: RestoreTier; missed: boolean } {
  const options = (Object.entries(RETRIEVAL[cls]) as [RestoreTier, { hours: number; perGB: number }][]).sort(
    (a, b) => a[1].perGB - b[1].perGB || a[1].hours - b[1].hours,
  );
  if (deadlineHours === undefined) return { tier: options[0]![0], missed: false };
  const fit = options.find(([, o]) => o.hours <= deadlineHours);
  if (fit) return { tier: fit[0], missed: false };
  return { tier: options.reduce((a, b) => (b[1].hours < a[1].hours ? b : a))[0], missed: true };
}

/** Pure: from each pack's class and restore state, what to thaw with which tier, how long and at what cost. */
export function planThaw(states: readonly PackThawState[], deadlineHours?: number): ThawPlan {
  const plan: ThawPlan = { packs: [], ready: 0, total: states.length, hours: 0, cost: 0 };
  const missed = new Set<string>();
  for (const s of states) {
    const cls = s.storageClass;
    if (!cls || !RESTORE_CLASSES.has(cls) || s.restore === 'restored') {
      plan.ready++;
      continue;
    }
    const archive = cls as ArchiveClass;
    const { tier, missed: late } = choose(archive, deadlineHours);
    if (late) missed.add(archive);
    const price = RETRIEVAL[archive][tier]!;
    plan.packs.push({ key: s.key, bytes: s.bytes, storageClass: archive, state: s.restore ?? 'not-started', tier });
    if (s.restore !== 'in-progress') plan.cost += (s.bytes / GIB) * price.perGB + price.per1000 / 1000;
    plan.hours = Math.max(plan.hours, price.hours);
  }
  if (missed.size) {
    plan.deadlineMissed = `no retrieval tier of ${[...missed].join(', ')} completes within ${deadlineHours} h; the fastest is taken (${plan.hours} h)`;
  }
  return plan;
}

/** Where the manifest's packs are now. */
export async function thawStates(repo: Repository, manifest: Manifest): Promise<PackThawState[]> {
  const out: PackThawState[] = [];
  for (const p of manifest.packs) {
    const key = packKey(manifest.group, p);
    const info = await repo.store.head(key);
    out.push({ key, bytes: info?.size ?? 0, storageClass: info?.storageClass, restore: info?.restore?.state });
  }
  return out;
}

/** Asks the store to thaw what the plan lists (not those already thawing); returns the states afterwards. */
export async function requestThaw(
  repo: Repository,
  manifest: Manifest,
  plan: ThawPlan,
  days: number,
): Promise<PackThawState[]> {
  const classes = storageClassesOf(repo.store);
  if (classes) {
    for (const p of plan.packs) if (p.state === 'not-started') await classes.restore(p.key, days, p.tier);
  }
  return thawStates(repo, manifest);
}
