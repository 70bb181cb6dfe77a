// What the archive knows and decides about one workflow, for a caller who may open it: the policy's explanation
// (lib/policy's explainRetention, on what the manifest recorded, as `strata tier` decides), the timeline (tier records,
// holds, extensions, what the policy plans next) and the audit records about it.
import { readManifest } from '../../lib/archive/manifest-lookup.ts';
import type { Manifest } from '../../lib/archive/manifest.ts';
import { packKey, type Repository } from '../../lib/archive/repository.ts';
import type { WrittenRecord } from '../../lib/audit/log-format.ts';
import { recordView, type RecordView } from '../../lib/audit/reports.ts';
import type { CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import { formatProblem, type PolicySet } from '../../lib/policy/index.ts';
import { explainRetention, type Explanation } from '../../lib/policy/explain.ts';
import { activeHolds, type HoldsAndExtensions } from '../../lib/policy/holds.ts';
import { manifestInput } from '../../lib/policy/inputs.ts';
import { workflowTimeline, type WorkflowTimeline } from '../../lib/tier/workflow-timeline.ts';

import type { Caller } from '../auth/access.ts';
import type { ArchiveService } from './archive-service.ts';

export type { TimelineEvent, WorkflowTimeline } from '../../lib/tier/workflow-timeline.ts';

export interface RetentionViewDeps {
  archive: ArchiveService;
  repository(): Promise<Repository>;
  holds(workflowUid: string): Promise<HoldsAndExtensions>;
  /** The policies in force now (`strata serve --policy`, re-read when they change); built-in defaults without any. */
  policySet(): PolicySet;
  /** Every audit record, oldest first (the store's log, sealed then pending). */
  auditRecords(): AsyncIterable<WrittenRecord>;
  now?: () => Date;
}

export interface PolicyExplanation {
  workflow: Explanation['workflow'];
  policy: { valid: boolean; problems: string[] };
  action: string;
  targetTier?: string;
  winningRule?: string;
  matchedRules: string[];
  reasons: string[];
  failedClosed: boolean;
  complianceClass?: string;
  complianceFloor?: string;
  group: string;
  destination?: string;
  deleteSourceAfterArchive: boolean;
  extendedUntil?: string;
  rules: Explanation['rules'];
  schedule: Explanation['dates'];
  activeHolds: string[];
}

/** An audit record as a workflow's page shows it. */
export type AuditEvent = RecordView;

export class RetentionView {
  private readonly now: () => Date;

  constructor(private readonly deps: RetentionViewDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private async opened(caller: Caller, manifestId: string): Promise<{ row: CatalogWorkflow; manifest: Manifest }> {
    const row = await this.deps.archive.readableWorkflow(caller, manifestId);
    return { row, manifest: await readManifest(await this.deps.repository(), manifestId) };
  }

  /** Every rule's verdict, the winner and why, the dates it gives, and the holds and extensions that weigh in. */
  async explain(caller: Caller, manifestId: string): Promise<PolicyExplanation> {
    const { row, manifest } = await this.opened(caller, manifestId);
    return this.explained(row, manifest, await this.deps.holds(row.uid));
  }

  private explained(row: CatalogWorkflow, manifest: Manifest, holds: HoldsAndExtensions): PolicyExplanation {
    const set = this.deps.policySet();
    const now = this.now();
    const { facts } = manifestInput(manifest, `manifest ${row.manifestId}`);
    const e = explainRetention(set, facts, now, holds);
    const d = e.decision;
    const floor = d.complianceFloor;
    return {
      workflow: e.workflow,
      policy: { valid: set.valid, problems: set.problems.map(formatProblem) },
      action: d.action,
      ...(d.targetTier && { targetTier: d.targetTier }),
      ...(d.winningRule && { winningRule: d.winningRule }),
      matchedRules: d.matchedRules,
      reasons: d.reasons,
      failedClosed: Boolean(d.failedClosed),
      ...(d.complianceClass && { complianceClass: d.complianceClass }),
      ...(floor && { complianceFloor: floor === 'indefinite' ? 'indefinite' : floor.toISOString() }),
      group: d.group,
      ...(d.destination && { destination: d.destination }),
      deleteSourceAfterArchive: d.deleteSourceAfterArchive,
      ...(d.extendedUntil && { extendedUntil: d.extendedUntil.toISOString() }),
      rules: e.rules,
      schedule: Object.fromEntries(Object.entries(e.dates).filter(([, v]) => v !== undefined)) as Explanation['dates'],
      activeHolds: activeHolds(holds.holds, row.uid, now).map((h) => h.id),
    };
  }

  /** What happened to the workflow's archive and what the policy plans next, in time order. */
  async timeline(caller: Caller, manifestId: string): Promise<WorkflowTimeline> {
    const { row, manifest } = await this.opened(caller, manifestId);
    const holds = await this.deps.holds(row.uid);
    const { schedule } = this.explained(row, manifest, holds);
    return workflowTimeline(await this.deps.repository(), manifest, { holds, schedule, now: this.now() });
  }

  /**
   * The newest `limit` audit records about the workflow (its uid, this manifest, its packs, or a search that
   * returned it), newest first. Reads the whole log: cost grows with the log, memory stays at `limit` records.
   */
  async auditEvents(caller: Caller, manifestId: string, limit: number): Promise<AuditEvent[]> {
    const { row, manifest } = await this.opened(caller, manifestId);
    const subjects = new Set([row.uid, manifestId, ...manifest.packs.map((p) => packKey(manifest.group, p))]);
    const kept: AuditEvent[] = [];
    for await (const r of this.deps.auditRecords()) {
      const manifests = r.details?.manifests;
      const about =
        subjects.has(r.subject) ||
        r.details?.manifestId === manifestId ||
        (Array.isArray(manifests) && manifests.includes(manifestId));
      if (!about) continue;
      kept.push(recordView(r));
      if (kept.length > limit) kept.shift();
    }
    // Pending records follow the sealed ones in key order, which is not quite time order across writers.
    return kept.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  }
}
