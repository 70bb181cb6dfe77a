// A log's bytes for an HTTP answer: one byte range of it, or only the lines that contain a text (grep -n style).

export interface ByteSpan {
  start: number;
  /** Inclusive, as in Content-Range. */
  end: number;
}

/**
 * Reads a Range header for a body of `size` bytes: a span, 'unsatisfiable', or undefined to send everything
 * (no header, another unit, or several ranges — which RFC 9110 lets a server answer with the whole body).
 */
export function parseRange(header: string | undefined, size: number): ByteSpan | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return undefined; // an invalid range is ignored (RFC 9110 14.2)
  return { start, end };
}

/** The bytes of `source` from span.start to span.end; stops reading (and closes the source) after the end. */
export async function* sliceBytes(source: AsyncIterable<Uint8Array>, span: ByteSpan): AsyncIterable<Uint8Array> {
  let at = 0;
  for await (const piece of source) {
    const from = Math.max(span.start - at, 0);
    const to = Math.min(span.end + 1 - at, piece.length);
    if (to > from) yield piece.subarray(from, to);
    at += piece.length;
    if (at > span.end) return;
  }
}

/** Lines containing `needle`, each as `<line number>:<line>\n`; memory bounded by the longest line. */
export async function* grepLines(source: AsyncIterable<Uint8Array>, needle: string): AsyncIterable<string> {
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let line = 0;
  for await (const piece of source) {
    const text = carry + decoder.decode(piece, { stream: true });
    const lines = text.split('\n');
    carry = lines.pop()!;
    for (const l of lines) {
      line++;
      if (l.includes(needle)) yield `${line}:${l}\n`;
    }
  }
  carry += decoder.decode();
  if (carry !== '') {
    line++;
    if (carry.includes(needle)) yield `${line}:${carry}\n`;
  }
}
