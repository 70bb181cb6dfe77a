// The newest audit records that match, newest first, read from the end of the log: pending records, then sealed
// segments from the newest tree head back, within a budget (a dashboard asks "the last verify runs", never the
// whole history, and must not read a log of millions of records to answer).
import type { ObjectStore } from '../store/store.ts';
import {
  HEAD_PREFIX,
  LEGACY_PREFIX,
  parseWrittenRecord,
  PENDING_PREFIX,
  seqOfHeadKey,
  type WrittenRecord,
} from './log-format.ts';
import { readObject } from '../store/read-whole.ts';
import { readHead, segmentEntries } from './store-log.ts';

export interface RecentRecordsOptions {
  keep(record: WrittenRecord): boolean;
  /** Records returned at most. */
  limit: number;
  /** Sealed segments read at most (each holds up to SEGMENT_RECORDS records). */
  maxSegments?: number;
  /** Pending (not yet sealed) record objects read at most, newest first. */
  maxPending?: number;
}

export interface RecentRecords {
  records: WrittenRecord[];
  /** True when the budget ran out before the log's start: older matches may exist. */
  truncated: boolean;
}

const PENDING_READS_AT_ONCE = 16;

const byNewest = (a: WrittenRecord, b: WrittenRecord) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0);

export async function recentAuditRecords(store: ObjectStore, opts: RecentRecordsOptions): Promise<RecentRecords> {
  const maxSegments = opts.maxSegments ?? 8;
  const maxPending = opts.maxPending ?? 2000;
  let truncated = false;
  const pendingKeys: Array<{ key: string; at: number }> = [];
  for (const prefix of [PENDING_PREFIX, LEGACY_PREFIX])
    for await (const o of store.list(prefix)) pendingKeys.push({ key: o.key, at: o.lastModified?.getTime() ?? 0 });
  pendingKeys.sort((a, b) => b.at - a.at);
  if (pendingKeys.length > maxPending) truncated = true;
  const found: WrittenRecord[] = [];
  // Pending records are one object each: read a few at once (a store answers each GET in tens of milliseconds).
  const keys = pendingKeys.slice(0, maxPending);
  for (let i = 0; i < keys.length; i += PENDING_READS_AT_ONCE) {
    const texts = await Promise.all(
      keys.slice(i, i + PENDING_READS_AT_ONCE).map(({ key }) =>
        readObject(store, key).then(
          (b) => b.toString('utf8'),
          () => undefined, // sealed and removed meanwhile: its segment has it
        ),
      ),
    );
    for (const text of texts) {
      const r = text === undefined ? undefined : parseWrittenRecord(text);
      if (r && opts.keep(r)) found.push(r);
    }
  }
  const heads: string[] = [];
  for await (const o of store.list(HEAD_PREFIX)) if (seqOfHeadKey(o.key) !== undefined) heads.push(o.key);
  heads.sort().reverse();
  const seen = new Set(found.map((r) => `${r.writer}/${r.seq}/${r.at}`));
  let segments = 0;
  for (const key of heads) {
    if (found.length >= opts.limit) break;
    if (segments >= maxSegments) {
      truncated = true;
      break;
    }
    segments++;
    const head = await readHead(store, key);
    for (const e of await segmentEntries(store, head.segment.key)) {
      if ('unreadable' in e.record) continue;
      const id = `${e.record.writer}/${e.record.seq}/${e.record.at}`;
      if (seen.has(id) || !opts.keep(e.record)) continue; // a pending object sealed while we read
      seen.add(id);
      found.push(e.record);
    }
  }
  return { records: found.sort(byNewest).slice(0, opts.limit), truncated };
}
