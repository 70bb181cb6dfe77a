// What keeping, moving and deleting a stored object costs under a pricing file (pure).
import type { Tier } from '../policy/facts.ts';
import type { Pricing } from '../policy/pricing.ts';

const GIB = 1024 ** 3;
const DAY = 86_400_000;

/** Monthly (30-day) price of one object of `bytes` in `tier`, with the tier's minimum object size and per-object overhead. */
export function monthlyCost(bytes: number, tier: Tier, pricing: Pricing): number {
  const p = pricing.tiers[tier];
  const billed = Math.max(bytes, p.minimumObjectBytes) + p.overheadBytes;
  return (billed / GIB) * p.perGBMonth + (p.hotOverheadBytes / GIB) * pricing.tiers.hot.perGBMonth;
}

/** The rest of the tier's minimum storage duration, billed when an object leaves `tier` at `at` having entered at `since`. */
export function earlyDeletionCharge(bytes: number, tier: Tier, since: Date, at: Date, pricing: Pricing): number {
  const stayedDays = Math.max(0, (at.getTime() - since.getTime()) / DAY);
  const missing = pricing.tiers[tier].minimumDays - stayedDays;
  return missing > 0 ? (missing / 30) * monthlyCost(bytes, tier, pricing) : 0;
}

/** One request moving an object into `tier`. */
export function transitionCharge(tier: Tier, pricing: Pricing): number {
  return pricing.tiers[tier].transitionPer1000 / 1000;
}

export interface MoveCost {
  /** Per month in the current tier. */
  monthlyBefore: number;
  /** Per month in the target tier (0 for a deletion). */
  monthlyAfter: number;
  /** One-time: the current tier's minimum duration not yet served. */
  earlyDeletion: number;
  /** One-time: the request that moves the object. */
  transition: number;
}

export function moveCost(bytes: number, from: Tier, to: Tier, since: Date, at: Date, pricing: Pricing): MoveCost {
  return {
    monthlyBefore: monthlyCost(bytes, from, pricing),
    monthlyAfter: monthlyCost(bytes, to, pricing),
    earlyDeletion: earlyDeletionCharge(bytes, from, since, at, pricing),
    transition: transitionCharge(to, pricing),
  };
}

export function deletionCost(bytes: number, from: Tier, since: Date, at: Date, pricing: Pricing): MoveCost {
  return {
    monthlyBefore: monthlyCost(bytes, from, pricing),
    monthlyAfter: 0,
    earlyDeletion: earlyDeletionCharge(bytes, from, since, at, pricing),
    transition: 0,
  };
}
