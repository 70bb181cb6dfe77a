// Reads what the log is checked against (lib/audit/cross-check.ts) from the repository: manifests, holds,
// releases, extensions and unfinished deletions.
import { readJournals } from '../archive/deletion-journal.ts';
import { listManifests } from '../archive/manifest-lookup.ts';
import type { Repository } from '../archive/repository.ts';
import { HoldRepository } from '../holds/hold-store.ts';
import { auditRecords } from '../audit/store-log.ts';
import { crossCheckLog, type CrossCheck, type StoreFacts } from '../audit/cross-check.ts';
import type { WrittenRecord } from '../audit/log-format.ts';

export async function readStoreFacts(repo: Repository): Promise<StoreFacts> {
  const manifests: string[] = [];
  for await (const m of listManifests(repo)) manifests.push(m.id);
  const holdRepo = new HoldRepository(repo.store);
  const holds = (await holdRepo.listHolds()).map((h) => ({
    uid: h.workflowUid,
    id: h.id,
    released: Boolean(h.released),
  }));
  const extensions = (await holdRepo.listExtensions()).map((e) => ({ uid: e.workflowUid, id: e.id }));
  const deletions = (await readJournals(repo)).journals.map((j) => ({ uid: j.uid, journal: j.id, kind: j.kind }));
  return { manifests, holds, extensions, deletions };
}

/**
 * The log, the store, then the log again, so acts beside the check are not taken for tampering: a manifest the first
 * reading says was archived must be in the store unless the second reading says it was deleted (deletions are
 * recorded before they begin), and an object in the store must be in the second reading.
 */
export async function crossCheckStore(repo: Repository): Promise<CrossCheck> {
  const archivedBefore = new Set<string>();
  for await (const r of auditRecords(repo.store)) {
    const id = r.action === 'archive' && r.outcome === 'ok' ? r.details?.manifestId : undefined;
    if (typeof id === 'string') archivedBefore.add(id);
  }
  const facts = await readStoreFacts(repo);
  const records: WrittenRecord[] = [];
  for await (const r of auditRecords(repo.store)) records.push(r);
  return crossCheckLog(records, facts, archivedBefore);
}
