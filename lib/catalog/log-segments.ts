// Cuts a streamed log into bounded segments of whole lines for the full-text index, never holding the whole log.
import { StringDecoder } from 'node:string_decoder';

/** About 64 KiB of text per segment: small enough to bound memory, large enough to keep the index compact. */
export const SEGMENT_CHARS = 64 * 1024;

export interface TextSegment {
  /** 1-based number of the first line in this segment. */
  firstLine: number;
  text: string;
}

/**
 * Yields segments that end on a line break when one falls inside the window; a single line longer than
 * `maxChars` is cut into pieces (each piece starts a "line" for counting purposes only once).
 */
export async function* segmentLines(
  chunks: AsyncIterable<Buffer | Uint8Array | string>,
  maxChars = SEGMENT_CHARS,
): AsyncGenerator<TextSegment> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 1;
  const cut = function* (final: boolean): Generator<TextSegment> {
    while (pending.length >= maxChars || (final && pending.length > 0)) {
      let end: number;
      if (final && pending.length <= maxChars) end = pending.length;
      else {
        const nl = pending.lastIndexOf('\n', maxChars - 1);
        end = nl >= 0 ? nl + 1 : maxChars;
      }
      const text = pending.slice(0, end);
      pending = pending.slice(end);
      yield { firstLine: line, text };
      line += countNewlines(text);
    }
  };
  for await (const chunk of chunks) {
    pending +=
      typeof chunk === 'string' ? chunk : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    yield* cut(false);
  }
  pending += decoder.end();
  yield* cut(true);
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
