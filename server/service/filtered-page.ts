// One page of a CEL-filtered list: the catalog's keyset pages are read in batches and the filter kept or dropped
// each row, until the page is full, the rows end, or the scan budget is spent (then the page may be short, or empty,
// and still carry a cursor: the client follows it). A filter only ever drops rows of the query it is given, so it
// cannot widen the namespaces the caller may see.
import type { Catalog, CatalogWorkflow, PageKey, WorkflowPage, WorkflowPageQuery } from '../../lib/catalog/catalog.ts';
import type { RowFilter } from '../api/cel-filter.ts';

/** Rows read at most for one page. */
export const MAX_FILTER_SCAN = 20_000;
const MIN_BATCH = 250;

export async function filteredPage(
  catalog: Catalog,
  query: Omit<WorkflowPageQuery, 'after' | 'limit'>,
  after: PageKey | undefined,
  limit: number,
  keep: RowFilter,
  maxScan = MAX_FILTER_SCAN,
): Promise<WorkflowPage> {
  const items: CatalogWorkflow[] = [];
  let from = after;
  let scanned = 0;
  for (;;) {
    const remaining = limit - items.length;
    const size = Math.max(1, Math.min(Math.max(remaining, MIN_BATCH), maxScan - scanned));
    const page = await catalog.page({ ...query, ...(from && { after: from }), limit: size });
    const kept = page.items.filter(keep);
    if (kept.length > remaining) {
      // The page ends inside this batch, at the row of the last match it takes; the adapters' keys are their own,
      // so read the batch again up to that row to get its key (same query, same order).
      const through = page.items.indexOf(kept[remaining - 1]!) + 1;
      const exact = await catalog.page({ ...query, ...(from && { after: from }), limit: through });
      items.push(...exact.items.filter(keep).slice(0, remaining));
      return { items, ...(exact.last && { last: exact.last }) };
    }
    items.push(...kept);
    scanned += page.items.length;
    if (!page.last) return { items };
    from = page.last;
    if (items.length === limit || scanned >= maxScan) return { items, last: from };
  }
}
