// An entry's bytes as a reader asks for them: one byte range, or only the lines that contain a text (grep -n style).

export interface ByteSpan {
  start: number;
  /** Inclusive, as in Content-Range. */
  end: number;
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
