// The archived corpus as the cost report reads it: each manifest's workflow with its policy timeline and original
// size, and the repository's stored/original ratio (compression and dedup as measured, not assumed).
import { listManifests, readManifest } from '../archive/manifest-lookup.ts';
import { PACKS_PREFIX, type Repository } from '../archive/repository.ts';
import { decideRetention, NO_HOLDS, type PolicySet } from '../policy/index.ts';
import { manifestInput } from '../policy/inputs.ts';
import type { CostWorkflow } from './cost-report.ts';

export async function costCorpus(
  repo: Repository,
  policySet: PolicySet,
  now: Date,
): Promise<{ workflows: CostWorkflow[]; storedRatio: number; originalBytes: number; storedBytes: number }> {
  const workflows: CostWorkflow[] = [];
  let originalBytes = 0;
  for await (const info of listManifests(repo)) {
    const m = await readManifest(repo, info.id);
    const { facts, sizeBytes } = manifestInput(m, `manifest ${info.id}`);
    const d = decideRetention(policySet, facts, now, NO_HOLDS);
    originalBytes += sizeBytes;
    workflows.push({
      rule: d.failedClosed ? 'undecided (kept hot)' : (d.winningRule ?? 'defaults'),
      originalBytes: sizeBytes,
      ...(d.failedClosed || !d.timeline.archiveAt ? {} : { timeline: d.timeline }),
    });
  }
  let storedBytes = 0;
  for await (const o of repo.store.list(PACKS_PREFIX)) storedBytes += o.size;
  return { workflows, storedRatio: originalBytes ? storedBytes / originalBytes : 1, originalBytes, storedBytes };
}
