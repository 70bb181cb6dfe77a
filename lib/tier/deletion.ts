// Deletes workflows' archives with proof: journal, manifests and refs and catalog rows, then the sweep of their packs
// (delete or repack), then a check that every deleted key is gone and an audit record listing what went.
import type { AuditLog } from '../audit/audit.ts';
import { recordIntent } from '../audit/write-ahead.ts';
import { decodeManifest } from '../archive/manifest.ts';
import { manifestKey, packKey, readObject, sealerRepository, type Repository } from '../archive/repository.ts';
import { refKeys, writeRefs } from '../archive/workflow-refs.ts';
import { AlreadyExistsError, describeError, NotFoundError } from '../errors.ts';
import { activeHolds, extendedUntil, type HoldsAndExtensions } from '../policy/holds.ts';
import {
  journalKey,
  newJournalId,
  readJournals,
  removeJournal,
  writeJournal,
  type DeletionJournal,
} from '../archive/deletion-journal.ts';
import { stillPresent, sweepPacks, type CatalogRows, type SweepReport } from './sweep.ts';

export interface DeletionRequest {
  kind: DeletionJournal['kind'];
  uid: string;
  namespace: string;
  name: string;
  manifests: string[];
  reason: string;
  actor: string;
  approver?: string;
  /** Emergency deletion over a legal hold (audited as such). */
  breakGlass?: boolean;
  /** The caller already wrote this deletion's `started` record (emergency delete does, before lifting locks). */
  intentRecorded?: boolean;
}

export interface DeletionOptions {
  audit: AuditLog;
  now: Date;
  /** Holds and extensions now: a deletion still being finished for a workflow held since is undone instead. */
  holds: HoldsAndExtensions;
  settleMs: number;
  catalog?: CatalogRows;
  sleep?: (ms: number) => Promise<void>;
}

export interface DeletionOutcome {
  uid: string;
  kind: DeletionJournal['kind'];
  /**
   * 'done': deleted and checked; 'pending': packs wait for a thaw (or the sweep failed), finished by a later run;
   * 'undone': a hold or extension came first, the manifests were put back; 'held': a hold came after some of its
   * packs were already gone, so the rest is kept and the deletion waits; 'unproven': a deleted key is still there.
   */
  outcome: 'done' | 'pending' | 'undone' | 'held' | 'unproven';
  manifests: string[];
  packsDeleted: string[];
  chunksDeleted: string[];
  repacked: Array<{ pack: string; into: string[]; dropped: string[] }>;
  superseded: Array<{ uid: string; from: string; to: string }>;
  stillPresent: string[];
  catalog: 'rows removed and checked' | 'no catalog here (rows go at the next strata index)';
  reason: string;
}

/** Why a deletion begun earlier must not be finished now, if it must not. */
function protection(j: DeletionJournal, holds: HoldsAndExtensions, now: Date): string | undefined {
  const held = activeHolds(holds.holds, j.uid, now);
  if (held.length && !(j.kind === 'emergency' && j.breakGlass)) return `legal hold ${held.map((h) => h.id).join(', ')}`;
  const ext = extendedUntil(holds.extensions, j.uid);
  if (j.kind === 'expiry' && ext && ext.until > now) return `extension until ${ext.until.toISOString()}`;
  return undefined;
}

/** Journals, then deletes the manifests (the commit point); packs are swept afterwards, for every journal at once. */
async function begin(repo: Repository, req: DeletionRequest, opts: DeletionOptions): Promise<DeletionJournal> {
  const manifests: DeletionJournal['manifests'] = [];
  const packs = new Set<string>();
  // The journal holds the manifests' bytes: sealed as they were (encrypted repositories: erasing the tenant reaches it).
  let owner = repo;
  for (const id of req.manifests) {
    let bytes: Buffer;
    try {
      bytes = await readObject(repo.store, manifestKey(id));
    } catch (err) {
      if (err instanceof NotFoundError) continue; // deleted meanwhile
      throw err;
    }
    const m = decodeManifest(id, bytes, manifestKey(id));
    if (m.workflow.uid !== req.uid) continue; // never delete another workflow's manifest, whatever was asked
    if (!manifests.length) owner = await sealerRepository(repo, manifestKey(id));
    manifests.push({ id, bytes: bytes.toString('base64') });
    for (const p of m.packs) packs.add(`${m.group}/${p}`);
  }
  const journal: DeletionJournal = {
    v: 1,
    id: newJournalId(opts.now),
    kind: req.kind,
    uid: req.uid,
    namespace: req.namespace,
    name: req.name,
    reason: req.reason,
    actor: req.actor,
    ...(req.approver ? { approver: req.approver } : {}),
    ...(req.breakGlass ? { breakGlass: true } : {}),
    startedAt: opts.now.toISOString(),
    manifests,
    packs: [...packs].sort(),
  };
  await writeJournal(owner, journal);
  return journal;
}

/** Deletes (again: idempotent) the journal's manifests, their refs and catalog rows. */
async function dropManifests(
  repo: Repository,
  j: DeletionJournal,
  catalog: CatalogRows | undefined,
): Promise<string[]> {
  const identity = { uid: j.uid, namespace: j.namespace, name: j.name };
  const keys = j.manifests.flatMap((m) => [manifestKey(m.id), ...refKeys(identity, m.id)]);
  await repo.store.delete(keys);
  for (const m of j.manifests) await catalog?.remove(m.id);
  return keys;
}

/**
 * Puts the journal's manifests and refs back, byte for byte, when every pack they reference is still there; false
 * (nothing put back) when a crashed sweep already took some, since a manifest must never point at nothing.
 */
async function undo(repo: Repository, j: DeletionJournal): Promise<boolean> {
  const identity = { uid: j.uid, namespace: j.namespace, name: j.name };
  for (const m of j.manifests) {
    const manifest = decodeManifest(m.id, Buffer.from(m.bytes, 'base64'), manifestKey(m.id));
    for (const p of manifest.packs) if (!(await repo.store.head(packKey(manifest.group, p)))) return false;
  }
  // Put back as the tenant that sealed the journal (the one whose manifests they were).
  const owner = await sealerRepository(repo, journalKey(j.uid, j.id));
  for (const m of j.manifests) {
    try {
      await owner.store.put(manifestKey(m.id), Buffer.from(m.bytes, 'base64'), {
        ifNoneMatch: true,
        contentType: 'application/json',
      });
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    await writeRefs(owner, identity, m.id);
  }
  await removeJournal(repo, j);
  return true;
}

/**
 * Carries out new deletions and finishes those a crashed run left (their journals). Holds and extensions are
 * checked for every journal before its packs are swept: one that protects the workflow now undoes the deletion.
 */
export async function deleteArchives(
  repo: Repository,
  requests: readonly DeletionRequest[],
  opts: DeletionOptions,
): Promise<{ outcomes: DeletionOutcome[]; unreadableJournals: string[] }> {
  const pending = await readJournals(repo);
  const journals = [...pending.journals];
  const admitted = requests.filter((req) => !protectionOfRequest(req, opts));
  // Every new deletion is recorded before any begins: one that cannot be recorded stops them all, nothing changed.
  for (const req of admitted) {
    if (req.intentRecorded) continue;
    await recordIntent(opts.audit, {
      action: req.kind === 'expiry' ? 'expire' : 'emergency-delete',
      actor: req.actor,
      subject: req.uid,
      reason: req.reason,
      ...(req.approver ? { approver: req.approver } : {}),
      details: {
        workflow: `${req.namespace}/${req.name}`,
        manifests: req.manifests,
        ...(req.breakGlass ? { breakGlass: true } : {}),
      },
    });
  }
  for (const req of admitted) journals.push(await begin(repo, req, opts));
  const outcomes: DeletionOutcome[] = [];
  const active: Array<{ j: DeletionJournal; keys: string[] }> = [];
  /** Packs of deletions that wait under a hold: no sweep touches them, whoever else used them. */
  const protectedPacks = new Set<string>();
  for (const j of journals) {
    const why = protection(j, opts.holds, opts.now);
    if (why) {
      const undone = await undo(repo, j);
      const reason = undone
        ? `${why} since the deletion began: manifests put back, nothing of it deleted`
        : `${why} since the deletion began, after some of its packs were deleted: the rest is kept, the deletion waits`;
      outcomes.push(empty(j, undone ? 'undone' : 'held', reason));
      if (!undone) for (const p of j.packs) protectedPacks.add(p);
      await opts.audit.record({
        action: j.kind === 'expiry' ? 'expire' : 'emergency-delete',
        actor: j.actor,
        subject: j.uid,
        outcome: 'refused',
        reason,
        details: { manifests: j.manifests.map((m) => m.id), journal: j.id },
      });
      continue;
    }
    active.push({ j, keys: await dropManifests(repo, j, opts.catalog) });
  }

  let sweep: SweepReport;
  try {
    const candidates = new Set(active.flatMap((a) => a.j.packs).filter((p) => !protectedPacks.has(p)));
    sweep = await sweepPacks(repo, [...candidates], {
      settleMs: opts.settleMs,
      catalog: opts.catalog,
      sleep: opts.sleep,
      now: opts.now,
    });
  } catch (err) {
    // The manifests are gone (committed); their packs stay for the next run, which reads the journals again.
    for (const { j } of active) outcomes.push(empty(j, 'pending', `sweep failed: ${describeError(err)}`));
    return { outcomes, unreadableJournals: pending.unreadable };
  }

  for (const { j, keys } of active) {
    const mine = new Set(j.packs);
    const waiting = sweep.waitingForRestore.filter((p) => mine.has(p));
    const locked = sweep.locked.filter((p) => mine.has(p));
    const deleted = sweep.deleted.filter((d) => mine.has(d.pack));
    const repacked = sweep.repacked.filter((r) => mine.has(r.pack));
    const left = [
      ...(await stillPresent(repo.store, keys)),
      ...sweep.stillPresent.filter((k) => [...mine].some((p) => k.includes(p.slice(p.indexOf('/') + 1)))),
    ];
    const indexed = opts.catalog ? await opts.catalog.manifestIds() : new Set<string>();
    const catalogLeft = j.manifests.filter((m) => indexed.has(m.id));
    const outcome: DeletionOutcome = {
      uid: j.uid,
      kind: j.kind,
      outcome: waiting.length || locked.length ? 'pending' : left.length || catalogLeft.length ? 'unproven' : 'done',
      manifests: j.manifests.map((m) => m.id),
      packsDeleted: deleted.map((d) => d.pack),
      chunksDeleted: [...new Set([...deleted.flatMap((d) => d.chunks), ...repacked.flatMap((r) => r.dropped)])],
      repacked: repacked.map((r) => ({ pack: r.pack, into: r.into, dropped: r.dropped })),
      superseded: sweep.superseded,
      stillPresent: [...left, ...catalogLeft.map((m) => `catalog rows of ${m.id}`)],
      catalog: opts.catalog ? 'rows removed and checked' : 'no catalog here (rows go at the next strata index)',
      reason: waiting.length
        ? `${waiting.length} pack(s) must thaw before their repack: ${waiting.join(', ')}`
        : locked.length
          ? `${locked.length} pack(s) under Object Lock (shared with a held or retained workflow) keep its chunks until the lock ends: ${locked.join(', ')}`
          : j.reason,
    };
    outcomes.push(outcome);
    if (outcome.outcome === 'pending') continue;
    await opts.audit.record({
      action: j.kind === 'expiry' ? 'expire' : 'emergency-delete',
      actor: j.actor,
      subject: j.uid,
      outcome: outcome.outcome === 'done' ? 'ok' : 'failed',
      reason: j.reason,
      ...(j.approver ? { approver: j.approver } : {}),
      details: {
        workflow: `${j.namespace}/${j.name}`,
        journal: j.id,
        startedAt: j.startedAt,
        ...(j.approver ? { approver: j.approver, breakGlass: Boolean(j.breakGlass) } : {}),
        manifests: outcome.manifests,
        refs: keys.filter((k) => !outcome.manifests.some((id) => k.endsWith(`manifests/${id}`))),
        packsDeleted: outcome.packsDeleted,
        chunksDeleted: outcome.chunksDeleted,
        repacked: outcome.repacked,
        superseded: outcome.superseded,
        check: {
          keysChecked: keys.length + sweep.deletedKeys.length,
          stillPresent: outcome.stillPresent,
          catalog: outcome.catalog,
        },
      },
    });
    if (outcome.outcome === 'done') await removeJournal(repo, j);
  }
  return { outcomes, unreadableJournals: pending.unreadable };
}

/** A new request for a workflow protected right now is never begun (the planner checked too; this is the backstop). */
function protectionOfRequest(req: DeletionRequest, opts: DeletionOptions): string | undefined {
  return protection(
    { kind: req.kind, uid: req.uid, breakGlass: req.breakGlass } as DeletionJournal,
    opts.holds,
    opts.now,
  );
}

function empty(j: DeletionJournal, outcome: DeletionOutcome['outcome'], reason: string): DeletionOutcome {
  return {
    uid: j.uid,
    kind: j.kind,
    outcome,
    manifests: j.manifests.map((m) => m.id),
    packsDeleted: [],
    chunksDeleted: [],
    repacked: [],
    superseded: [],
    stillPresent: [],
    catalog: 'no catalog here (rows go at the next strata index)',
    reason,
  };
}
