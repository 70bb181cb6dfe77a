// Result formatting (table/json/yaml), Argo output parameter files and Argo's progress file.
import { lstatSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { formatOutput, formatTable, writeOutputParameters } from '../../lib/cli/output.ts';
import { createProgress } from '../../lib/cli/progress.ts';

describe('formatOutput', () => {
  const rows = [
    { name: 'wf-a', bytes: 10, missing: undefined },
    { name: 'wf-long-name', bytes: 2048, extra: { a: 1 } },
  ];

  test('json and yaml round-trip the data', () => {
    expect(JSON.parse(formatOutput(rows, 'json'))).toEqual(JSON.parse(JSON.stringify(rows)));
    expect(parse(formatOutput(rows, 'yaml'))).toEqual(JSON.parse(JSON.stringify(rows)));
  });

  test('a table has one header and aligned columns over the union of keys', () => {
    const lines = formatTable(rows).split('\n');
    expect(lines[0]).toMatch(/^NAME\s+BYTES\s+MISSING\s+EXTRA$/);
    expect(lines).toHaveLength(3);
    const bytesColumn = lines[0]!.indexOf('BYTES');
    expect(lines[1]!.slice(bytesColumn).startsWith('10')).toBe(true);
    expect(lines[2]!.slice(bytesColumn).startsWith('2048')).toBe(true);
    expect(lines[2]).toContain('{"a":1}');
  });

  test('a record prints as key/value rows and an empty list says so', () => {
    expect(formatTable({ ok: true, store: 'file:/x' })).toBe('ok     true\nstore  file:/x');
    expect(formatTable([])).toBe('(none)');
  });
});

describe('Argo integration files', () => {
  test('each result field becomes an output parameter file; structures are JSON for withParam', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-out-'));
    writeOutputParameters(dir, { archived: 3, bytes: 1024, manifests: ['m1', 'm2'], skipped: undefined });
    expect(readdirSync(dir).sort()).toEqual(['archived', 'bytes', 'manifests']);
    expect(readFileSync(join(dir, 'archived'), 'utf8')).toBe('3');
    expect(JSON.parse(readFileSync(join(dir, 'manifests'), 'utf8'))).toEqual(['m1', 'm2']);
  });

  test('a link already at a parameter file is replaced, not written through; odd keys are not files', () => {
    const parent = mkdtempSync(join(tmpdir(), 'strata-out-'));
    const dir = join(parent, 'outputs');
    const outside = join(mkdtempSync(join(tmpdir(), 'strata-outside-')), 'precious');
    writeOutputParameters(dir, {});
    writeFileSync(outside, 'keep');
    symlinkSync(outside, join(dir, 'archived'));
    writeOutputParameters(dir, { archived: 3, '../escape': 1, 'a/b': 2 });
    expect(readFileSync(outside, 'utf8')).toBe('keep');
    expect(lstatSync(join(dir, 'archived')).isFile()).toBe(true);
    expect(readdirSync(dir)).toEqual(['archived']);
    expect(readdirSync(parent)).toEqual(['outputs']);
  });

  test('the progress file holds N/M as Argo expects and ends complete', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'strata-progress-')), 'progress');
    const progress = createProgress({ tty: false, argoProgressFile: file });
    progress.start(5);
    expect(readFileSync(file, 'utf8')).toBe('0/5');
    progress.advance(2);
    progress.done();
    expect(readFileSync(file, 'utf8')).toBe('5/5');
  });
});
