// Reads policy sources (ConfigMaps labelled strata.dev/policy, or plain policy YAML) into documents that remember where each node came from.
import { isMap, isScalar, LineCounter, parseAllDocuments, Scalar, type Document } from 'yaml';
import { POLICY_LABEL } from './schema.ts';

/** One policy file or ConfigMap key as read, before parsing. */
export interface PolicySource {
  name: string;
  text: string;
}

export interface SourceLocation {
  /** File name or `configmap/<namespace>/<name>`. */
  file: string;
  /** `configmap/<namespace>/<name>` when the document came from a ConfigMap. */
  configMap?: string;
  /** The ConfigMap data key holding the document. */
  key?: string;
  line?: number;
  column?: number;
}

export interface PolicyProblem extends SourceLocation {
  severity: 'error' | 'warning';
  message: string;
  rule?: string;
}

/** One policy YAML document plus a way to turn a node path or offset back into file:line:col. */
export interface RawPolicyDocument {
  file: string;
  configMap?: string;
  key?: string;
  value: unknown;
  /** Location of the node at `path` (or of its nearest existing ancestor). */
  locate(path: readonly (string | number)[]): SourceLocation;
  /** Location of a character offset inside the string value at `path` (for CEL errors). */
  locateInString(path: readonly (string | number)[], offset: number): SourceLocation;
}

interface Mapper {
  (innerOffset: number): { line: number; column: number };
}

export function readPolicySource(
  file: string,
  text: string,
): { documents: RawPolicyDocument[]; problems: PolicyProblem[] } {
  const documents: RawPolicyDocument[] = [];
  const problems: PolicyProblem[] = [];
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, keepSourceTokens: true });
  const outer: Mapper = (off) => {
    const p = lc.linePos(off);
    return { line: p.line, column: p.col };
  };
  for (const doc of docs) {
    if (yamlErrors(doc, { file }, outer, problems)) continue;
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const obj = value as Record<string, unknown>;
    if (obj.kind === 'ConfigMap') {
      readConfigMap(file, doc, obj, text, lc, documents, problems);
    } else if (obj.kind === 'List' || obj.kind === 'ConfigMapList') {
      const items = Array.isArray(obj.items) ? obj.items : [];
      items.forEach((item, i) => {
        if ((item as Record<string, unknown>)?.kind === 'ConfigMap') {
          readConfigMap(file, doc, item as Record<string, unknown>, text, lc, documents, problems, ['items', i]);
        }
      });
    } else {
      documents.push(makeDocument({ file }, doc, text, outer));
    }
  }
  return { documents, problems };
}

function readConfigMap(
  file: string,
  doc: Document,
  cm: Record<string, unknown>,
  text: string,
  lc: LineCounter,
  documents: RawPolicyDocument[],
  problems: PolicyProblem[],
  prefix: (string | number)[] = [],
): void {
  const meta = (cm.metadata ?? {}) as Record<string, unknown>;
  const labels = (meta.labels ?? {}) as Record<string, unknown>;
  const configMap = `configmap/${String(meta.namespace ?? 'default')}/${String(meta.name ?? '?')}`;
  if (String(labels[POLICY_LABEL]) !== 'true') {
    const node = doc.getIn([...prefix, 'metadata'], true) as Scalar | undefined;
    const pos = node?.range ? lc.linePos(node.range[0]) : undefined;
    problems.push({
      severity: 'warning',
      file,
      configMap,
      line: pos?.line,
      column: pos?.col,
      message: `ConfigMap is not labelled ${POLICY_LABEL}: "true" and is ignored`,
    });
    return;
  }
  const data = doc.getIn([...prefix, 'data'], true);
  if (!isMap(data)) return;
  for (const pair of data.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!/\.ya?ml$/.test(key) && !/\.json$/.test(key)) continue;
    const node = pair.value;
    if (!isScalar(node) || typeof node.value !== 'string' || !node.range) {
      problems.push({ severity: 'error', file, configMap, key, message: 'data value must be a string holding YAML' });
      continue;
    }
    const mapper = scalarMapper(node, text, lc);
    const innerLc = new LineCounter();
    const inner = parseAllDocuments(node.value, { lineCounter: innerLc, keepSourceTokens: true });
    const innerMapper: Mapper = (off) => {
      const p = innerLc.linePos(off);
      return mapper(p.line, p.col);
    };
    for (const d of inner) {
      if (yamlErrors(d, { file, configMap, key }, innerMapper, problems)) continue;
      const v: unknown = d.toJS();
      if (v === null || v === undefined) continue;
      documents.push(makeDocument({ file, configMap, key }, d, node.value, innerMapper));
    }
  }
}

/** Maps inner (line, col) of a string scalar back to the outer file; exact for block scalars (`|`, `>`). */
function scalarMapper(
  node: Scalar,
  text: string,
  lc: LineCounter,
): (line: number, col: number) => { line: number; column: number } {
  const start = lc.linePos(node.range![0]);
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    const after = text.indexOf('\n', node.range![0]);
    const rest = text.slice(after + 1);
    const firstContent = /^( *)\S/m.exec(rest);
    const indent = firstContent?.[1]?.length ?? 0;
    return (line, col) => ({ line: start.line + line, column: col + indent });
  }
  const quote = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  return (line, col) =>
    line === 1
      ? { line: start.line, column: start.col + quote + col - 1 }
      : { line: start.line + line - 1, column: col };
}

function yamlErrors(doc: Document, where: SourceLocation, map: Mapper, problems: PolicyProblem[]): boolean {
  for (const e of doc.errors) {
    const p = map(e.pos[0]);
    problems.push({ severity: 'error', ...where, ...p, message: `YAML: ${e.message.split('\n')[0]}` });
  }
  return doc.errors.length > 0;
}

function makeDocument(where: SourceLocation, doc: Document, text: string, map: Mapper): RawPolicyDocument {
  const value: unknown = doc.toJS();
  const nodeAt = (path: readonly (string | number)[]) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return node;
    }
    return undefined;
  };
  const base: SourceLocation = Object.fromEntries(
    Object.entries(where).filter(([, v]) => v !== undefined),
  ) as SourceLocation;
  return {
    ...base,
    value,
    locate(path) {
      const node = nodeAt(path);
      return node?.range ? { ...base, ...map(node.range[0]) } : base;
    },
    locateInString(path, offset) {
      const node = doc.getIn(path, true) as Scalar | undefined;
      if (!isScalar(node) || !node.range || typeof node.value !== 'string') return this.locate(path);
      const begin = node.range[0];
      if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
        // Content starts on the line after the indicator. Each source line gives its text plus one character (a
        // newline, or the space a folded scalar turns it into), so walk the lines consuming the offset.
        let lineStart = text.indexOf('\n', begin) + 1;
        const indent = /^ */.exec(text.slice(lineStart))![0].length;
        let consumed = 0;
        while (lineStart > 0 && lineStart < text.length) {
          const lineEnd = text.indexOf('\n', lineStart);
          const content = text.slice(lineStart + indent, lineEnd < 0 ? text.length : lineEnd);
          if (offset <= consumed + content.length) return { ...base, ...map(lineStart + indent + (offset - consumed)) };
          consumed += content.length + 1;
          if (lineEnd < 0) break;
          lineStart = lineEnd + 1;
        }
        return this.locate(path);
      }
      const quote = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
      return { ...base, ...map(begin + quote + offset) };
    },
  };
}
