// Reads a log segment's text back from the archive, for a compact catalog that keeps no copy of it: the log is
// streamed and cut exactly as the indexer cut it, and the segment starting at the asked line is returned.
import { StrataError } from '../errors.ts';
import { segmentLines, type TextSegment } from './log-segments.ts';
import type { ManifestSource } from './rebuild.ts';
import type { SegmentReader } from './sqlite.ts';

interface Cursor {
  key: string;
  segments: AsyncIterator<TextSegment>;
  /** The segment read last. */
  at?: TextSegment;
}

/** Stops a cursor's stream (the archive read behind it ends). */
function close(cursor: Cursor): void {
  cursor.segments.return?.().catch(() => {});
}

/**
 * A SegmentReader over the archive. A log is streamed only as far as the asked segment, and its stream is kept for
 * the next ask: the catalog reads a page's hits in log order, so a later segment of the same log continues where the
 * last one ended, and an earlier one (or another log) starts a stream of its own. One segment's text is held at most,
 * whatever the log's size.
 */
export function archiveSegmentReader(source: Pick<ManifestSource, 'openEntry'>): SegmentReader {
  let kept: Cursor | undefined;
  return async ({ manifestId, path, firstLine }) => {
    const key = `${manifestId}\u0000${path}`;
    let cursor: Cursor | undefined;
    // Taken out while in use: a search reading at the same time opens its own stream.
    if (kept?.key === key && (kept.at?.firstLine ?? 0) <= firstLine) [cursor, kept] = [kept, undefined];
    cursor ??= { key, segments: segmentLines(await source.openEntry(manifestId, path))[Symbol.asyncIterator]() };
    try {
      while ((cursor.at?.firstLine ?? 0) < firstLine) {
        const next = await cursor.segments.next();
        if (next.done) break;
        cursor.at = next.value;
      }
    } catch (err) {
      close(cursor);
      throw err;
    }
    const text = cursor.at?.firstLine === firstLine ? cursor.at.text : undefined;
    if (text === undefined) {
      close(cursor);
      throw new StrataError(
        `the archive's log has no segment starting at line ${firstLine} (the catalog is out of date: strata index --rebuild)`,
        { key: `${manifestId}/${path}` },
      );
    }
    if (kept) close(kept);
    kept = cursor;
    return text;
  };
}
