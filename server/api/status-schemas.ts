// Shapes of the dashboard's status routes (storage and cost, verify/scrub status), zod as the other routes.
import { z } from 'zod';

const namespaceParam = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a Kubernetes namespace name');

export const storageQuery = z
  .object({
    namespace: z
      .union([namespaceParam, z.array(namespaceParam).max(100)])
      .optional()
      .describe('only these namespaces (each must be one the caller may list); default every one they may'),
  })
  .strict();

const dayParam = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a day, YYYY-MM-DD')
  .refine((d) => {
    const t = new Date(`${d}T00:00:00Z`);
    return !Number.isNaN(t.getTime()) && t.toISOString().startsWith(d);
  }, 'must be a calendar day');

export const dailyStatsQuery = z
  .object({
    namespace: z
      .union([namespaceParam, z.array(namespaceParam).max(100)])
      .optional()
      .describe('only these namespaces (each must be one the caller may list); default every one they may'),
    from: dayParam.optional().describe('first UTC day counted (default: 29 days before `to`)'),
    to: dayParam.optional().describe('last UTC day counted, inclusive (default: today); at most 366 days in all'),
  })
  .strict();

export const dailyStats = z
  .object({
    namespaces: z.array(z.string()),
    from: z.string().describe('first day counted, YYYY-MM-DD'),
    to: z.string().describe('last day counted, inclusive'),
    days: z
      .array(
        z
          .object({
            day: z.string().describe('UTC day of the workflow time (finish, else start, else archive)'),
            phase: z.string().describe('Argo phase as archived, or (none)'),
            count: z.number().int(),
          })
          .strict(),
      )
      .describe('by day, then phase; days and phases without workflows are left out'),
  })
  .strict();

const byTier = z.object({ hot: z.number(), warm: z.number(), cold: z.number(), deepArchive: z.number() }).strict();
const tierName = z.enum(['hot', 'warm', 'cold', 'deepArchive']);

export const storageReport = z
  .object({
    currency: z.string(),
    pricing: z
      .object({
        source: z.string().describe('where the prices come from: a file, or the built-in policies/pricing.yaml'),
        tiers: z.record(
          tierName,
          z.object({ storageClass: z.string(), perGBMonth: z.number(), minimumDays: z.number() }).strict(),
        ),
      })
      .strict(),
    namespaces: z.array(z.string()),
    measuredAt: z.string().describe('when the packs were listed (the listing is reused for 5 minutes)'),
    tiers: z.array(
      z.object({ tier: tierName, name: z.string(), storedBytes: z.number(), monthlyCost: z.number() }).strict(),
    ),
    policies: z.array(
      z
        .object({
          name: z.string().describe('retention class of the timeline group, or (none)'),
          manifests: z.number(),
          originalBytes: z.number(),
          storedBytes: z.number(),
          monthlyCost: z.number(),
          byTier,
        })
        .strict(),
    ),
    totals: z
      .object({ manifests: z.number(), originalBytes: z.number(), storedBytes: z.number(), monthlyCost: z.number() })
      .strict(),
  })
  .strict();

const verifyRun = z
  .object({
    at: z.string(),
    actor: z.string(),
    kind: z.enum(['scrub', 'drill', 'read-data', 'structure']),
    outcome: z.string(),
    reason: z.string().optional(),
    summary: z.record(z.string(), z.number()),
    corruptPacks: z.array(z.string()).optional(),
    workflows: z
      .array(
        z
          .object({
            manifestId: z.string(),
            namespace: z.string(),
            name: z.string(),
            ok: z.boolean(),
            problems: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .optional(),
    otherWorkflows: z.number().optional(),
  })
  .strict();

export const verifyStatus = z
  .object({
    runs: z.array(verifyRun),
    truncated: z.boolean(),
    lastScrub: verifyRun.optional(),
    lastDrill: verifyRun.optional(),
    scrub: z.object({ packsTracked: z.number(), failedLastRead: z.number(), stateWarnings: z.number() }).strict(),
    failingPacks: z.array(
      z
        .object({
          key: z.string(),
          group: z.string(),
          policy: z.string(),
          at: z.string(),
          source: z.enum(['scrub', 'verify']),
        })
        .strict(),
    ),
    readAt: z.string(),
  })
  .strict();
