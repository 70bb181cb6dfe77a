// The tier plan: from archived workflows, their timelines, holds, where each pack is, the clock and prices, which
// packs move to a colder tier and which workflows expire, each with its reason (pure: no I/O).
import type { Tier } from '../policy/facts.ts';
import { activeHolds, extendedUntil, type HoldsAndExtensions } from '../policy/holds.ts';
import type { Pricing } from '../policy/pricing.ts';
import type { Timeline } from '../policy/timeline.ts';
import { deletionCost, moveCost, type MoveCost } from './cost.ts';
import { colder, warmer } from './storage-class.ts';

/** One archived copy of a workflow (a manifest) and what its policy says about it now. */
export interface ArchivedWorkflow {
  manifestId: string;
  uid: string;
  namespace: string;
  name: string;
  /** Timeline group the manifest's packs are in. */
  group: string;
  packs: readonly string[];
  /** From the retention decision; undefined when policy could not decide: then nothing of it moves or expires. */
  timeline?: Timeline;
  /** Why policy could not decide, when it could not. */
  undecided?: string;
  /**
   * The COMPLIANCE lock its compliance class asks for (complianceLock): the floor, or for a class kept indefinitely
   * a rolling window; enforced by the store where it has Object Lock.
   */
  retainUntil?: Date;
  /** A lock ending at or after this is left as it is; one ending before is extended to `retainUntil`. */
  renewBefore?: Date;
}

/** Where a pack is now. */
export interface PackPlacement {
  group: string;
  packId: string;
  bytes: number;
  tier: Tier;
  /** When it entered that tier (for minimum storage durations). */
  since: Date;
}

export interface TierFacts {
  now: Date;
  pricing: Pricing;
  workflows: readonly ArchivedWorkflow[];
  packs: readonly PackPlacement[];
  /** Every hold and extension record: checked here again, whatever the timelines say. */
  holds: HoldsAndExtensions;
  /** Manifests that could not be read: they may reference any pack, so nothing expires while they exist. */
  unreadable: readonly string[];
}

export interface PackMove {
  group: string;
  packId: string;
  bytes: number;
  from: Tier;
  to: Tier;
  /** Uids of the workflows whose data is in the pack. */
  workflows: string[];
  reason: string;
  cost: MoveCost;
}

/** A pack that stays where it is although some of its workflows are due colder, and why. */
export interface PackWait {
  group: string;
  packId: string;
  bytes: number;
  tier: Tier;
  /** The coldest tier one of its workflows is due in. */
  due: Tier;
  reason: string;
}

export interface WorkflowExpiry {
  uid: string;
  namespace: string;
  name: string;
  manifests: string[];
  deleteAt: string;
  reason: string;
}

/** A pack only expiring workflows reference: it goes whole. */
export interface PackDeletion {
  group: string;
  packId: string;
  bytes: number;
  tier: Tier;
  workflows: string[];
  cost: MoveCost;
}

/** A pack that holds chunks of expiring and of live workflows: rewritten with the live chunks only. */
export interface PackRepack {
  group: string;
  packId: string;
  bytes: number;
  tier: Tier;
  expiring: string[];
  live: string[];
}

export interface TierPlan {
  now: string;
  currency: string;
  moves: PackMove[];
  waiting: PackWait[];
  expiries: WorkflowExpiry[];
  deletions: PackDeletion[];
  repacks: PackRepack[];
  /** Workflows whose retention ended but which are kept, with the reason (hold, extension, unreadable manifests). */
  kept: Array<{ uid: string; reason: string }>;
  totals: {
    moves: number;
    bytesMoved: number;
    expiries: number;
    bytesDeleted: number;
    /** Per month, after the plan, compared with before. */
    monthlySaving: number;
    /** One-time: early-deletion charges and transition requests. */
    oneTimeCharges: number;
  };
}

const iso = (d: Date) => d.toISOString();
const packName = (group: string, packId: string) => `${group}/${packId}`;

/** The tier a live workflow's timeline wants at `now` (hot before its archive date, its last stage after the end). */
export function wantedTier(t: Timeline, now: Date): Tier {
  if (!t.archiveAt || now < t.archiveAt) return 'hot';
  for (const s of t.stays) if (now >= s.from && (!s.until || now < s.until)) return s.tier;
  return t.stays[t.stays.length - 1]?.tier ?? 'hot';
}

/** When the timeline first reaches `tier` or colder. */
function reachedAt(t: Timeline, tier: Tier): Date | undefined {
  return t.stays.find((s) => !colder(tier, s.tier))?.from;
}

type Verdict = { expire: true; reason: string; deleteAt: Date } | { expire: false; reason?: string };

/**
 * Whether one workflow expires now. The timeline already accounts for holds and extensions; they are checked
 * again from the records so that no timeline handed in (stale, hand-made, buggy) can delete what is protected.
 */
function expiryVerdict(w: ArchivedWorkflow, f: TierFacts): Verdict {
  const end = w.timeline?.deleteAt;
  if (!w.timeline || !end || f.now < end) return { expire: false };
  const ended = `retention ended ${iso(end)}`;
  const held = activeHolds(f.holds.holds, w.uid, f.now);
  if (held.length) return { expire: false, reason: `${ended} but legal hold ${held.map((h) => h.id).join(', ')}` };
  const ext = extendedUntil(f.holds.extensions, w.uid);
  if (ext && ext.until > f.now) {
    return { expire: false, reason: `${ended} but extended until ${iso(ext.until)} (${ext.by.id})` };
  }
  if (f.unreadable.length) {
    return { expire: false, reason: `${ended} but ${f.unreadable.length} manifest(s) cannot be read: nothing expires` };
  }
  return { expire: true, reason: ended, deleteAt: end };
}

export function planTiering(f: TierFacts): TierPlan {
  const plan: TierPlan = {
    now: iso(f.now),
    currency: f.pricing.currency,
    moves: [],
    waiting: [],
    expiries: [],
    deletions: [],
    repacks: [],
    kept: [],
    totals: { moves: 0, bytesMoved: 0, expiries: 0, bytesDeleted: 0, monthlySaving: 0, oneTimeCharges: 0 },
  };

  // A workflow archived more than once has several manifests; holds and extensions are per uid, so they agree.
  const expiring = new Set<string>();
  const expiries = new Map<string, WorkflowExpiry>();
  for (const w of f.workflows) {
    const v = expiryVerdict(w, f);
    if (!v.expire) {
      if (v.reason && !plan.kept.some((k) => k.uid === w.uid)) plan.kept.push({ uid: w.uid, reason: v.reason });
      continue;
    }
    expiring.add(w.manifestId);
    const e = expiries.get(w.uid);
    if (e) e.manifests.push(w.manifestId);
    else
      expiries.set(w.uid, {
        uid: w.uid,
        namespace: w.namespace,
        name: w.name,
        manifests: [w.manifestId],
        deleteAt: iso(v.deleteAt),
        reason: v.reason,
      });
  }
  // A uid with one expiring and one kept manifest (policy sees them differently): keep all of it.
  for (const w of f.workflows) {
    if (expiries.has(w.uid) && !expiring.has(w.manifestId)) {
      for (const id of expiries.get(w.uid)!.manifests) expiring.delete(id);
      expiries.delete(w.uid);
      plan.kept.push({ uid: w.uid, reason: `manifest ${w.manifestId} of the same workflow does not expire` });
    }
  }
  plan.expiries = [...expiries.values()];

  const refs = new Map<string, ArchivedWorkflow[]>();
  for (const w of f.workflows) {
    for (const p of new Set(w.packs)) {
      const name = packName(w.group, p);
      const list = refs.get(name) ?? [];
      list.push(w);
      refs.set(name, list);
    }
  }

  for (const pack of f.packs) {
    const users = refs.get(packName(pack.group, pack.packId));
    if (!users) continue; // unreferenced: gc's business
    const live = users.filter((w) => !expiring.has(w.manifestId));
    const gone = users.filter((w) => expiring.has(w.manifestId));
    if (live.length === 0) {
      plan.deletions.push({
        group: pack.group,
        packId: pack.packId,
        bytes: pack.bytes,
        tier: pack.tier,
        workflows: uids(gone),
        cost: deletionCost(pack.bytes, pack.tier, pack.since, f.now, f.pricing),
      });
      continue;
    }
    if (gone.length) {
      // Repacked by the expiry (its live chunks go into a new, hot pack): moving it first would be paid for nothing.
      plan.repacks.push({
        group: pack.group,
        packId: pack.packId,
        bytes: pack.bytes,
        tier: pack.tier,
        expiring: uids(gone),
        live: uids(live),
      });
      continue;
    }
    planMove(pack, live, f, plan);
  }

  for (const m of plan.moves) {
    plan.totals.moves++;
    plan.totals.bytesMoved += m.bytes;
    plan.totals.monthlySaving += m.cost.monthlyBefore - m.cost.monthlyAfter;
    plan.totals.oneTimeCharges += m.cost.earlyDeletion + m.cost.transition;
  }
  plan.totals.expiries = plan.expiries.length;
  for (const d of plan.deletions) {
    plan.totals.bytesDeleted += d.bytes;
    plan.totals.monthlySaving += d.cost.monthlyBefore;
    plan.totals.oneTimeCharges += d.cost.earlyDeletion;
  }
  return plan;
}

/** A shared pack moves to the warmest tier any of its live workflows is due in, and only ever colder. */
function planMove(pack: PackPlacement, live: ArchivedWorkflow[], f: TierFacts, plan: TierPlan): void {
  const undecided = live.find((w) => !w.timeline);
  const wanted = live.flatMap((w) => (w.timeline ? [{ w, tier: wantedTier(w.timeline, f.now) }] : []));
  const coldest = wanted.reduce<Tier>((a, x) => (colder(x.tier, a) ? x.tier : a), pack.tier);
  const base = { group: pack.group, packId: pack.packId, bytes: pack.bytes };
  if (undecided) {
    if (colder(coldest, pack.tier)) {
      plan.waiting.push({
        ...base,
        tier: pack.tier,
        due: coldest,
        reason: `policy cannot decide for workflow ${undecided.uid} (${undecided.undecided ?? 'failed closed'}): the pack stays`,
      });
    }
    return;
  }
  const target = wanted.reduce<Tier>((a, x) => warmer(a, x.tier), 'deepArchive');
  if (colder(target, pack.tier)) {
    const last = wanted.reduce<Date | undefined>((a, x) => {
      const at = reachedAt(x.w.timeline!, target);
      return at && (!a || at > a) ? at : a;
    }, undefined);
    plan.moves.push({
      ...base,
      from: pack.tier,
      to: target,
      workflows: uids(live),
      reason:
        live.length === 1
          ? `workflow ${live[0]!.uid} is due in ${target}${last ? ` since ${iso(last)}` : ''}`
          : `all ${uids(live).length} workflows of the pack are due in ${target}${last ? ` (the last since ${iso(last)})` : ''}`,
      cost: moveCost(pack.bytes, pack.tier, target, pack.since, f.now, f.pricing),
    });
  }
  const now = colder(target, pack.tier) ? target : pack.tier;
  if (colder(coldest, now)) {
    const behind = uids(wanted.filter((x) => x.tier === target).map((x) => x.w));
    plan.waiting.push({
      ...base,
      tier: now,
      due: coldest,
      reason: `shared with ${behind.slice(0, 3).join(', ')}${behind.length > 3 ? ` and ${behind.length - 3} more` : ''}, due in ${target} only`,
    });
  }
}

function uids(ws: readonly ArchivedWorkflow[]): string[] {
  return [...new Set(ws.map((w) => w.uid))];
}
