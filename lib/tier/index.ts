// The tier engine's public API: gather facts, plan, carry out.
export { gatherTierFacts, type GatherOptions, type GatheredFacts } from './facts.ts';
export {
  planTiering,
  wantedTier,
  type ArchivedWorkflow,
  type PackPlacement,
  type TierFacts,
  type TierPlan,
  type PackMove,
  type PackWait,
  type WorkflowExpiry,
  type PackDeletion,
  type PackRepack,
} from './plan.ts';
export { applyTierPlan, type TierRunOptions, type TierRunReport, type MoveOutcome } from './runner.ts';
export { tierClasses, tierOfClass } from './storage-class.ts';
export { monthlyCost, earlyDeletionCharge, moveCost, type MoveCost } from './cost.ts';
export { readPlacements, TIERS_PREFIX } from './placement.ts';
export { deleteArchives, type DeletionRequest, type DeletionOptions, type DeletionOutcome } from './deletion.ts';
export { sweepPacks, type SweepReport, type CatalogRows } from './sweep.ts';
export { DELETIONS_PREFIX, readJournals, type DeletionJournal } from '../archive/deletion-journal.ts';
export { enforceLocks, lockTargets, type LockReport, type LockTarget } from './object-lock.ts';
