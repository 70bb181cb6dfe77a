// policies/schema.json is generated from the zod schema (one source of truth) and accepts the shipped policies.
import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, test } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { policyJsonSchema } from '../../lib/policy/schema.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';

const SCHEMA_FILE = 'policies/schema.json';

describe('published JSON Schema', () => {
  test('policies/schema.json matches the zod schema (UPDATE_SCHEMA=1 rewrites it)', () => {
    // Compared as data: prettier owns the file's layout.
    const generated = policyJsonSchema();
    if (process.env.UPDATE_SCHEMA) writeFileSync(SCHEMA_FILE, JSON.stringify(generated, null, 2) + '\n');
    expect(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))).toEqual(generated);
  });

  test('every policy document in the default ConfigMaps validates against it, and a broken one does not', () => {
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
    const docs = readPolicySources(['policies']).flatMap((s) =>
      parseAllDocuments(s.text).flatMap((d) =>
        Object.values((d.toJS() as { data: Record<string, string> }).data).map((t) => parse(t)),
      ),
    );
    expect(docs.length).toBeGreaterThanOrEqual(5);
    for (const doc of docs) expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    const withRules = docs.find((d) => (d as { spec: { rules?: unknown[] } }).spec.rules?.length);
    const broken = structuredClone(withRules) as { spec: { rules: { retainFor: string }[] } };
    broken.spec.rules[0]!.retainFor = '30 days';
    expect(validate(broken)).toBe(false);
  });
});
