// Policies read from a ConfigMap volume: Kubernetes links each key through `..data` and a timestamped folder.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { expect, test } from 'vitest';
import { loadPolicySet } from '../../lib/policy/index.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

test('a mounted ConfigMap volume yields each policy key once and a valid set', () => {
  const configMap = parse(readFileSync(join(repoRoot, 'policies/strata-policy-defaults.yaml'), 'utf8')) as {
    data: Record<string, string>;
  };
  const keys = Object.keys(configMap.data).sort();
  const mount = mkdtempSync(join(tmpdir(), 'strata-cm-'));
  const stamped = '..2026_11_25_18_00_00.123456789';
  mkdirSync(join(mount, stamped));
  for (const key of keys) writeFileSync(join(mount, stamped, key), configMap.data[key]!);
  symlinkSync(stamped, join(mount, '..data'));
  for (const key of keys) symlinkSync(`..data/${key}`, join(mount, key));

  const sources = readPolicySources([mount]);
  expect(sources.map((s) => s.name.split('/').pop())).toEqual(keys);
  const { problems } = loadPolicySet(sources);
  expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
});
