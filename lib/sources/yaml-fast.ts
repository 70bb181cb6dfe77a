// Loads a plain one-document YAML file with js-yaml (several times faster than the yaml library) when it uses
// nothing the two could read differently; the caller falls back to the yaml library whenever this declines.
import jsyaml from 'js-yaml';

/** The YAML 1.2 core schema scalars exactly as the yaml library resolves them (js-yaml's own accept more forms). */
const core = jsyaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    new jsyaml.Type('tag:yaml.org,2002:null', {
      kind: 'scalar',
      resolve: (s: string) => /^(?:~|[Nn]ull|NULL)?$/.test(s),
      construct: () => null,
    }),
    new jsyaml.Type('tag:yaml.org,2002:bool', {
      kind: 'scalar',
      resolve: (s: string) => /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s),
      construct: (s: string) => s[0] === 't' || s[0] === 'T',
    }),
    new jsyaml.Type('tag:yaml.org,2002:int', {
      kind: 'scalar',
      resolve: (s: string) => /^(?:0o[0-7]+|[-+]?[0-9]+|0x[0-9a-fA-F]+)$/.test(s),
      construct: (s: string) =>
        s.startsWith('0o') ? parseInt(s.slice(2), 8) : s.startsWith('0x') ? parseInt(s.slice(2), 16) : parseInt(s, 10),
    }),
    new jsyaml.Type('tag:yaml.org,2002:float', {
      kind: 'scalar',
      resolve: (s: string) =>
        /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/.test(
          s,
        ),
      construct: (s: string) =>
        /^[-+]?\.(?:inf|Inf|INF)$/.test(s)
          ? s[0] === '-'
            ? -Infinity
            : Infinity
          : /^\.(?:nan|NaN|NAN)$/.test(s)
            ? NaN
            : parseFloat(s),
    }),
  ],
});

/**
 * Text the fast path declines (conservatively; a false alarm only costs speed): anchors, aliases, tags and
 * directives at a node start, complex `?` keys, non-empty flow mappings, flow collections as keys, and block keys
 * that are not strings (null, booleans, numbers: the two libraries name such keys differently).
 */
const DECLINE = [
  /(?:^[ \t]*(?:-[ \t]+)*|[:?,[{][ \t]*|^---[ \t]+)[&*!%]/m,
  /^[ \t]*(?:-[ \t]+)*\?(?:[ \t]|$)/m,
  /\{[ \t]*[^}\s]/,
  /[\]}][ \t]*:(?:[ \t]|$)/m,
  /^[ \t]*(?:-[ \t]+)*(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE|[-+]?[0-9.][0-9a-zA-Z.+_-]*|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)?[ \t]*:(?:[ \t]|$)/m,
];

export interface FastDocument {
  value: unknown;
  /** 1-based line where the document's content starts (the yaml library's `contents.range[0]`). */
  line: number;
}

/** The one document of `text`, or undefined when the text needs the yaml library (or is not one plain document). */
export function loadPlainYaml(text: string): FastDocument | undefined {
  if (DECLINE.some((re) => re.test(text))) return undefined;
  const line = contentLine(text);
  if (line === undefined) return undefined;
  let docs: unknown[];
  try {
    docs = jsyaml.loadAll(text, undefined, { schema: core });
  } catch {
    return undefined; // malformed or duplicate keys: the yaml library reports it with its position
  }
  if (docs.length !== 1 || docs[0] === null || typeof docs[0] !== 'object') return undefined;
  return { value: docs[0], line };
}

/** First line that is not blank, a comment or a bare `---`; undefined when content shares a line with `---`. */
function contentLine(text: string): number | undefined {
  let line = 1;
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const content = text.slice(start, end).trim();
    if (content.startsWith('---')) {
      const rest = content.slice(3);
      if (rest !== '' && !/^\s+#/.test(rest)) return undefined;
    } else if (content !== '' && !content.startsWith('#')) {
      return line;
    }
    start = end + 1;
    line++;
  }
  return undefined;
}
