// Which storage class a tier is kept in (from the pricing file) and which tier a stored object's class means.
import { ConfigError } from '../errors.ts';
import { TIERS, type Tier } from '../policy/facts.ts';
import type { Pricing } from '../policy/pricing.ts';
import type { StorageClass } from '../store/store.ts';

const CLASSES: readonly StorageClass[] = ['STANDARD', 'STANDARD_IA', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'];

/** Where a class sits when the pricing file does not name it (e.g. GLACIER while cold is priced as GLACIER_IR). */
const NATURAL_TIER: Record<StorageClass, Tier> = {
  STANDARD: 'hot',
  STANDARD_IA: 'warm',
  GLACIER_IR: 'cold',
  GLACIER: 'cold',
  DEEP_ARCHIVE: 'deepArchive',
};

/** Classes whose objects must be restored before they can be read. */
export const RESTORE_CLASSES: ReadonlySet<StorageClass> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** The storage class each tier is kept in; a pricing file naming a class S3 does not have is a configuration error. */
export function tierClasses(pricing: Pricing, file = 'pricing'): Record<Tier, StorageClass> {
  const out = {} as Record<Tier, StorageClass>;
  for (const tier of TIERS) {
    const name = pricing.tiers[tier].storageClass;
    if (!(CLASSES as readonly string[]).includes(name)) {
      throw new ConfigError(`pricing: tiers.${tier}.storageClass "${name}" is not one of ${CLASSES.join(', ')}`, {
        file,
      });
    }
    out[tier] = name as StorageClass;
  }
  return out;
}

/** The tier an object in `storageClass` is in: the tier priced with that class, else the class's natural tier. */
export function tierOfClass(storageClass: StorageClass, classes: Record<Tier, StorageClass>): Tier {
  return TIERS.find((t) => classes[t] === storageClass) ?? NATURAL_TIER[storageClass];
}

/** True when `a` is a colder tier than `b`. */
export function colder(a: Tier, b: Tier): boolean {
  return TIERS.indexOf(a) > TIERS.indexOf(b);
}

/** The warmer of two tiers. */
export function warmer(a: Tier, b: Tier): Tier {
  return colder(a, b) ? b : a;
}
