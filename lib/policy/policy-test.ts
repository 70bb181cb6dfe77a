// Policy unit tests (like `kyverno test`): workflow fixtures with the decision each must get, run against a policy set.
import { z } from 'zod';
import { InputError } from '../errors.ts';
import type { PolicySet } from './compile.ts';
import { decideRetention, type RetentionDecision } from './decide.ts';
import { workflowFacts, TIERS, type ArchiveFacts } from './facts.ts';

const expectSchema = z.strictObject({
  action: z.enum(['keep', 'archive', 'move', 'delete']).optional(),
  targetTier: z.enum(TIERS as [string, ...string[]]).optional(),
  winningRule: z.string().nullable().optional(),
  matchedRules: z.array(z.string()).optional(),
  complianceClass: z.string().nullable().optional(),
  destination: z.string().nullable().optional(),
  deleteSourceAfterArchive: z.boolean().optional(),
  failedClosed: z.boolean().optional(),
  group: z.string().optional(),
  held: z.boolean().optional(),
  /** ISO times; null asserts the timeline has no such step. */
  archiveAt: z.string().nullable().optional(),
  warmAt: z.string().nullable().optional(),
  coldAt: z.string().nullable().optional(),
  deepArchiveAt: z.string().nullable().optional(),
  /** An ISO time, or "never". */
  deleteAt: z.string().optional(),
});

const caseSchema = z.strictObject({
  name: z.string(),
  now: z.string().optional(),
  workflow: z.record(z.string(), z.unknown()).optional(),
  workflowFile: z.string().optional(),
  related: z.array(z.record(z.string(), z.unknown())).optional(),
  archive: z
    .strictObject({ sizeBytes: z.number(), tier: z.enum(TIERS as [string, ...string[]]).optional() })
    .optional(),
  holds: z
    .array(z.strictObject({ id: z.string(), actor: z.string().default('test'), reason: z.string().default('test') }))
    .optional(),
  extensions: z
    .array(
      z.strictObject({
        id: z.string(),
        until: z.string(),
        actor: z.string().default('test'),
        reason: z.string().default('test'),
      }),
    )
    .optional(),
  expect: expectSchema,
});

export const policyTestSchema = z.strictObject({
  apiVersion: z.literal('strata.dev/v1alpha1'),
  kind: z.literal('PolicyTest'),
  metadata: z.object({ name: z.string() }).loose(),
  /** Policy files or directories, relative to the test file (default: its parent directory). */
  policies: z.array(z.string()).optional(),
  now: z.string(),
  cases: z.array(caseSchema).min(1),
});

export interface PolicyTestResult {
  file: string;
  test: string;
  case: string;
  passed: boolean;
  failures: string[];
}

function compare(decision: RetentionDecision, expect: z.infer<typeof expectSchema>): string[] {
  const failures: string[] = [];
  const check = (what: string, want: unknown, got: unknown) => {
    if (want !== undefined && JSON.stringify(want) !== JSON.stringify(got))
      failures.push(`${what}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  };
  const t = decision.timeline;
  check('action', expect.action, decision.action);
  check('targetTier', expect.targetTier, decision.targetTier);
  check('winningRule', expect.winningRule, decision.winningRule ?? null);
  if (expect.matchedRules) check('matchedRules', [...expect.matchedRules].sort(), [...decision.matchedRules].sort());
  check('complianceClass', expect.complianceClass, decision.complianceClass ?? null);
  check('destination', expect.destination, decision.destination ?? null);
  check('deleteSourceAfterArchive', expect.deleteSourceAfterArchive, decision.deleteSourceAfterArchive);
  check('failedClosed', expect.failedClosed, decision.failedClosed ?? false);
  check('group', expect.group, decision.group);
  check('held', expect.held, decision.holds.length > 0);
  for (const k of ['archiveAt', 'warmAt', 'coldAt', 'deepArchiveAt'] as const) {
    const want = expect[k];
    if (want !== undefined) check(k, want === null ? null : new Date(want).toISOString(), t[k]?.toISOString() ?? null);
  }
  if (expect.deleteAt !== undefined) {
    check(
      'deleteAt',
      expect.deleteAt === 'never' ? 'never' : new Date(expect.deleteAt).toISOString(),
      t.deleteAt?.toISOString() ?? 'never',
    );
  }
  return failures;
}

export type PolicyTest = z.infer<typeof policyTestSchema>;

/** Checks a parsed PolicyTest document; InputError names the file and the field when it is malformed. */
export function parsePolicyTest(doc: unknown, file: string): PolicyTest {
  const parsed = policyTestSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`policy test: ${issue.path.join('.')}: ${issue.message}`, { file });
  }
  return parsed.data;
}

/** Runs a PolicyTest's cases against a policy set; `workflowFile` cases are read through `readWorkflow`. */
export function runPolicyTest(
  test: PolicyTest,
  file: string,
  policySet: PolicySet,
  readWorkflow: (workflowFile: string) => Record<string, unknown>,
): PolicyTestResult[] {
  return test.cases.map((c) => {
    let workflow = c.workflow;
    if (c.workflowFile) workflow = readWorkflow(c.workflowFile);
    if (!workflow)
      return { file, test: test.metadata.name, case: c.name, passed: false, failures: ['no workflow or workflowFile'] };
    const facts = workflowFacts(workflow, {
      related: c.related,
      archive: c.archive as ArchiveFacts | undefined,
    });
    const created = new Date(0).toISOString();
    const decision = decideRetention(policySet, facts, new Date(c.now ?? test.now), {
      holds: (c.holds ?? []).map((h) => ({ ...h, workflowUid: facts.uid, created })),
      extensions: (c.extensions ?? []).map((e) => ({ ...e, workflowUid: facts.uid, created })),
    });
    const failures = compare(decision, c.expect);
    if (failures.length && decision.failedClosed)
      failures.push(...decision.reasons.slice(1).map((r) => `  reason: ${r}`));
    return { file, test: test.metadata.name, case: c.name, passed: failures.length === 0, failures };
  });
}
