// Splits selected workflows into batches for Argo's `withParam` fan-out: one batch per pack group, bounded in size.

export interface SelectedWorkflow {
  namespace: string;
  name: string;
  uid: string;
  /** Timeline group from the policy decision (packs are grouped by it). */
  group: string;
}

/** One `withParam` item. Fields are strings so templates can pass them as flags unchanged. */
export interface Batch {
  id: string;
  group: string;
  count: number;
  /** `namespace/name` list, comma-separated. */
  workflows: string;
  /** uid list in the same order, comma-separated. */
  uids: string;
}

export function makeBatches(selected: SelectedWorkflow[], batchSize: number): Batch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const byGroup = new Map<string, SelectedWorkflow[]>();
  for (const s of selected) {
    const list = byGroup.get(s.group) ?? [];
    list.push(s);
    byGroup.set(s.group, list);
  }
  const batches: Batch[] = [];
  for (const group of [...byGroup.keys()].sort()) {
    const list = byGroup
      .get(group)!
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    for (let i = 0; i < list.length; i += batchSize) {
      const part = list.slice(i, i + batchSize);
      batches.push({
        id: `b${batches.length}`,
        group,
        count: part.length,
        workflows: part.map((s) => `${s.namespace}/${s.name}`).join(','),
        uids: part.map((s) => s.uid).join(','),
      });
    }
  }
  return batches;
}

/** Reads a batch's `workflows`/`uids` flags back into references; mismatched lengths are a usage error. */
export function parseBatchRefs(workflows: string, uids?: string): { namespace: string; name: string; uid?: string }[] {
  const refs = workflows
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const ids = uids ? uids.split(',').map((s) => s.trim()) : [];
  if (ids.length && ids.length !== refs.length) throw new RangeError(`${refs.length} workflows but ${ids.length} uids`);
  return refs.map((ref, i) => {
    const slash = ref.indexOf('/');
    if (slash <= 0 || slash === ref.length - 1) throw new RangeError(`workflow "${ref}" is not namespace/name`);
    return { namespace: ref.slice(0, slash), name: ref.slice(slash + 1), uid: ids[i] || undefined };
  });
}
