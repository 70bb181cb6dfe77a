// The shipped policies: they validate cleanly, pass their own policy tests through the CLI, and the real Argo
// workflows in ../shared/argo/workflows evaluate against them without errors.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { decideRetention, loadPolicySet } from '../../lib/policy/index.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';
import { readWorkflowFiles } from '../../lib/policy-files/workflow-files.ts';
import { lintPolicySet } from '../../lib/policy/lint.ts';
import { spawnCli } from '../support/spawn-cli.ts';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const shared = resolve(repoRoot, '../shared');
const argoWorkflows = join(shared, 'argo/workflows');
const work = mkdtempSync(join(tmpdir(), 'strata-policy-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const strata = (args: string[]) => spawnCli(args, { env: { STRATA_STORE: `file:${work}/repo` } });

const defaults = () => loadPolicySet(readPolicySources([join(repoRoot, 'policies')]));

describe('default policies', () => {
  test('validate with no problems and no lint findings', () => {
    const { policySet, problems } = defaults();
    expect(problems).toEqual([]);
    expect(lintPolicySet(policySet)).toEqual([]);
    expect(policySet.rules.length).toBeGreaterThanOrEqual(10);
  });

  test('`strata policy test` passes the policy unit tests in policies/tests', async () => {
    const run = await strata(['policy', 'test', 'policies/tests', '-o', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { passed: number; failed: number };
    expect(out.failed).toBe(0);
    expect(out.passed).toBeGreaterThanOrEqual(15);
  });

  test('`strata policy validate` exits 1 with file:line:col on a broken policy', async () => {
    const bad = join(work, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: strata.dev/v1alpha1\nkind: RetentionPolicy\nmetadata: {name: b}\nspec:\n  rules:\n    - name: x\n      match: phase == 1\n',
    );
    const run = await strata(['policy', 'validate', bad, '-o', 'json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/bad\.yaml:7:14: error: rule "x": match: /);
    expect(JSON.parse(run.stdout)).toMatchObject({ valid: false, errors: 1 });
  });

  test.skipIf(!existsSync(argoWorkflows))(
    `real Argo workflows evaluate without CEL errors${existsSync(argoWorkflows) ? '' : ` (SKIPPED: ${argoWorkflows} is absent)`}`,
    () => {
      const { policySet } = defaults();
      const files = readdirSync(argoWorkflows)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(argoWorkflows, f));
      const inputs = readWorkflowFiles(files);
      expect(inputs.length).toBeGreaterThanOrEqual(10);
      for (const now of [new Date('2026-06-01T00:00:00Z'), new Date('2040-01-01T00:00:00Z')]) {
        for (const w of inputs) {
          const d = decideRetention(policySet, w.facts, now);
          // The only acceptable fail-closed reason is a workflow that records no finish time at all.
          if (d.failedClosed) expect(d.reasons[1], w.file).toMatch(/status\.finishedAt is missing/);
          else if (w.facts.finishedAt) expect(d.timeline.archiveAt, w.file).toBeDefined();
        }
      }
    },
  );
});
