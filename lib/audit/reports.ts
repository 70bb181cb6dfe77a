// Compliance reports built from the sealed audit log alone (pure: the verified log in, a report out): deletions in
// a period, the custody of one workflow, retention per class. Each names the tree head it was built from, and
// carries an inclusion proof for every record it cites, checkable with `strata audit check-proof`.
import type { LogEntry, TreeHead, WrittenRecord } from './log-format.ts';
import type { Hash } from './merkle.ts';
import { proveInclusion, type InclusionProofDoc } from './proof.ts';

export interface ReportLog {
  head: TreeHead;
  entries: readonly LogEntry[];
  leaves: readonly Hash[];
  signed: boolean;
}

export interface ReportBasis {
  /** The signed tree head the report was built from: the same log up to this head yields the same report. */
  head: { seq: number; size: number; root: string; at: string; keyId?: string };
  signed: boolean;
}

export interface ReportEvent {
  /** The record's index in the log (`strata audit prove <index>`). */
  index: number;
  at: string;
  action: string;
  outcome: string;
  actor: string;
  verified: boolean;
  subject: string;
  reason?: string;
  approver?: string;
  hashes?: string[];
  details?: Record<string, unknown>;
  proof: InclusionProofDoc;
}

const basisOf = (log: ReportLog): ReportBasis => ({
  head: {
    seq: log.head.seq,
    size: log.head.size,
    root: log.head.root,
    at: log.head.at,
    ...(log.head.signature && { keyId: log.head.signature.keyId }),
  },
  signed: log.signed,
});

function* records(log: ReportLog): Iterable<{ entry: LogEntry; record: WrittenRecord }> {
  for (const entry of log.entries) if (!('unreadable' in entry.record)) yield { entry, record: entry.record };
}

/** What a record says, as people read it: a report's event without its place in the log, hashes or proof. */
export type RecordView = Omit<ReportEvent, 'index' | 'hashes' | 'proof'>;

export function recordView(r: WrittenRecord): RecordView {
  return {
    at: r.at,
    action: r.action,
    outcome: r.outcome,
    actor: r.actor,
    verified: r.verified,
    subject: r.subject,
    ...(r.reason !== undefined && { reason: r.reason }),
    ...(r.approver !== undefined && { approver: r.approver }),
    ...(r.details !== undefined && { details: r.details }),
  };
}

function eventOf(log: ReportLog, entry: LogEntry, r: WrittenRecord): ReportEvent {
  return {
    index: entry.index,
    ...recordView(r),
    ...(r.hashes && { hashes: r.hashes }),
    proof: proveInclusion(entry, log.head, log.leaves),
  };
}

const detail = (r: WrittenRecord, key: string): unknown => (r.details as Record<string, unknown> | undefined)?.[key];
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export interface DeletionsReport {
  report: 'deletions';
  basis: ReportBasis;
  from: string;
  to: string;
  /** Finished deletions (expiry, emergency, gc of packs, source workflows deleted from the cluster) in the period. */
  deletions: Array<ReportEvent & { rule: string; manifests: string[] }>;
  /** Deletions begun in the period whose outcome is not in the log (yet). */
  unfinished: ReportEvent[];
  totals: Record<string, number>;
}

const DELETING = new Set(['expire', 'emergency-delete', 'gc', 'delete-source', 'delete-originals']);

export function buildDeletionsReport(log: ReportLog, from: Date, to: Date): DeletionsReport {
  const inPeriod = (at: string) => {
    const t = new Date(at).getTime();
    return t >= from.getTime() && t < to.getTime();
  };
  const deletions: DeletionsReport['deletions'] = [];
  const started = new Map<string, ReportEvent>();
  for (const { entry, record: r } of records(log)) {
    if (!DELETING.has(r.action) || !inPeriod(r.at)) continue;
    const key = `${r.action} ${r.subject}`;
    if (r.outcome === 'started') {
      started.set(key, eventOf(log, entry, r));
      continue;
    }
    started.delete(key);
    if (r.outcome !== 'ok' && r.outcome !== 'failed') continue;
    if (r.action === 'gc' && !strings(detail(r, 'deleted')).length) continue;
    deletions.push({
      ...eventOf(log, entry, r),
      rule: r.reason ?? '',
      manifests: strings(detail(r, 'manifests')),
    });
  }
  const totals: Record<string, number> = {};
  for (const d of deletions) totals[d.action] = (totals[d.action] ?? 0) + 1;
  return {
    report: 'deletions',
    basis: basisOf(log),
    from: from.toISOString(),
    to: to.toISOString(),
    deletions,
    unfinished: [...started.values()],
    totals,
  };
}

export interface CustodyReport {
  report: 'custody';
  basis: ReportBasis;
  workflow: string;
  uids: string[];
  manifests: string[];
  /** Every record about the workflow, its manifests or its packs, collection to deletion, in log order. */
  events: ReportEvent[];
  /** The last word: archived and present, deleted (when, how), or never archived. */
  status: 'archived' | 'deleted' | 'not archived';
}

/** `workflow`: a uid, or namespace/name. */
export function buildCustodyReport(log: ReportLog, workflow: string): CustodyReport {
  const uids = new Set<string>();
  const manifests = new Set<string>();
  for (const { record: r } of records(log)) {
    if (r.action !== 'archive') continue;
    const named = `${String(detail(r, 'namespace'))}/${String(detail(r, 'name'))}`;
    if (r.subject === workflow || named === workflow) uids.add(r.subject);
  }
  if (!uids.size) uids.add(workflow);
  for (const { record: r } of records(log)) {
    const id = detail(r, 'manifestId');
    if (r.action === 'archive' && uids.has(r.subject) && typeof id === 'string') manifests.add(id);
  }
  const concerns = (r: WrittenRecord): boolean => {
    if (uids.has(r.subject) || manifests.has(r.subject)) return true;
    const uid = detail(r, 'uid');
    if (typeof uid === 'string' && uids.has(uid)) return true;
    if (strings(detail(r, 'workflows')).some((u) => uids.has(u))) return true;
    const manifest = detail(r, 'manifest') ?? detail(r, 'manifestId');
    if (typeof manifest === 'string' && manifests.has(manifest)) return true;
    return strings(detail(r, 'manifests')).some((m) => manifests.has(m));
  };
  const events: ReportEvent[] = [];
  let status: CustodyReport['status'] = 'not archived';
  for (const { entry, record: r } of records(log)) {
    if (!concerns(r)) continue;
    events.push(eventOf(log, entry, r));
    if (r.action === 'archive' && r.outcome === 'ok') status = 'archived';
    if ((r.action === 'expire' || r.action === 'emergency-delete') && r.outcome === 'ok' && uids.has(r.subject)) {
      status = 'deleted';
    }
  }
  return {
    report: 'custody',
    basis: basisOf(log),
    workflow,
    uids: [...uids],
    manifests: [...manifests],
    events,
    status,
  };
}

export interface RetentionRow {
  /** The archive group: the policy's retention class and archive period. */
  group: string;
  workflows: number;
  bytes: number;
  storedBytes: number;
  oldest?: string;
  deleted: number;
  held: number;
}

export interface RetentionReport {
  report: 'retention';
  basis: ReportBasis;
  classes: RetentionRow[];
  /** Holds in force at the head (set, not released). */
  holds: Array<{ workflow: string; hold: string; since: string; by: string; reason?: string }>;
  /** Deletions of a workflow under a hold in force, without break-glass: there should be none. */
  violations: ReportEvent[];
}

export function buildRetentionReport(log: ReportLog): RetentionReport {
  const archived = new Map<string, { group: string; at: string; bytes: number; storedBytes: number }>();
  const deleted = new Map<string, string>();
  const holds = new Map<string, RetentionReport['holds'][number]>();
  const violations: ReportEvent[] = [];
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  for (const { entry, record: r } of records(log)) {
    const key = (id: unknown) => `${r.subject}/${String(id)}`;
    if (r.action === 'archive' && r.outcome === 'ok') {
      const first = archived.get(r.subject);
      archived.set(r.subject, {
        group: String(detail(r, 'group') ?? first?.group ?? 'default'),
        at: first?.at ?? r.at,
        bytes: Math.max(first?.bytes ?? 0, num(detail(r, 'bytes'))),
        storedBytes: (first?.storedBytes ?? 0) + num(detail(r, 'newBytes')),
      });
      deleted.delete(r.subject);
    } else if (r.action === 'hold-set' && r.outcome === 'ok') {
      const hold = String(detail(r, 'hold'));
      holds.set(key(hold), {
        workflow: r.subject,
        hold,
        since: r.at,
        by: r.actor,
        ...(r.reason && { reason: r.reason }),
      });
    } else if (r.action === 'hold-release' && r.outcome === 'ok') {
      holds.delete(key(detail(r, 'hold')));
    } else if ((r.action === 'expire' || r.action === 'emergency-delete') && r.outcome === 'ok') {
      deleted.set(r.subject, r.at);
      const held = [...holds.values()].some((h) => h.workflow === r.subject);
      if (held && detail(r, 'breakGlass') !== true) violations.push(eventOf(log, entry, r));
    }
  }
  const rows = new Map<string, RetentionRow>();
  for (const [uid, a] of archived) {
    const row = rows.get(a.group) ?? { group: a.group, workflows: 0, bytes: 0, storedBytes: 0, deleted: 0, held: 0 };
    if (deleted.has(uid)) row.deleted++;
    else {
      row.workflows++;
      row.bytes += a.bytes;
      row.storedBytes += a.storedBytes;
      if (!row.oldest || a.at < row.oldest) row.oldest = a.at;
      if ([...holds.values()].some((h) => h.workflow === uid)) row.held++;
    }
    rows.set(a.group, row);
  }
  return {
    report: 'retention',
    basis: basisOf(log),
    classes: [...rows.values()].sort((a, b) => a.group.localeCompare(b.group)),
    holds: [...holds.values()],
    violations,
  };
}
