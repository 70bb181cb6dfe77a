// Log text as the catalog stores and shows it: control characters made visible, so hits, lines and snippets are right.

// C0 controls except tab and line feed, DEL, and C1 controls; a CR that ends a line (CRLF) is dropped instead.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * The text of a log segment as the catalog keeps it. SQLite's highlight() copies text as C strings, so a NUL cut
 * off everything up to the next match (wrong line, wrong snippet); U+0001/U+0002 are the catalog's own match marks;
 * and an ESC in a snippet would drive the reader's terminal. Controls become their Unicode pictures (␀, ␛, ␍),
 * C1 controls U+FFFD. Line feeds stay, so line numbers still count them as `grep -n` does, and the full-text
 * tokenizer treats the pictures as separators, as it treated the controls.
 */
export function visibleText(text: string): string {
  return text.replace(CONTROL, (c, at: number) => {
    const code = c.charCodeAt(0);
    if (c === '\r' && text[at + 1] === '\n') return '';
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    return code === 0x7f ? '\u2421' : '\ufffd';
  });
}

/**
 * Log text and full-text queries as the index sees them: both must pass through this one function, or a query
 * for text the index rewrote finds nothing. Sub-second digits of log timestamps (`…T04:11:30.843025308Z`) are
 * unique per line and were 94% of all distinct terms on the generated corpus; they become `0`, so a timestamp
 * matches at whole-second precision. Only `:SS.fZ` is needed to recognise one, so a query may start anywhere in
 * the timestamp. The token count stays the same, so highlight() on the stored text still marks the right words.
 * The Z is matched in either case because full-text matching ignores case.
 */
export function searchableText(text: string): string {
  return text.replace(/(:\d\d)\.\d+Z/gi, '$1.0Z');
}
