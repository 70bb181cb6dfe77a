// Verify, scrub and drill status for the dashboard, from the records those runs leave: their audit records
// (`action: verify`, written by `strata verify` with or without --scrub and by `strata drill`) and the scrub state
// in the store (verify/scrub/<group>.json: each pack's last whole read and whether it checked). Repository-wide
// facts (packs, coverage) are shown to every caller; a drill's workflows only of namespaces the caller may list.
import type { WrittenRecord } from '../../lib/audit/log-format.ts';
import { recentAuditRecords } from '../../lib/audit/recent-records.ts';
import { PACKS_PREFIX, parseGroupKey } from '../../lib/archive/repository.ts';
import { loadScrubState } from '../../lib/archive/scrub-state.ts';
import { retentionClassOf } from '../../lib/tier/lifecycle-config.ts';
import type { ObjectStore } from '../../lib/store/store.ts';

/** How long what was read is reused: the records change when a run ends (daily or weekly), not per request. */
export const VERIFY_STATUS_TTL_MS = 60_000;
const RUNS = 20;

export type VerifyKind = 'scrub' | 'drill' | 'read-data' | 'structure';

export interface DrilledWorkflow {
  manifestId: string;
  namespace: string;
  name: string;
  ok: boolean;
  problems?: string[];
}

export interface VerifyRun {
  at: string;
  actor: string;
  kind: VerifyKind;
  outcome: string;
  reason?: string;
  /** The run's numbers as it recorded them (packs read, problems, coverage, drill passed/failed …). */
  summary: Record<string, number>;
  /** Packs the run found corrupt (the first ones the record names). */
  corruptPacks?: string[];
  /** A drill's workflows the caller may see; `otherWorkflows` counts the rest. */
  workflows?: DrilledWorkflow[];
  otherWorkflows?: number;
}

export interface FailingPack {
  key: string;
  group: string;
  policy: string;
  /** When it was last read and failed (scrub), or the run that named it (verify --read-data). */
  at: string;
  source: 'scrub' | 'verify';
}

export interface VerifyStatus {
  runs: VerifyRun[];
  /** Older runs may exist beyond what was read (the dashboard reads the end of the log only). */
  truncated: boolean;
  lastScrub?: VerifyRun;
  lastDrill?: VerifyRun;
  scrub: { packsTracked: number; failedLastRead: number; stateWarnings: number };
  failingPacks: FailingPack[];
  readAt: string;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function numbers(o: unknown, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  if (!o || typeof o !== 'object') return out;
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    const n = num(v);
    if (n !== undefined) out[`${prefix}${k}`] = n;
  }
  return out;
}

interface Read {
  at: number;
  records: WrittenRecord[];
  truncated: boolean;
  failing: FailingPack[];
  scrub: VerifyStatus['scrub'];
}

export class VerifyStatusReader {
  private cached: Read | undefined;
  private pending: Promise<Read> | undefined;

  constructor(private readonly deps: { store(): Promise<ObjectStore>; now?: () => number }) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private async read(): Promise<Read> {
    if (this.cached && this.now() - this.cached.at < VERIFY_STATUS_TTL_MS) return this.cached;
    this.pending ??= (async () => {
      const store = await this.deps.store();
      const { records, truncated } = await recentAuditRecords(store, {
        keep: (r) => r.action === 'verify' && r.outcome !== 'started',
        limit: RUNS,
      });
      const state = await loadScrubState(store);
      const failing: FailingPack[] = [];
      for (const [key, r] of state.reads) {
        if (r.ok) continue;
        const group = parseGroupKey(PACKS_PREFIX, key)?.group ?? '';
        failing.push({ key, group, policy: retentionClassOf(group), at: r.at.toISOString(), source: 'scrub' });
      }
      return {
        at: this.now(),
        records,
        truncated,
        failing,
        scrub: { packsTracked: state.reads.size, failedLastRead: failing.length, stateWarnings: state.warnings.length },
      };
    })().finally(() => (this.pending = undefined));
    this.cached = await this.pending;
    return this.cached;
  }

  /** The status as a caller who may list `namespaces` sees it. */
  async status(namespaces: readonly string[]): Promise<VerifyStatus> {
    const read = await this.read();
    const visible = new Set(namespaces);
    const runs = read.records.map((r) => runOf(r, visible));
    const failing = [...read.failing];
    // A verify --read-data run without --scrub names corrupt packs only in its record.
    const lastReadData = runs.find((r) => r.kind === 'read-data' || r.kind === 'scrub');
    for (const key of lastReadData?.corruptPacks ?? []) {
      if (failing.some((f) => f.key === key)) continue;
      const group = parseGroupKey(PACKS_PREFIX, key)?.group ?? '';
      failing.push({ key, group, policy: retentionClassOf(group), at: lastReadData!.at, source: 'verify' });
    }
    const lastScrub = runs.find((r) => r.kind === 'scrub');
    const lastDrill = runs.find((r) => r.kind === 'drill');
    return {
      runs,
      truncated: read.truncated,
      ...(lastScrub && { lastScrub }),
      ...(lastDrill && { lastDrill }),
      scrub: read.scrub,
      failingPacks: failing.sort((a, b) => (a.key < b.key ? -1 : 1)),
      readAt: new Date(read.at).toISOString(),
    };
  }
}

function runOf(r: WrittenRecord, visible: ReadonlySet<string>): VerifyRun {
  const d = (r.details ?? {}) as Record<string, unknown>;
  const drill = d.drill as { workflows?: unknown; passed?: unknown; failed?: unknown; bytes?: unknown } | undefined;
  const kind: VerifyKind = drill
    ? 'drill'
    : d.scrub
      ? 'scrub'
      : (num(d.packsRead) ?? 0) > 0
        ? 'read-data'
        : 'structure';
  const run: VerifyRun = {
    at: r.at,
    actor: r.actor,
    kind,
    outcome: r.outcome,
    ...(r.reason !== undefined && kind !== 'drill' && { reason: r.reason }),
    summary: { ...numbers(d), ...numbers(d.scrub, 'scrub.'), ...(drill && numbers(drill)) },
  };
  if (Array.isArray(d.corruptPacks))
    run.corruptPacks = d.corruptPacks.filter((k): k is string => typeof k === 'string');
  if (drill && Array.isArray(drill.workflows)) {
    const all = drill.workflows as Array<Record<string, unknown>>;
    const mine = all.filter((w) => typeof w.namespace === 'string' && visible.has(w.namespace));
    run.workflows = mine.map((w) => ({
      manifestId: String(w.manifestId),
      namespace: String(w.namespace),
      name: String(w.name),
      ok: w.ok === true,
      ...(Array.isArray(w.problems) && { problems: w.problems.map(String) }),
    }));
    run.otherWorkflows = all.length - mine.length;
  }
  return run;
}
