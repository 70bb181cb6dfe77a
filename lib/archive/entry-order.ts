// The order in which a batch's entries are packed: alike files of different workflows next to each other.
import type { BundleEntry } from '../bundle/bundle.ts';

/**
 * What makes two entries alike: the same kind of file from the same template (an Argo node's template and
 * template scope, the container, the artifact name), or, for entries without a node, the same file name under the
 * same top directory. Logs of one template written by different workflows share most of their lines; packed next
 * to each other, one zstd frame sees them together (pods corpus: 0.1326 → 0.1231 of the original, docs/format.md).
 */
export function similarityKey(workflow: Record<string, unknown>, entry: BundleEntry): string {
  const status = workflow.status as { nodes?: Record<string, { templateName?: unknown; templateScope?: unknown }> };
  const node = entry.nodeId === undefined ? undefined : status?.nodes?.[entry.nodeId];
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const slash = entry.path.lastIndexOf('/');
  const top = entry.path.slice(0, Math.max(entry.path.indexOf('/'), 0));
  const place = node ? '' : `${top}/${entry.path.slice(slash + 1)}`;
  return [
    // Workflow objects first: a single workflow is then packed in its own entry order, as before grouping.
    entry.kind === 'workflow' ? '0' : `1${entry.kind}`,
    text(node?.templateScope),
    text(node?.templateName),
    entry.container ?? '',
    entry.artifactName ?? '',
    place,
  ].join('\0');
}

/**
 * Every entry of the given bundles as [bundle index, entry index], alike entries together; otherwise in bundle
 * order, then entry order (a stable sort), so the order, and with it the packs, depend only on the input.
 */
export function similarityOrder(
  bundles: ReadonlyArray<{ workflow: Record<string, unknown>; entries: readonly BundleEntry[] }>,
): Array<[number, number]> {
  const items: Array<{ key: string; at: [number, number] }> = [];
  bundles.forEach((b, i) => b.entries.forEach((e, j) => items.push({ key: similarityKey(b.workflow, e), at: [i, j] })));
  items.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return items.map((x) => x.at);
}
