// Workflows waiting for a due time (archive not yet allowed, or a retry after an error): bounded, earliest first.

/** What a pending workflow costs in memory: its uid, when to look again, and where to read it then. */
export interface PendingWorkflow {
  uid: string;
  /** A Kubernetes object is read by namespace/name; the uid tells a recreated namesake apart. */
  namespace: string;
  name: string;
  /** Epoch milliseconds. */
  due: number;
  /** Failed attempts so far (decides the retry backoff); 0 when waiting for policy's due time. */
  attempts: number;
}

type HeapItem = { due: number; uid: string; seq: number };

export type ScheduleOutcome = 'added' | 'updated' | 'full';

/**
 * A min-heap on due time plus an index by uid. Rescheduling or removing leaves the old heap item behind (skipped
 * when it surfaces, compacted when garbage outgrows the live entries), so operations are O(log n) amortized.
 */
export class DelayQueue {
  private readonly entries = new Map<string, PendingWorkflow & { seq: number }>();
  private heap: HeapItem[] = [];
  private seq = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`pending limit must be a positive integer: ${limit}`);
  }

  get size(): number {
    return this.entries.size;
  }

  has(uid: string): boolean {
    return this.entries.has(uid);
  }

  get(uid: string): PendingWorkflow | undefined {
    const e = this.entries.get(uid);
    return e && { uid: e.uid, namespace: e.namespace, name: e.name, due: e.due, attempts: e.attempts };
  }

  /** Adds or moves a workflow's due time; a new one is refused (`full`) when the limit is reached. */
  schedule(entry: PendingWorkflow): ScheduleOutcome {
    const existed = this.entries.has(entry.uid);
    if (!existed && this.entries.size >= this.limit) return 'full';
    const seq = ++this.seq;
    this.entries.set(entry.uid, { ...entry, seq });
    this.push({ due: entry.due, uid: entry.uid, seq });
    this.compactIfSparse();
    return existed ? 'updated' : 'added';
  }

  remove(uid: string): boolean {
    const removed = this.entries.delete(uid);
    if (removed) this.compactIfSparse();
    return removed;
  }

  /** Earliest due time (epoch ms), or undefined when nothing is pending. */
  nextDue(): number | undefined {
    this.dropStale();
    return this.heap[0]?.due;
  }

  /** Removes and returns every workflow due at or before `now`, earliest first. */
  takeDue(now: number): PendingWorkflow[] {
    const out: PendingWorkflow[] = [];
    for (this.dropStale(); this.heap.length && this.heap[0]!.due <= now; this.dropStale()) {
      const item = this.pop()!;
      const entry = this.entries.get(item.uid)!;
      this.entries.delete(item.uid);
      out.push({
        uid: entry.uid,
        namespace: entry.namespace,
        name: entry.name,
        due: entry.due,
        attempts: entry.attempts,
      });
    }
    return out;
  }

  /** Makes every pending workflow due at `now` (a policy change: each is decided again at once). */
  dueAll(now: number): void {
    for (const e of [...this.entries.values()]) this.schedule({ ...e, due: Math.min(e.due, now) });
  }

  private live(item: HeapItem): boolean {
    return this.entries.get(item.uid)?.seq === item.seq;
  }

  private dropStale(): void {
    while (this.heap.length && !this.live(this.heap[0]!)) this.pop();
  }

  /** Stale items (rescheduled or removed entries) never outnumber live ones by much: memory stays O(limit). */
  private compactIfSparse(): void {
    if (this.heap.length <= 2 * this.entries.size + 64) return;
    this.heap = this.heap.filter((i) => this.live(i));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private push(item: HeapItem): void {
    this.heap.push(item);
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private pop(): HeapItem | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (this.heap.length && last) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.heap.length && this.less(l, m)) m = l;
      if (r < this.heap.length && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.due < y.due || (x.due === y.due && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    [this.heap[a], this.heap[b]] = [this.heap[b]!, this.heap[a]!];
  }
}
