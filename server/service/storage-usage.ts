// Storage and cost per tier and per policy for the namespaces a caller may see. Stored bytes are the packs' sizes
// in the store (listed, cached a few minutes), by timeline group and storage class; a caller is shown each group's
// stored bytes in proportion to the original bytes of its own namespaces in that group (packs are shared within a
// group, so that is an estimate, and it never shows another tenant's totals). Monthly cost is the pricing file's
// price per tier, with its per-object minimums, applied to each pack.
import type { Catalog, UsageRow } from '../../lib/catalog/catalog.ts';
import { PACKS_PREFIX, parseGroupKey } from '../../lib/archive/repository.ts';
import { TIERS, type Tier } from '../../lib/policy/facts.ts';
import { DEFAULT_PRICING, type Pricing } from '../../lib/policy/pricing.ts';
import { monthlyCost } from '../../lib/tier/cost.ts';
import { retentionClassOf } from '../../lib/tier/lifecycle-config.ts';
import { tierClasses, tierOfClass } from '../../lib/tier/storage-class.ts';
import type { ObjectStore } from '../../lib/store/store.ts';

export interface PriceTable {
  pricing: Pricing;
  /** Where the prices come from: a file, or the built-in copy of policies/pricing.yaml. */
  source: string;
}

export const BUILT_IN_PRICES: PriceTable = {
  pricing: DEFAULT_PRICING,
  source: 'built in: policies/pricing.yaml (AWS S3 us-east-1 list prices)',
};

/** How long a listing of the packs is reused (listing a large bucket costs requests and seconds). */
export const PACK_LISTING_TTL_MS = 5 * 60_000;

type ByTier = Record<Tier, number>;
const zero = (): ByTier => ({ hot: 0, warm: 0, cold: 0, deepArchive: 0 });

interface GroupStorage {
  bytes: ByTier;
  cost: ByTier;
  packs: number;
}

interface Listing {
  at: number;
  /** The prices the costs were computed with. */
  prices: PriceTable;
  groups: Map<string, GroupStorage>;
  /** Original bytes per group over every namespace. */
  groupTotal: Map<string, number>;
}

export interface StorageLine {
  /** The tier, or the policy (retention class of the timeline group; `(none)` for manifests without a group). */
  name: string;
  manifests: number;
  originalBytes: number;
  storedBytes: number;
  monthlyCost: number;
  /** Stored bytes by tier. */
  byTier: ByTier;
}

export interface StorageReport {
  currency: string;
  pricing: { source: string; tiers: Record<Tier, { storageClass: string; perGBMonth: number; minimumDays: number }> };
  namespaces: string[];
  /** When the packs were listed. */
  measuredAt: string;
  tiers: Array<Omit<StorageLine, 'manifests' | 'originalBytes' | 'byTier'> & { tier: Tier }>;
  policies: StorageLine[];
  totals: { manifests: number; originalBytes: number; storedBytes: number; monthlyCost: number };
}

export class StorageUsage {
  private listing: Listing | undefined;
  private pending: Promise<Listing> | undefined;

  constructor(
    private readonly deps: {
      catalog: Catalog;
      store(): Promise<ObjectStore>;
      /** The prices in force now (a pricing file is re-read when it changes). */
      prices(): PriceTable;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** Stored bytes and monthly cost per group and tier, from one listing of the packs (shared by concurrent callers). */
  private async groups(): Promise<Listing> {
    const prices = this.deps.prices();
    const fresh = this.listing && this.now() - this.listing.at < PACK_LISTING_TTL_MS;
    // Costs are priced as the packs are listed: new prices make a new listing.
    if (fresh && this.listing!.prices === prices) return this.listing!;
    this.pending ??= (async () => {
      const { pricing } = prices;
      const classes = tierClasses(pricing, prices.source);
      const groups = new Map<string, GroupStorage>();
      const store = await this.deps.store();
      for await (const o of store.list(PACKS_PREFIX)) {
        const parsed = parseGroupKey(PACKS_PREFIX, o.key);
        if (!parsed) continue;
        let g = groups.get(parsed.group);
        if (!g) groups.set(parsed.group, (g = { bytes: zero(), cost: zero(), packs: 0 }));
        const tier = tierOfClass(o.storageClass ?? 'STANDARD', classes);
        g.bytes[tier] += o.size;
        g.cost[tier] += monthlyCost(o.size, tier, pricing);
        g.packs++;
      }
      // Every namespace's original bytes per group: the denominator of a caller's share (same age as the listing).
      const groupTotal = new Map<string, number>();
      for (const r of await this.deps.catalog.usage(await this.deps.catalog.namespaces()))
        groupTotal.set(r.group ?? '', (groupTotal.get(r.group ?? '') ?? 0) + r.bytes);
      return { at: this.now(), prices, groups, groupTotal };
    })().finally(() => (this.pending = undefined));
    this.listing = await this.pending;
    return this.listing;
  }

  /** The report for `namespaces` (those the caller may list). */
  async report(namespaces: string[]): Promise<StorageReport> {
    const visible = await this.deps.catalog.usage(namespaces);
    const { at, prices, groups, groupTotal } = await this.groups();
    const { pricing, source } = prices;
    const policies = new Map<string, StorageLine>();
    const tiers = new Map<Tier, { storedBytes: number; monthlyCost: number }>(
      TIERS.map((t) => [t, { storedBytes: 0, monthlyCost: 0 }]),
    );
    const add = (r: UsageRow) => {
      const name = r.group !== undefined ? retentionClassOf(r.group) : '(none)';
      const line = policies.get(name) ?? {
        name,
        manifests: 0,
        originalBytes: 0,
        storedBytes: 0,
        monthlyCost: 0,
        byTier: zero(),
      };
      line.manifests += r.manifests;
      line.originalBytes += r.bytes;
      const g = r.group !== undefined ? groups.get(r.group) : undefined;
      const total = groupTotal.get(r.group ?? '') ?? 0;
      if (g && total > 0) {
        const share = r.bytes / total;
        for (const t of TIERS) {
          const bytes = g.bytes[t] * share;
          const cost = g.cost[t] * share;
          line.byTier[t] += bytes;
          line.storedBytes += bytes;
          line.monthlyCost += cost;
          tiers.get(t)!.storedBytes += bytes;
          tiers.get(t)!.monthlyCost += cost;
        }
      }
      policies.set(name, line);
    };
    visible.forEach(add);
    const round = (l: StorageLine): StorageLine => ({
      ...l,
      storedBytes: Math.round(l.storedBytes),
      byTier: Object.fromEntries(TIERS.map((t) => [t, Math.round(l.byTier[t])])) as ByTier,
    });
    const lines = [...policies.values()].map(round).sort((a, b) => (a.name < b.name ? -1 : 1));
    return {
      currency: pricing.currency,
      pricing: {
        source,
        tiers: Object.fromEntries(
          TIERS.map((t) => {
            const p = pricing.tiers[t];
            return [t, { storageClass: p.storageClass, perGBMonth: p.perGBMonth, minimumDays: p.minimumDays }];
          }),
        ) as StorageReport['pricing']['tiers'],
      },
      namespaces,
      measuredAt: new Date(at).toISOString(),
      tiers: TIERS.map((tier) => ({
        tier,
        name: tier,
        storedBytes: Math.round(tiers.get(tier)!.storedBytes),
        monthlyCost: tiers.get(tier)!.monthlyCost,
      })),
      policies: lines,
      totals: {
        manifests: lines.reduce((n, l) => n + l.manifests, 0),
        originalBytes: lines.reduce((n, l) => n + l.originalBytes, 0),
        storedBytes: lines.reduce((n, l) => n + l.storedBytes, 0),
        monthlyCost: lines.reduce((n, l) => n + l.monthlyCost, 0),
      },
    };
  }
}
