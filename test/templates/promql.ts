// What a PromQL expression reads, found structurally (no promtool here): the series selectors with the labels their
// matchers use, and the labels `by`/`without`/`on`/`ignoring` group on. Enough to check alert rules against the
// metrics Strata emits; not a PromQL parser.

export interface PromqlReads {
  /** Metric names, each with the label names its matchers use and the values its equality matchers want. */
  selectors: { metric: string; labels: string[]; equals: Record<string, string> }[];
  /** Labels named in by/without/on/ignoring/group_left/group_right clauses. */
  grouping: string[];
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;

export function promqlReads(expr: string): PromqlReads {
  const grouping: string[] = [];
  let text = expr.replace(GROUPING, (_m, _kw: string, labels: string) => {
    grouping.push(
      ...labels
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    return ' ';
  });
  // Range and subquery durations ([1h], [5m:30s]) and string literals outside matchers name no metric.
  text = text.replace(/\[[^\]]*\]/g, ' ');
  const selectors: PromqlReads['selectors'] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/[0-9.]/.test(c)) {
      // A number, possibly with an exponent or a duration unit (offset 5m): skip the whole token.
      const m = /[0-9.]+(e[+-]?[0-9]+)?[a-z]*/iy;
      m.lastIndex = i;
      i += m.exec(text)?.[0].length ?? 1;
      continue;
    }
    if (c === '{') {
      // A selector without a name before its matchers ({__name__="x"}): read the name from the matchers.
      const end = text.indexOf('}', i);
      const { labels, equals } = matchers(text.slice(i + 1, end));
      const name = equals.__name__;
      delete equals.__name__;
      if (name) selectors.push({ metric: name, labels: labels.filter((l) => l !== '__name__'), equals });
      i = end + 1;
      continue;
    }
    NAME.lastIndex = i;
    const m = NAME.exec(text);
    if (!m) {
      i++;
      continue;
    }
    const word = m[0];
    i += word.length;
    let j = i;
    while (text[j] === ' ') j++;
    if (text[j] === '(') continue; // a function or an aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    let found: ReturnType<typeof matchers> = { labels: [], equals: {} };
    if (text[j] === '{') {
      const end = text.indexOf('}', j);
      found = matchers(text.slice(j + 1, end));
      i = end + 1;
    }
    selectors.push({ metric: word, ...found });
  }
  return { selectors, grouping };
}

function matchers(body: string): { labels: string[]; equals: Record<string, string> } {
  const labels: string[] = [];
  const equals: Record<string, string> = {};
  for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
    labels.push(m[1]!);
    if (m[2] === '=') equals[m[1]!] = m[3]!;
  }
  return { labels, equals };
}
