// An entry's bytes as a reader asks for them: a byte range (read from its chunk: lib/archive/entry-range.ts), or only
// the lines that contain a text (grep -n style).

export interface ByteSpan {
  start: number;
  /** Inclusive, as in Content-Range. */
  end: number;
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
