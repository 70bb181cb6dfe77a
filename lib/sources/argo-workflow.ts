// Parses Argo Workflow objects from YAML/JSON text (single objects, Lists, multi-document YAML) and checks the minimum.
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { SourceProblem, WorkflowIdentity } from '../bundle/bundle.ts';
import { unsafeIdentityPart, workflowIdentity } from '../bundle/identity.ts';
import { documentValue, parseJson, YAML_PARSE_OPTIONS, yamlErrorMessage } from '../bundle/workflow-text.ts';
import { InputError } from '../errors.ts';
import { loadPlainYaml } from './yaml-fast.ts';

export interface ParsedWorkflow {
  identity: WorkflowIdentity;
  /** The object as given (List items get apiVersion/kind filled in from the List when they lack them). */
  workflow: Record<string, unknown>;
  file: string;
  /** 1-based line where the object starts in the file. */
  line: number;
  /** Things the parser had to assume, e.g. a uid derived because metadata.uid was missing. */
  notes: string[];
}

export interface ParseResult {
  workflows: ParsedWorkflow[];
  problems: SourceProblem[];
}

/** Where a problem sits, as `file:line:col`. */
function where(file: string, line?: number, col?: number): string {
  if (line === undefined) return file;
  return col === undefined ? `${file}:${line}` : `${file}:${line}:${col}`;
}

function problemFrom(err: InputError): SourceProblem {
  const loc = err.location ?? {};
  return { where: where(loc.file ?? '?', loc.line, loc.column), message: err.message };
}

/** Parses every workflow in a file's text; a broken document or item is a problem, the rest still parse. */
export function parseWorkflowText(text: string, file: string): ParseResult {
  const result: ParseResult = { workflows: [], problems: [] };
  if (file.endsWith('.json')) {
    let value: unknown;
    try {
      value = parseJson(text, file);
    } catch (err) {
      if (err instanceof InputError) {
        result.problems.push(problemFrom(err));
        return result;
      }
      const pos = jsonErrorPosition(text, err);
      result.problems.push({
        where: where(file, pos.line, pos.col),
        message: `malformed JSON: ${(err as Error).message}`,
      });
      return result;
    }
    collectObjects(value, file, () => 1, result);
    return result;
  }

  // One plain Workflow document (a workflow directory's own file) is read the fast way; anything else, and any
  // problem, goes through the yaml library, which also reports positions.
  const fast = loadPlainYaml(text);
  if (fast && !isList(fast.value)) {
    addWorkflow(fast.value, file, fast.line, undefined, [], result);
    if (result.problems.length === 0) return result;
    result.workflows = [];
    result.problems = [];
  }

  if (!parseYaml(text, file, 0, result, false)) {
    // A broken document can swallow its neighbours (an unterminated quote runs past `---`); parse each
    // `---`-separated piece on its own so only the broken one is lost.
    const lines = text.split('\n');
    let pieceStart = 0;
    for (let i = 1; i <= lines.length; i++) {
      if (i === lines.length || /^---(\s|$)/.test(lines[i]!)) {
        parseYaml(lines.slice(pieceStart, i).join('\n'), file, pieceStart, result, true);
        pieceStart = i;
      }
    }
  }
  return result;
}

/**
 * Parses YAML documents into `out`. Returns false without adding anything when some document is malformed
 * and `commit` is false (the caller then retries piece by piece); with `commit` malformed documents are problems.
 */
function parseYaml(text: string, file: string, lineOffset: number, out: ParseResult, commit: boolean): boolean {
  const lineCounter = new LineCounter();
  const lineAt = (offset: number) => lineCounter.linePos(offset).line + lineOffset;
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { ...YAML_PARSE_OPTIONS, lineCounter, prettyErrors: false }) as Document.Parsed[];
  } catch (err) {
    if (commit) out.problems.push({ where: where(file, lineOffset + 1), message: `malformed YAML: ${String(err)}` });
    return false;
  }
  if (!Array.isArray(docs)) docs = [];
  if (!commit && docs.some((d) => d.errors.length > 0)) return false;
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const pos = lineCounter.linePos(error.pos[0]);
      out.problems.push({ where: where(file, pos.line + lineOffset, pos.col), message: yamlErrorMessage(error, doc) });
      continue;
    }
    const start = doc.contents?.range?.[0] ?? 0;
    let value: unknown;
    try {
      value = documentValue(doc, file, lineAt(start));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      out.problems.push(problemFrom(err));
      continue;
    }
    if (value === null || value === undefined) continue; // empty document (e.g. a trailing `---`)
    const itemLine = (index: number): number => {
      const items = isMap(doc.contents) ? doc.contents.get('items', true) : undefined;
      const node = (isSeq(items) ? items.items[index] : undefined) as { range?: [number, number, number] } | undefined;
      return lineAt(node?.range?.[0] ?? start);
    };
    collectObjects(value, file, (index) => (index < 0 ? lineAt(start) : itemLine(index)), out);
  }
  return true;
}

/** Node 20 says "at position N", Node 22 "(line L column C)"; both become line:col. */
function jsonErrorPosition(text: string, err: unknown): { line?: number; col?: number } {
  const message = err instanceof Error ? err.message : '';
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), col: Number(lc[2]) };
  const p = /position (\d+)/.exec(message);
  const offset = p ? Number(p[1]) : text.length;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

function isList(value: unknown): value is Record<string, unknown> & { kind: string; items: unknown[] } {
  return isRecord(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

function collectObjects(value: unknown, file: string, lineOf: (index: number) => number, out: ParseResult): void {
  if (isList(value)) {
    const itemKind = value.kind === 'List' ? undefined : value.kind.slice(0, -'List'.length);
    value.items.forEach((item: unknown, index: number) => {
      const line = lineOf(index);
      let obj = item;
      const notes: string[] = [];
      if (isRecord(item) && itemKind && (item.kind === undefined || item.apiVersion === undefined)) {
        // API list responses (WorkflowList) omit apiVersion/kind on their items.
        obj = { apiVersion: value.apiVersion, kind: itemKind, ...item };
        notes.push(`apiVersion/kind taken from the enclosing ${value.kind}`);
      }
      addWorkflow(obj, file, line, `item ${index}`, notes, out);
    });
    return;
  }
  addWorkflow(value, file, lineOf(-1), undefined, [], out);
}

function addWorkflow(
  value: unknown,
  file: string,
  line: number,
  label: string | undefined,
  notes: string[],
  out: ParseResult,
): void {
  try {
    const { identity, notes: more } = validateWorkflow(value, { file, line }, label);
    out.workflows.push({
      identity,
      workflow: value as Record<string, unknown>,
      file,
      line,
      notes: [...notes, ...more],
    });
  } catch (err) {
    if (err instanceof InputError) out.problems.push(problemFrom(err));
    else throw err;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks what Strata relies on (apiVersion argoproj.io/*, kind Workflow, metadata.name; namespace, name and uid
 * safe as key segments) and returns the identity.
 * A missing namespace or uid is filled in by `workflowIdentity` and reported in the notes.
 */
export function validateWorkflow(
  value: unknown,
  loc: { file: string; line?: number },
  label?: string,
): { identity: WorkflowIdentity; notes: string[] } {
  const prefix = label ? `${label}: ` : '';
  const fail = (msg: string) => new InputError(prefix + msg, { file: loc.file, line: loc.line });
  if (!isRecord(value)) throw fail(`expected a Workflow object, got ${value === null ? 'null' : typeof value}`);
  const notes: string[] = [];
  let { apiVersion, kind } = value;
  if (apiVersion === undefined && kind === undefined && looksLikeWorkflow(value)) {
    // Bare objects (controller test data, some exports) carry spec/status but no type header.
    apiVersion = 'argoproj.io/v1alpha1';
    kind = 'Workflow';
    notes.push('apiVersion/kind missing; assumed argoproj.io/v1alpha1 Workflow from spec/status');
  }
  if (typeof apiVersion !== 'string' || !apiVersion.startsWith('argoproj.io/')) {
    throw fail(`apiVersion ${JSON.stringify(apiVersion)} is not argoproj.io/*`);
  }
  if (kind !== 'Workflow') throw fail(`kind ${JSON.stringify(kind)} is not Workflow`);
  const metadata = value.metadata;
  if (!isRecord(metadata)) throw fail('metadata is missing');
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') throw fail('metadata.name is missing');
  for (const field of ['namespace', 'uid'] as const) {
    const v = metadata[field];
    if (v !== undefined && v !== null && typeof v !== 'string') throw fail(`metadata.${field} is not a string`);
  }
  const { identity, notes: assumed } = workflowIdentity(metadata);
  notes.push(...assumed);
  const { namespace, uid } = identity;
  // Refused rather than archived: an unsafe name could not be filed under refs, held or extended.
  const unsafe =
    unsafeIdentityPart('namespace', namespace) ?? unsafeIdentityPart('name', name) ?? unsafeIdentityPart('uid', uid);
  if (unsafe) throw fail(unsafe);
  return { identity, notes };
}

function looksLikeWorkflow(value: Record<string, unknown>): boolean {
  const spec = value.spec;
  const status = value.status;
  return (isRecord(spec) && Array.isArray(spec.templates)) || (isRecord(status) && isRecord(status.nodes));
}
