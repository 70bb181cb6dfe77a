// The log against the store (pure: facts in, problems out): every manifest, hold, release, extension and deletion
// in the store is in the audit log, and every manifest the log says was archived is still there unless the log
// also says it was deleted (or rewritten by a repack).
import type { WrittenRecord } from './log-format.ts';

export interface StoreFacts {
  manifests: readonly string[];
  holds: ReadonlyArray<{ uid: string; id: string; released: boolean }>;
  extensions: ReadonlyArray<{ uid: string; id: string }>;
  /** Deletions begun and not finished (their journals). */
  deletions: ReadonlyArray<{ uid: string; journal: string; kind: 'expiry' | 'emergency' }>;
}

export interface CrossCheckProblem {
  /** The object (or the record's target) the problem is about. */
  key: string;
  message: string;
}

export interface CrossCheck {
  problems: CrossCheckProblem[];
  /** How many of each the check compared. */
  checked: { records: number; manifests: number; holds: number; extensions: number; deletions: number };
}

interface Superseded {
  from: string;
  to: string;
}

/** What the log says, indexed for the comparisons. */
class LogIndex {
  readonly archived = new Map<string, WrittenRecord>();
  readonly deleted = new Set<string>();
  readonly created = new Set<string>();
  readonly holdsSet = new Map<string, WrittenRecord>();
  readonly holdsReleased = new Set<string>();
  readonly extensions = new Set<string>();
  readonly deletionsBegun = new Set<string>();
  records = 0;

  add(r: WrittenRecord): void {
    this.records++;
    const d = (r.details ?? {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    // A `started` record was written before the act; the act may have happened (its closing record lost to a crash).
    const happened = r.outcome === 'ok' || r.outcome === 'started' || r.outcome === 'failed';
    switch (r.action) {
      case 'archive': {
        const id = str(d.manifestId);
        if (id && r.outcome === 'ok') this.archived.set(id, r);
        break;
      }
      case 'expire':
      case 'emergency-delete':
      case 'erase': {
        if (r.outcome !== 'refused') {
          for (const id of Array.isArray(d.manifests) ? d.manifests : [])
            if (typeof id === 'string') this.deleted.add(id);
          this.deletionsBegun.add(r.subject);
        }
        for (const s of (Array.isArray(d.superseded) ? d.superseded : []) as Superseded[]) {
          if (typeof s?.from === 'string') this.deleted.add(s.from);
          if (typeof s?.to === 'string') this.created.add(s.to);
        }
        break;
      }
      case 'hold-set': {
        const id = str(d.hold);
        if (id && happened && r.outcome !== 'failed') this.holdsSet.set(`${r.subject}/${id}`, r);
        break;
      }
      case 'hold-release': {
        const id = str(d.hold);
        if (id && happened && r.outcome !== 'failed') this.holdsReleased.add(`${r.subject}/${id}`);
        break;
      }
      case 'extend': {
        const id = str(d.extension);
        if (id && happened && r.outcome !== 'failed') this.extensions.add(`${r.subject}/${id}`);
        break;
      }
    }
  }
}

/**
 * `archivedBefore`: when the log was also read before the store (the store changing meanwhile), the manifests it
 * said were archived then; only those can be missing from the store (one archived after the store was read is not
 * in it yet). Without it, every archived manifest is expected.
 */
export function crossCheckLog(
  records: Iterable<WrittenRecord>,
  facts: StoreFacts,
  archivedBefore?: ReadonlySet<string>,
): CrossCheck {
  const log = new LogIndex();
  for (const r of records) log.add(r);
  const problems: CrossCheckProblem[] = [];
  const inStore = new Set(facts.manifests);
  for (const id of facts.manifests) {
    if (!log.archived.has(id) && !log.created.has(id)) {
      problems.push({
        key: `archive/manifests/${id}`,
        message: 'manifest in the store, but no archive of it is in the audit log',
      });
    }
  }
  for (const [id, r] of log.archived) {
    if (archivedBefore && !archivedBefore.has(id)) continue;
    if (!inStore.has(id) && !log.deleted.has(id)) {
      problems.push({
        key: `archive/manifests/${id}`,
        message: `manifest archived (${r.at}, workflow ${r.subject}) is gone, and no deletion of it is in the audit log`,
      });
    }
  }
  const heldNow = new Set<string>();
  for (const h of facts.holds) {
    const k = `${h.uid}/${h.id}`;
    heldNow.add(k);
    if (!log.holdsSet.has(k))
      problems.push({ key: `holds/${k}.json`, message: 'hold in the store, but not in the audit log' });
    if (h.released && !log.holdsReleased.has(k)) {
      problems.push({ key: `holds/${k}.release.json`, message: 'hold release in the store, but not in the audit log' });
    }
  }
  for (const [k, r] of log.holdsSet) {
    if (!heldNow.has(k) && r.outcome === 'ok') {
      problems.push({
        key: `holds/${k}.json`,
        message: `hold set (${r.at}, by ${r.actor}) is gone from the store; holds are never deleted`,
      });
    }
  }
  for (const e of facts.extensions) {
    const k = `${e.uid}/${e.id}`;
    if (!log.extensions.has(k))
      problems.push({ key: `extensions/${k}.json`, message: 'extension in the store, but not in the audit log' });
  }
  for (const j of facts.deletions) {
    if (!log.deletionsBegun.has(j.uid)) {
      problems.push({
        key: `archive/deletions/${j.uid}/${j.journal}`,
        message: `${j.kind} deletion of workflow ${j.uid} begun, but not in the audit log`,
      });
    }
  }
  return {
    problems,
    checked: {
      records: log.records,
      manifests: facts.manifests.length,
      holds: facts.holds.length,
      extensions: facts.extensions.length,
      deletions: facts.deletions.length,
    },
  };
}
