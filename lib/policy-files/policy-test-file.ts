// Runs a PolicyTest file from disk: its policies and workflow fixtures are paths relative to the test file.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseWorkflowDocument } from '../bundle/workflow-text.ts';
import { loadPolicySet } from '../policy/compile.ts';
import { parsePolicyTest, runPolicyTest, type PolicyTestResult } from '../policy/policy-test.ts';
import { readPolicySources } from './policy-files.ts';

/** Runs one PolicyTest file; throws InputError when the test file itself is malformed. */
export function runPolicyTestFile(file: string, policyOverride?: readonly string[]): PolicyTestResult[] {
  const test = parsePolicyTest(parse(readFileSync(file, 'utf8')), file);
  const base = dirname(file);
  const policyPaths = policyOverride ?? (test.policies ?? ['..']).map((p) => resolve(base, p));
  const { policySet } = loadPolicySet(readPolicySources(policyPaths));
  return runPolicyTest(test, file, policySet, (workflowFile) => {
    const path = resolve(base, workflowFile);
    return parseWorkflowDocument(readFileSync(path, 'utf8'), path) as Record<string, unknown>;
  });
}
