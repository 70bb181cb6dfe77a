// Reads a log segment's text back from the archive, for a compact catalog that keeps no copy of it: the log is
// streamed and cut exactly as the indexer cut it, and the segment starting at the asked line is returned.
import { StrataError } from '../errors.ts';
import { segmentLines } from './log-segments.ts';
import type { ManifestSource } from './rebuild.ts';
import type { SegmentReader } from './sqlite.ts';

/** A SegmentReader over the archive; keeps the last log's segments, since hits cluster in a few logs. */
export function archiveSegmentReader(source: Pick<ManifestSource, 'openEntry'>): SegmentReader {
  let cached: { key: string; segments: Map<number, string> } | undefined;
  return async ({ manifestId, path, firstLine }) => {
    const key = `${manifestId}\u0000${path}`;
    if (cached?.key !== key) {
      const segments = new Map<number, string>();
      for await (const s of segmentLines(await source.openEntry(manifestId, path))) segments.set(s.firstLine, s.text);
      cached = { key, segments };
    }
    const text = cached.segments.get(firstLine);
    if (text === undefined)
      throw new StrataError(
        `the archive's log has no segment starting at line ${firstLine} (the catalog is out of date: strata index --rebuild)`,
        { key: `${manifestId}/${path}` },
      );
    return text;
  };
}
