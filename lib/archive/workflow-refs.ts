// Workflow refs: empty objects whose keys name a manifest by workflow uid and by name, so a lookup is one listing.
import type { WorkflowIdentity } from '../bundle/bundle.ts';
import { AlreadyExistsError } from '../errors.ts';
import { ARCHIVE_PREFIX, HEX_ID, type Repository } from './repository.ts';

/** `archive/refs/uid/<uid>/<manifest id>` */
export const UID_REFS_PREFIX = `${ARCHIVE_PREFIX}refs/uid/`;
/** `archive/refs/name/<name>/<namespace>/<manifest id>` (name first, so a bare name is one prefix too). */
export const NAME_REFS_PREFIX = `${ARCHIVE_PREFIX}refs/name/`;

/** Kubernetes names, namespaces and uids fit; anything else gets no ref (lookups then fall back to a scan). */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function refKeys(workflow: WorkflowIdentity, manifestId: string): string[] {
  const keys: string[] = [];
  if (SEGMENT.test(workflow.uid)) keys.push(`${UID_REFS_PREFIX}${workflow.uid}/${manifestId}`);
  if (SEGMENT.test(workflow.name) && SEGMENT.test(workflow.namespace)) {
    keys.push(`${NAME_REFS_PREFIX}${workflow.name}/${workflow.namespace}/${manifestId}`);
  }
  return keys;
}

/** Writes the refs of a committed manifest (after it, so a ref never names a manifest that is not there). */
export async function writeRefs(repo: Repository, workflow: WorkflowIdentity, manifestId: string): Promise<void> {
  await Promise.all(
    refKeys(workflow, manifestId).map(async (key) => {
      try {
        await repo.store.put(key, Buffer.alloc(0), { ifNoneMatch: true, contentType: 'application/octet-stream' });
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
    }),
  );
}

/**
 * Manifest ids the refs name for a uid, a name or namespace/name (possibly stale: the caller reads each and
 * skips the missing). Undefined when the text cannot be a ref at all.
 */
export async function manifestsByRef(repo: Repository, ref: string): Promise<string[] | undefined> {
  const parts = ref.split('/');
  const prefixes: string[] = [];
  if (parts.length === 1 && SEGMENT.test(ref)) prefixes.push(`${UID_REFS_PREFIX}${ref}/`, `${NAME_REFS_PREFIX}${ref}/`);
  else if (parts.length === 2 && parts.every((p) => SEGMENT.test(p))) {
    prefixes.push(`${NAME_REFS_PREFIX}${parts[1]}/${parts[0]}/`);
  } else return undefined;
  const ids = new Set<string>();
  for (const prefix of prefixes) {
    for await (const info of repo.store.list(prefix)) {
      const id = info.key.slice(info.key.lastIndexOf('/') + 1);
      if (HEX_ID.test(id)) ids.add(id);
    }
  }
  return [...ids];
}
