// Prints step results as a table (TTY default), JSON or YAML, and writes Argo output parameters.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { OutputFormat } from '../config/config.ts';

export function formatOutput(data: unknown, format: OutputFormat): string {
  if (format === 'json') return JSON.stringify(data, null, 2);
  if (format === 'yaml') return stringify(data).trimEnd();
  return formatTable(data);
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Arrays of records become columns; a record becomes key/value rows; scalars print as they are. */
export function formatTable(data: unknown): string {
  if (Array.isArray(data)) {
    if (data.length === 0) return '(none)';
    const rows = data.map((r): Record<string, unknown> =>
      typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : { value: r },
    );
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return renderColumns([columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => cell(r[c])))]);
  }
  if (typeof data === 'object' && data !== null) {
    return renderColumns(Object.entries(data).map(([k, v]) => [k, cell(v)]));
  }
  return cell(data);
}

function renderColumns(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** A result field that can be one file name (Argo's `valueFrom.path`); others are not written. */
const PARAMETER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Argo reads output parameters from files (`valueFrom.path`). Each top-level scalar of the result becomes
 * `<dir>/<key>`; objects and arrays are written as JSON so `withParam` can fan out over them.
 */
export function writeOutputParameters(dir: string, data: unknown): void {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return;
  mkdirSync(dir, { recursive: true });
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined || !PARAMETER_NAME.test(key)) continue;
    const text = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
    replaceFile(join(dir, key), text);
  }
}

/**
 * Writes a fresh file with an unguessable name, then renames it over `path`: a reader never sees half a value, and
 * a link already at `path` is replaced rather than written through.
 */
function replaceFile(path: string, text: string): void {
  const tmp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
