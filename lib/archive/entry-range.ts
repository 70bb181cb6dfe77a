// One byte range of an archived entry, read from the chunk that holds its first byte. Chunk lengths come from the
// pack tables (small, cached), so the last page of a 100 MB log costs those tables and the frames of that page, not
// every frame before it. No format change: the manifest names the chunks, the pack table knows their lengths.
import { IntegrityError } from '../errors.ts';
import type { Manifest, ManifestEntry } from './manifest.ts';
import { PackReader } from './pack-reader.ts';
import { packKey, type Repository } from './repository.ts';

export interface EntrySpan {
  start: number;
  /** Inclusive, as in Content-Range. */
  end: number;
}

/** Each chunk's [start, end) offset in the entry, checked to add up to the entry's size before any byte is read. */
export async function chunkOffsets(
  manifest: Manifest,
  entry: ManifestEntry,
  reader: PackReader,
): Promise<Array<{ start: number; end: number }>> {
  const out: Array<{ start: number; end: number }> = [];
  let at = 0;
  for (const [p, id] of entry.chunks) {
    const packId = manifest.packs[p];
    if (packId === undefined)
      throw new IntegrityError(`entry ${entry.path} names pack #${p}, which the manifest lacks`);
    const c = (await reader.table(manifest.group, packId)).byId.get(id);
    if (!c)
      throw new IntegrityError(`chunk ${id} of ${entry.path} is not in the pack`, {
        key: packKey(manifest.group, packId),
      });
    out.push({ start: at, end: at + c.length });
    at += c.length;
  }
  if (at !== entry.size)
    throw new IntegrityError(`the chunks of ${entry.path} add up to ${at} bytes, the manifest says ${entry.size}`);
  return out;
}

/**
 * The bytes of `span` (clamped to the entry), every chunk read checked against its id. The whole entry's SHA-256
 * cannot be checked on a part; the chunk ids are, and the manifest that lists them is itself content-addressed.
 */
export async function* entryRange(
  repo: Repository,
  manifest: Manifest,
  entry: ManifestEntry,
  span: EntrySpan,
  reader = new PackReader(repo),
): AsyncIterable<Uint8Array> {
  const offsets = await chunkOffsets(manifest, entry, reader);
  const end = Math.min(span.end, entry.size - 1);
  // Binary search for the first chunk ending after span.start.
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid]!.end <= span.start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < offsets.length && offsets[i]!.start <= end; i++) {
    const [p, id] = entry.chunks[i]!;
    const data = await reader.chunk(manifest.group, manifest.packs[p]!, id);
    const o = offsets[i]!;
    yield data.subarray(Math.max(0, span.start - o.start), Math.min(data.length, end + 1 - o.start));
  }
}
