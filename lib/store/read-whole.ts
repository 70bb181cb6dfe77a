// Reading a stream or an object whole into memory: only for data of bounded size (config, manifests, indexes, one
// pack, records); anything unbounded is streamed instead.
import type { ByteRange, ObjectStore } from './store.ts';

export interface ReadWholeOptions {
  /** More than this many bytes fails with `tooLarge()` (the stream is destroyed), before it is all in memory. */
  maxBytes?: number;
  tooLarge?: () => Error;
}

/** Everything a stream yields (strings as UTF-8), as one buffer; a failing or oversized stream is destroyed. */
export async function readWhole(
  stream: AsyncIterable<unknown> & { destroy?: (err?: Error) => void },
  opts: ReadWholeOptions = {},
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const part of stream) {
      const buf = typeof part === 'string' ? Buffer.from(part) : (part as Buffer);
      size += buf.length;
      if (opts.maxBytes !== undefined && size > opts.maxBytes)
        throw opts.tooLarge?.() ?? new RangeError(`more than ${opts.maxBytes} bytes`);
      parts.push(buf);
    }
  } catch (err) {
    stream.destroy?.();
    throw err;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

/** The whole object at `key` (or a range of it). */
export async function readObject(store: ObjectStore, key: string, range?: ByteRange): Promise<Buffer> {
  return readWhole(await store.get(key, range));
}
