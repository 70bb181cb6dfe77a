// Per-tier storage prices and minimum storage durations (policies/pricing.yaml), and the cost of a timeline.
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { Tier } from './facts.ts';
import type { Timeline } from './timeline.ts';

const tierPrice = z.strictObject({
  storageClass: z.string(),
  /** Price per GiB-month (30 days). */
  perGBMonth: z.number().nonnegative(),
  /** Objects removed or moved out earlier are billed as if stored this many days (early-deletion penalty). */
  minimumDays: z.number().int().nonnegative().default(0),
  /** Smaller objects are billed as this size (S3 STANDARD_IA and GLACIER_IR: 128 KiB). */
  minimumObjectBytes: z.number().int().nonnegative().default(0),
  /** Extra bytes billed per object at this tier's price (S3 GLACIER and DEEP_ARCHIVE: 32 KiB of index). */
  overheadBytes: z.number().int().nonnegative().default(0),
  /** Extra bytes billed per object at the hot tier's price (S3 GLACIER and DEEP_ARCHIVE: 8 KiB of name and metadata). */
  hotOverheadBytes: z.number().int().nonnegative().default(0),
  /** Price of 1,000 requests that move objects into this tier (PUT/COPY or lifecycle transition). */
  transitionPer1000: z.number().nonnegative().default(0),
});

export const pricingSchema = z.strictObject({
  currency: z.string().default('USD'),
  tiers: z.strictObject({ hot: tierPrice, warm: tierPrice, cold: tierPrice, deepArchive: tierPrice }),
});

export type Pricing = z.infer<typeof pricingSchema>;
export type TierPrice = z.infer<typeof tierPrice>;

/**
 * The prices policies/pricing.yaml ships (AWS S3 us-east-1 list prices), for steps that run where that file is not
 * (the container image): a test keeps the two equal.
 */
export const DEFAULT_PRICING: Pricing = {
  currency: 'USD',
  tiers: {
    hot: {
      storageClass: 'STANDARD',
      perGBMonth: 0.023,
      minimumDays: 0,
      minimumObjectBytes: 0,
      overheadBytes: 0,
      hotOverheadBytes: 0,
      transitionPer1000: 0,
    },
    warm: {
      storageClass: 'STANDARD_IA',
      perGBMonth: 0.0125,
      minimumDays: 30,
      minimumObjectBytes: 131072,
      overheadBytes: 0,
      hotOverheadBytes: 0,
      transitionPer1000: 0.01,
    },
    cold: {
      storageClass: 'GLACIER_IR',
      perGBMonth: 0.004,
      minimumDays: 90,
      minimumObjectBytes: 131072,
      overheadBytes: 0,
      hotOverheadBytes: 0,
      transitionPer1000: 0.02,
    },
    deepArchive: {
      storageClass: 'DEEP_ARCHIVE',
      perGBMonth: 0.00099,
      minimumDays: 180,
      minimumObjectBytes: 0,
      overheadBytes: 32768,
      hotOverheadBytes: 8192,
      transitionPer1000: 0.05,
    },
  },
};

export function parsePricing(text: string, file: string): Pricing {
  const r = pricingSchema.safeParse(parse(text));
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ConfigError(`pricing: ${i.path.join('.')}: ${i.message}`, { file });
  }
  return r.data;
}

const DAY = 86_400_000;
const GIB = 1024 ** 3;

export interface TimelineCost {
  storage: number;
  earlyDeletion: number;
  byTier: Record<Tier, number>;
}

/**
 * Storage cost of `bytes` following `timeline` within [from, to). A stay that ends (moved colder or deleted)
 * before its tier's minimum duration is charged for the rest of the minimum when it ends inside the window.
 */
export function timelineCost(timeline: Timeline, bytes: number, pricing: Pricing, from: Date, to: Date): TimelineCost {
  const byTier: Record<Tier, number> = { hot: 0, warm: 0, cold: 0, deepArchive: 0 };
  let storage = 0;
  let earlyDeletion = 0;
  const gib = bytes / GIB;
  for (const stay of timeline.stays) {
    const p = pricing.tiers[stay.tier];
    const perDay = (gib * p.perGBMonth) / 30;
    const start = Math.max(stay.from.getTime(), from.getTime());
    const end = Math.min(stay.until?.getTime() ?? Infinity, to.getTime());
    if (end > start) {
      const c = ((end - start) / DAY) * perDay;
      storage += c;
      byTier[stay.tier] += c;
    }
    if (stay.until && stay.until >= from && stay.until < to) {
      const stayed = (stay.until.getTime() - stay.from.getTime()) / DAY;
      if (stayed < p.minimumDays) earlyDeletion += (p.minimumDays - stayed) * perDay;
    }
  }
  return { storage, earlyDeletion, byTier };
}
