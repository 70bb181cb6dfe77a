// Gathers what the tier planner needs from the repository: every manifest and its retention decision, where each
// pack is, and the hold and extension records.
import { listManifests, readManifest } from '../archive/manifest-lookup.ts';
import type { Repository } from '../archive/repository.ts';
import { describeError } from '../errors.ts';
import {
  complianceLock,
  decideRetention,
  type ComplianceLock,
  type HoldsAndExtensions,
  type PolicySet,
} from '../policy/index.ts';
import { manifestInput } from '../policy/inputs.ts';
import type { Pricing } from '../policy/pricing.ts';
import type { Tier } from '../policy/facts.ts';
import type { StorageClass } from '../store/store.ts';
import { readPlacements } from './placement.ts';
import type { ArchivedWorkflow, TierFacts } from './plan.ts';

export interface GatherOptions {
  policySet: PolicySet;
  holds: HoldsAndExtensions;
  pricing: Pricing;
  now: Date;
  /** The class of each tier when the store has storage classes; undefined: tiers are only recorded. */
  classes: Record<Tier, StorageClass> | undefined;
}

export interface GatheredFacts extends TierFacts {
  /** Tier records whose pack is gone (gc deleted it): removed by the runner. */
  orphanRecords: string[];
}

const lockOf = (lock: ComplianceLock | undefined) =>
  lock ? { retainUntil: lock.until, renewBefore: lock.renewBefore } : {};

/**
 * Decisions are taken on what the manifest recorded of the workflow (uid, names, phase, times, labels,
 * annotations): a rule that reads anything else (the whole object, related resources) fails at run time there and
 * the workflow fails closed, so nothing of it moves or expires.
 */
export async function gatherTierFacts(repo: Repository, opts: GatherOptions): Promise<GatheredFacts> {
  // Packs before manifests, as gc does: a pack written meanwhile is simply not seen this run.
  const { packs, orphanRecords } = await readPlacements(repo, opts.classes);
  const workflows: ArchivedWorkflow[] = [];
  const unreadable: string[] = [];
  for await (const info of listManifests(repo)) {
    let manifest;
    try {
      manifest = await readManifest(repo, info.id);
    } catch (err) {
      unreadable.push(`${info.id} (${describeError(err)})`);
      continue;
    }
    const { facts } = manifestInput(manifest, `manifest ${info.id}`);
    const d = decideRetention(opts.policySet, facts, opts.now, opts.holds);
    const undecided = d.failedClosed
      ? d.reasons.slice(1).join('; ') || 'failed closed'
      : d.timeline.archiveAt
        ? undefined
        : d.reasons.join('; ') || 'no archive date';
    workflows.push({
      manifestId: info.id,
      uid: manifest.workflow.uid,
      namespace: manifest.workflow.namespace,
      name: manifest.workflow.name,
      group: manifest.group,
      packs: manifest.packs,
      ...(undecided ? { undecided } : { timeline: d.timeline }),
      ...lockOf(complianceLock(d.complianceFloor, opts.now)),
    });
  }
  return {
    now: opts.now,
    pricing: opts.pricing,
    workflows,
    packs,
    holds: opts.holds,
    unreadable,
    orphanRecords,
  };
}
