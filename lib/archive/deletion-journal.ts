// Deletion journals (lib/tier's expiry and emergency deletion): written before a workflow's manifests are deleted, removed once its packs are swept and the
// deletion is checked, so a run that dies half-way is finished by the next one. Each keeps the deleted manifests'
// bytes, so a hold placed before the sweep gets the workflow back whole.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ARCHIVE_PREFIX, HEX_ID, readObject, type Repository } from './repository.ts';
import { describeError, IntegrityError } from '../errors.ts';

/** `archive/deletions/<uid>/<journal id>` */
export const DELETIONS_PREFIX = `${ARCHIVE_PREFIX}deletions/`;

const journalSchema = z
  .object({
    v: z.literal(1),
    id: z.string(),
    kind: z.enum(['expiry', 'emergency']),
    uid: z.string().min(1),
    namespace: z.string(),
    name: z.string(),
    reason: z.string(),
    actor: z.string(),
    approver: z.string().optional(),
    breakGlass: z.boolean().optional(),
    startedAt: z.string(),
    /** The manifests being deleted, with their stored bytes (base64). */
    manifests: z.array(z.object({ id: z.string().regex(HEX_ID), bytes: z.string() }).strict()),
    /** `group/packId` of every pack the manifests referenced: the sweep's candidates. */
    packs: z.array(z.string()),
  })
  .strict();

export type DeletionJournal = z.infer<typeof journalSchema>;

export const journalKey = (uid: string, id: string) => `${DELETIONS_PREFIX}${uid}/${id}`;

export function newJournalId(now: Date): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
}

export async function writeJournal(repo: Repository, journal: DeletionJournal): Promise<void> {
  const body = Buffer.from(JSON.stringify(journal) + '\n');
  await repo.store.put(journalKey(journal.uid, journal.id), body, {
    ifNoneMatch: true,
    contentType: 'application/json',
  });
}

export interface PendingJournals {
  journals: DeletionJournal[];
  /** Journals that do not parse: their deletions cannot be finished safely, so nothing they name is swept. */
  unreadable: string[];
}

export async function readJournals(repo: Repository): Promise<PendingJournals> {
  const out: PendingJournals = { journals: [], unreadable: [] };
  for await (const info of repo.store.list(DELETIONS_PREFIX)) {
    try {
      const raw: unknown = JSON.parse((await readObject(repo.store, info.key)).toString('utf8'));
      const j = journalSchema.safeParse(raw);
      if (!j.success) throw new IntegrityError(`not a deletion journal: ${j.error.issues[0]?.message}`);
      if (journalKey(j.data.uid, j.data.id) !== info.key) throw new IntegrityError('journal is not at its own key');
      out.journals.push(j.data);
    } catch (err) {
      out.unreadable.push(`${info.key} (${describeError(err)})`);
    }
  }
  return out;
}

export async function removeJournal(repo: Repository, journal: DeletionJournal): Promise<void> {
  await repo.store.delete([journalKey(journal.uid, journal.id)]);
}
