// Verifies one workflow's manifest before finalize trusts it: id and schema, then every entry read back against its hash.
import { createHash } from 'node:crypto';
import type { Repository } from '../archive/repository.ts';
import { readManifest } from '../archive/manifest-lookup.ts';
import { streamEntry } from '../archive/restorer.ts';
import { describeError, NotFoundError } from '../errors.ts';
import type { ManifestCheck } from './finalize.ts';

export async function checkManifest(repo: Repository, id: string): Promise<ManifestCheck> {
  const check: ManifestCheck = { id, exists: false, verified: false, problems: [], missing: 0 };
  let manifest;
  try {
    manifest = await readManifest(repo, id);
  } catch (err) {
    if (err instanceof NotFoundError) return check;
    check.exists = true;
    check.problems.push(describeError(err));
    return check;
  }
  check.exists = true;
  check.workflowUid = manifest.workflow.uid;
  check.workflowNamespace = manifest.workflow.namespace;
  check.workflowName = manifest.workflow.name;
  check.finishedAt = manifest.workflow.finishedAt;
  check.missing = manifest.missing.length;
  for (const entry of manifest.entries) {
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of streamEntry(repo, manifest, entry)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      const sha = hash.digest('hex');
      if (size !== entry.size || sha !== entry.sha256) {
        check.problems.push(
          `${entry.path}: read back ${size} bytes sha256 ${sha.slice(0, 12)}…, manifest says ${entry.size} bytes ${entry.sha256.slice(0, 12)}…`,
        );
      }
    } catch (err) {
      check.problems.push(`${entry.path}: ${describeError(err)}`);
    }
  }
  check.verified = check.problems.length === 0;
  return check;
}
