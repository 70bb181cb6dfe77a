// One workflow's timeline: when it was archived, when its packs entered each tier (Strata's tier records), its holds
// and extensions, and what its policy plans next — what `strata show` prints and the query service answers.
import type { Manifest } from '../archive/manifest.ts';
import type { Repository } from '../archive/repository.ts';
import type { Explanation } from '../policy/explain.ts';
import type { Tier } from '../policy/facts.ts';
import type { HoldsAndExtensions } from '../policy/holds.ts';
import { packTierRecords } from './placement.ts';

export type TimelineKind =
  'archived' | 'tier' | 'hold-set' | 'hold-released' | 'extended' | 'planned-tier' | 'planned-delete';

export interface TimelineEvent {
  at: string;
  kind: TimelineKind;
  tier?: Tier;
  /** For `tier`: how many of the workflow's packs entered the tier (the first of them at `at`). */
  packs?: number;
  /** A hold's or extension's id. */
  id?: string;
  actor?: string;
  detail: string;
}

export interface WorkflowTimeline {
  /** Each tier and how many of the workflow's packs are in it now (by Strata's tier records; hot without one). */
  tiers: Partial<Record<Tier, number>>;
  events: TimelineEvent[];
}

const COLDER: Record<Tier, number> = { hot: 0, warm: 1, cold: 2, deepArchive: 3 };

export async function workflowTimeline(
  repo: Repository,
  manifest: Manifest,
  input: {
    holds: HoldsAndExtensions;
    /** The policy's dates (explainRetention); future ones become planned events. */
    schedule?: Explanation['dates'];
    now: Date;
  },
): Promise<WorkflowTimeline> {
  const records = await packTierRecords(repo, manifest.group, manifest.packs);
  const events: TimelineEvent[] = [];
  if (manifest.createdAt) events.push({ at: manifest.createdAt, kind: 'archived', tier: 'hot', detail: 'archived' });
  const entered = new Map<Tier, Date[]>();
  const coldest = new Map<string, Tier>();
  for (const r of records) {
    entered.set(r.tier, [...(entered.get(r.tier) ?? []), r.at]);
    const was = coldest.get(r.packId);
    if (!was || COLDER[r.tier] > COLDER[was]) coldest.set(r.packId, r.tier);
  }
  for (const [tier, times] of entered) {
    events.push({
      at: new Date(Math.min(...times.map((t) => t.getTime()))).toISOString(),
      kind: 'tier',
      tier,
      packs: times.length,
      detail: `${times.length} of ${manifest.packs.length} pack(s) entered ${tier}`,
    });
  }
  for (const h of input.holds.holds) {
    events.push({ at: h.created, kind: 'hold-set', id: h.id, actor: h.actor, detail: h.reason });
    if (h.released)
      events.push({
        at: h.released.at,
        kind: 'hold-released',
        id: h.id,
        actor: h.released.actor,
        detail: h.released.reason,
      });
  }
  for (const x of input.holds.extensions)
    events.push({ at: x.created, kind: 'extended', id: x.id, actor: x.actor, detail: `until ${x.until}: ${x.reason}` });
  const s = input.schedule;
  if (s) {
    const planned: Array<[string | undefined, Tier]> = [
      [s.warmOn, 'warm'],
      [s.coldOn, 'cold'],
      [s.deepArchiveOn, 'deepArchive'],
    ];
    for (const [at, tier] of planned)
      if (at && new Date(at) > input.now && !entered.has(tier))
        events.push({ at, kind: 'planned-tier', tier, detail: `policy moves it to ${tier}` });
    // deleteOn is "never" or "never while held" when nothing will delete it.
    const deleteOn = new Date(s.deleteOn);
    if (!Number.isNaN(deleteOn.getTime()))
      events.push({ at: deleteOn.toISOString(), kind: 'planned-delete', detail: 'policy expiry' });
  }
  events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const tiers: Partial<Record<Tier, number>> = {};
  for (const packId of manifest.packs) {
    const tier = coldest.get(packId) ?? 'hot';
    tiers[tier] = (tiers[tier] ?? 0) + 1;
  }
  return { tiers, events };
}
