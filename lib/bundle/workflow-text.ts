// One reading of Workflow object text (YAML or JSON) for every side: the sources accept, restore, the catalog and
// policy read it alike, so a workflow that archives restores. Duplicate keys are refused (JSON readers disagree on
// which value wins); aliases are resolved up to one limit.
import {
  isScalar,
  parseAllDocuments,
  visit,
  type Document,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
  type ToJSOptions,
  type YAMLError,
} from 'yaml';
import { InputError } from '../errors.ts';

/** Alias resolutions one document may make: the yaml library's guard against exponential expansion (default 100). */
export const MAX_ALIAS_COUNT = 1000;

/** Options of the yaml library's parser for Workflow documents (YAML 1.2 core schema, unique keys, no `<<` merge). */
export const YAML_PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.2',
  schema: 'core',
  uniqueKeys: true,
  merge: false,
};

/** Options of the yaml library's conversion of a parsed document to plain values. */
export const YAML_TO_JS_OPTIONS: ToJSOptions = { maxAliasCount: MAX_ALIAS_COUNT };

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * The first key given twice in one object of a valid JSON text, with its offset; undefined when there is none.
 * `JSON.parse` keeps the last value silently, YAML readers refuse: both sides must see the same object.
 */
export function duplicateJsonKey(text: string): { key: string; offset: number } | undefined {
  /** Keys seen per open object (undefined for an array). */
  const open: Array<Set<string> | undefined> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = text.indexOf('"', i + 1);
      for (;;) {
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 0x5c /* \ */) backslashes++;
        if (backslashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      const keys = open[open.length - 1];
      if (expectKey && keys) {
        const raw = text.slice(i, end + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (keys.has(key)) return { key, offset: i };
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      open.push(undefined);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = open[open.length - 1] !== undefined;
    }
  }
  return undefined;
}

function duplicateKeyMessage(key: string): string {
  return `duplicate key ${JSON.stringify(key)} in one object: refused (readers disagree on which value wins)`;
}

/** What a YAML parse error of `doc` says, in one line (a duplicate key is named). */
export function yamlErrorMessage(error: YAMLError, doc: Document.Parsed): string {
  if (error.code === 'DUPLICATE_KEY') {
    let key = '?';
    visit(doc, {
      Pair: (_, pair) => {
        if (isScalar(pair.key) && pair.key.range?.[0] === error.pos[0]) {
          key = String(pair.key.value);
          return visit.BREAK;
        }
        return undefined;
      },
    });
    return duplicateKeyMessage(key);
  }
  return `malformed YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
}

/** A parsed document as plain values; too many aliases is an InputError at the document's first line. */
export function documentValue(doc: Document.Parsed, file: string, line: number): unknown {
  try {
    return doc.toJS(YAML_TO_JS_OPTIONS);
  } catch (err) {
    throw new InputError(`YAML document cannot be read: ${(err as Error).message}`, { file, line });
  }
}

/** JSON.parse that refuses a key given twice in one object (InputError naming the key, file, line and column). */
export function parseJson(text: string, file: string): unknown {
  const value: unknown = JSON.parse(text);
  const dup = duplicateJsonKey(text);
  if (dup) {
    const { line, column } = lineColumn(text, dup.offset);
    throw new InputError(duplicateKeyMessage(dup.key), { file, line, column });
  }
  return value;
}

/** Every document of a Workflow file (`.json`: one JSON value) as plain values; the first error throws, located. */
export function parseObjectDocuments(text: string, file: string): unknown[] {
  if (file.endsWith('.json')) {
    try {
      return [parseJson(text, file)];
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`malformed JSON: ${(err as Error).message}`, { file });
    }
  }
  const out: unknown[] = [];
  const docs = parseAllDocuments(text, { ...YAML_PARSE_OPTIONS, prettyErrors: false }) as Document.Parsed[];
  for (const doc of Array.isArray(docs) ? docs : []) {
    const error = doc.errors[0];
    if (error) throw new InputError(yamlErrorMessage(error, doc), { file, ...lineColumn(text, error.pos[0]) });
    const value = documentValue(doc, file, lineColumn(text, doc.contents?.range?.[0] ?? 0).line);
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** The first document of a Workflow file as a plain value (undefined when the file holds none). */
export function parseWorkflowDocument(text: string, file: string): unknown {
  return parseObjectDocuments(text, file)[0];
}
