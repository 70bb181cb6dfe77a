// Legal holds and retention extensions as records, and which of them are in force at a given time (pure).

export interface HoldRecord {
  id: string;
  workflowUid: string;
  actor: string;
  /** True when the actor was verified by the Kubernetes API server; absent or false: taken on the caller's word. */
  actorVerified?: boolean;
  reason: string;
  created: string;
  /** Set when a release record exists; the hold record itself is never deleted. */
  released?: { actor: string; actorVerified?: boolean; reason: string; at: string };
  /**
   * Why the stored record (or its release) does not verify (unparsable, or its body names another workflow or id
   * than its key). Such a hold counts as active for the workflow its key names: a record that does not verify keeps
   * the data, and `strata verify` reports it.
   */
  unverified?: string;
}

export interface ExtensionRecord {
  id: string;
  workflowUid: string;
  actor: string;
  actorVerified?: boolean;
  reason: string;
  created: string;
  /** The archive is kept at least until this time. */
  until: string;
  /** Another person's approval, when the extension went beyond the limit that needs one (cluster mode). */
  approval?: { name: string; approver: string };
  /** Why the stored record does not verify; it then keeps the workflow indefinitely (until far in the future). */
  unverified?: string;
}

export interface HoldsAndExtensions {
  holds: HoldRecord[];
  extensions: ExtensionRecord[];
}

export const NO_HOLDS: HoldsAndExtensions = { holds: [], extensions: [] };

/**
 * A hold is in force until it is released. Its creation time is not checked against the clock: a hold that
 * exists must stop deletion even when a decision is computed for an earlier date (fail safe).
 */
export function activeHolds(holds: readonly HoldRecord[], uid: string, now: Date): HoldRecord[] {
  return holds.filter((h) => h.workflowUid === uid && inForce(h, now));
}

const inForce = (h: HoldRecord, now: Date) => !h.released || !(new Date(h.released.at) <= now);

/** The holds in force across all workflows, and how many workflows they keep (what the metrics report). */
export function holdCounts(holds: readonly HoldRecord[], now: Date): { activeHolds: number; heldWorkflows: number } {
  const active = holds.filter((h) => inForce(h, now));
  return { activeHolds: active.length, heldWorkflows: new Set(active.map((h) => h.workflowUid)).size };
}

/** The latest `until` among a workflow's extensions, or undefined. */
export function extendedUntil(
  extensions: readonly ExtensionRecord[],
  uid: string,
): { until: Date; by: ExtensionRecord } | undefined {
  let best: { until: Date; by: ExtensionRecord } | undefined;
  for (const e of extensions) {
    if (e.workflowUid !== uid) continue;
    const until = new Date(e.until);
    if (Number.isNaN(until.getTime())) continue;
    if (!best || until > best.until) best = { until, by: e };
  }
  return best;
}
