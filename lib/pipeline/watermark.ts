// The sweep watermark: the finishedAt up to which every workflow has been handled, so each sweep costs O(new workflows).

export interface Watermark {
  /** ISO time: every finished workflow with finishedAt before this was archived or deliberately skipped. */
  finishedBefore: string;
  /** uids finished exactly at `finishedBefore` that were already handled (timestamps have 1 s resolution). */
  handledAtEdge: string[];
}

export interface WatermarkStore {
  readonly description: string;
  read(): Promise<Watermark | undefined>;
  write(w: Watermark): Promise<void>;
}

/** Whether a workflow is new relative to the watermark (no watermark: everything is new). */
export function isPastWatermark(w: Watermark | undefined, finishedAt: string, uid: string): boolean {
  if (!w) return true;
  if (finishedAt > w.finishedBefore) return true;
  return finishedAt === w.finishedBefore && !w.handledAtEdge.includes(uid);
}

export interface SweepItem {
  uid: string;
  finishedAt: string;
  /** true when this sweep handled it (queued for archive or skipped for good); false when it must be seen again. */
  handled: boolean;
}

/**
 * Moves the watermark over the handled prefix only: a workflow deferred (policy says "not yet", or it failed)
 * holds the watermark before it, so it is looked at again next sweep. Never moves backwards.
 */
export function advanceWatermark(prev: Watermark | undefined, items: SweepItem[]): Watermark | undefined {
  const sorted = [...items].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt) || a.uid.localeCompare(b.uid));
  const firstPending = sorted.find((i) => !i.handled);
  const handled = sorted.filter((i) => i.handled && (!firstPending || i.finishedAt < firstPending.finishedAt));
  const top = handled.at(-1);
  if (!top) return prev;
  if (prev && top.finishedAt < prev.finishedBefore) return prev;
  const edge = handled.filter((i) => i.finishedAt === top.finishedAt).map((i) => i.uid);
  const carried = prev && prev.finishedBefore === top.finishedAt ? prev.handledAtEdge : [];
  return { finishedBefore: top.finishedAt, handledAtEdge: [...new Set([...carried, ...edge])].sort() };
}

export function parseWatermark(text: string | undefined): Watermark | undefined {
  if (!text) return undefined;
  const v = JSON.parse(text) as Partial<Watermark>;
  if (typeof v.finishedBefore !== 'string' || !Array.isArray(v.handledAtEdge)) return undefined;
  return { finishedBefore: v.finishedBefore, handledAtEdge: v.handledAtEdge.filter((u) => typeof u === 'string') };
}
