// Public API of the retention policy engine: load a policy set, build workflow facts, decide.
export { loadPolicySet, describeLocation, formatProblem, BUILTIN_DEFAULTS } from './compile.ts';
export type { PolicySet, CompiledRule, RetentionAction, TimelineStage } from './compile.ts';
export type { PolicyProblem, PolicySource, SourceLocation } from './configmap.ts';
export { workflowFacts, TIERS, COMPLETED_PHASES } from './facts.ts';
export type { WorkflowFacts, ArchiveFacts, Tier } from './facts.ts';
export { decideRetention } from './decide.ts';
export type { RetentionDecision, RetentionActionKind } from './decide.ts';
export { complianceLock, INDEFINITE_LOCK_WINDOW_DAYS, type ComplianceLock } from './compliance-lock.ts';
export { activeHolds, extendedUntil, NO_HOLDS } from './holds.ts';
export type { HoldRecord, ExtensionRecord, HoldsAndExtensions } from './holds.ts';
export { tierAt, type Timeline, type TierStay } from './timeline.ts';
export { POLICY_LABEL, POLICY_API_VERSION, POLICY_KIND } from './schema.ts';
