// A full-text hit's place and snippet, computed from the segment's text by the one query matcher: every backend
// reports the same line, snippet and highlights, and an index that only narrows (no positions, blooms) is confirmed.
import type { TextHit } from './catalog.ts';
import { logTokens, matchText, type TextQuery } from './text-query.ts';

const SNIPPET_WIDTH = 160;

export interface SegmentMatch {
  /** Lines before the one holding the first match (add to the segment's first line). */
  lineOffset: number;
  /** The line around the first match, matches between « and ». */
  snippet: string;
  snippetText: string;
  highlights: Array<[number, number]>;
}

/** Where `query` matches in a segment's stored text, or undefined when it does not match there. */
export function matchSegment(query: TextQuery, text: string): SegmentMatch | undefined {
  const spans = matchText(query, logTokens(text));
  if (!spans) return undefined;
  spans.sort((a, b) => a[0] - b[0]);
  const first = spans[0];
  if (!first) return undefined;
  let lineOffset = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < first[0]; i = text.indexOf('\n', i + 1)) lineOffset++;
  const lineStart = text.lastIndexOf('\n', first[0]) + 1;
  const nl = text.indexOf('\n', first[0]);
  const lineEnd = nl < 0 ? text.length : nl;
  const from = lineStart + Math.max(0, first[0] - lineStart - SNIPPET_WIDTH / 2);
  const to = Math.min(lineEnd, from + SNIPPET_WIDTH);
  const lead = from > lineStart ? '…' : '';
  let snippetText = lead + text.slice(from, to);
  if (to < lineEnd) snippetText += '…';
  const trimmed = snippetText.trimEnd();
  const highlights: Array<[number, number]> = [];
  let last = -1;
  for (const [s, e] of spans) {
    if (s < from || e > to || s < last) continue;
    highlights.push([s - from + lead.length, e - from + lead.length]);
    last = e;
  }
  snippetText = trimmed;
  let snippet = '';
  let at = 0;
  for (const [s, e] of highlights) {
    snippet += snippetText.slice(at, s) + '«' + snippetText.slice(s, e) + '»';
    at = e;
  }
  snippet += snippetText.slice(at);
  return { lineOffset, snippet, snippetText, highlights };
}

/** Where a matched segment lies, as a backend reads it from its row (absent node or container: null or undefined). */
export interface SegmentPlace {
  manifestId: string;
  uid: string;
  namespace: string;
  name: string;
  nodeId?: string | null | undefined;
  container?: string | null | undefined;
  path: string;
  firstLine: number;
}

/** The hit every backend reports for a segment the matcher confirmed. */
export function textHit(at: SegmentPlace, match: SegmentMatch): TextHit {
  return {
    manifestId: at.manifestId,
    uid: at.uid,
    namespace: at.namespace,
    name: at.name,
    ...(at.nodeId != null && { nodeId: at.nodeId }),
    ...(at.container != null && { container: at.container }),
    path: at.path,
    line: at.firstLine + match.lineOffset,
    snippet: match.snippet,
    snippetText: match.snippetText,
    highlights: match.highlights,
  };
}

/** A segment row as the SQL backends (SQLite, PostgreSQL) select it. */
export interface SegmentRowPlace {
  manifest_id: string;
  uid: string;
  namespace: string;
  name: string;
  node_id: string | null;
  container: string | null;
  path: string;
  first_line: number;
}

export function placeOfRow(r: SegmentRowPlace): SegmentPlace {
  return {
    manifestId: r.manifest_id,
    uid: r.uid,
    namespace: r.namespace,
    name: r.name,
    nodeId: r.node_id,
    container: r.container,
    path: r.path,
    firstLine: r.first_line,
  };
}
