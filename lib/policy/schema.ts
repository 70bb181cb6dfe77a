// The retention policy document format (zod): the one source of truth for validation and policies/schema.json.
import { z } from 'zod';
import { DURATION_RE, RETENTION_RE, STAY_RE } from './duration.ts';

export const POLICY_API_VERSION = 'strata.dev/v1alpha1';
export const POLICY_KIND = 'RetentionPolicy';
/** Label that marks a ConfigMap as holding Strata policies. */
export const POLICY_LABEL = 'strata.dev/policy';

const duration = z.string().regex(DURATION_RE, 'expected a duration such as "30d", "12h", "7y", "1y6mo"').meta({
  description:
    'Duration: numbers with units y, mo, w, d, h, m, s, e.g. "30d", "1y6mo", or "0". Years and months are calendar units.',
});

const retention = z
  .string()
  .regex(RETENTION_RE, 'expected a duration such as "90d" or "indefinite"')
  .meta({ description: 'How long after completion the archive is kept: a duration or "indefinite".' });

const stay = z
  .string()
  .regex(STAY_RE, 'expected a duration such as "30d", or "rest" for the last stage')
  .meta({ description: 'How long the archive stays in this tier, or "rest": until deletion (last stage only).' });

export const timelineSchema = z
  .strictObject({
    hot: stay.optional().meta({ description: 'Time in the hot tier (STANDARD) after archival.' }),
    warm: stay.optional().meta({ description: 'Then time in the warm tier (STANDARD_IA).' }),
    cold: stay.optional().meta({ description: 'Then time in the cold tier (GLACIER_IR).' }),
    deepArchive: z
      .boolean()
      .optional()
      .meta({ description: 'After the listed stays, move to deep archive (DEEP_ARCHIVE) until deletion.' }),
  })
  .refine(
    (t) => {
      const listed = [t.hot, t.warm, t.cold].filter((v) => v !== undefined);
      const rest = listed.indexOf('rest');
      return rest === -1 || (rest === listed.length - 1 && !t.deepArchive);
    },
    { message: '"rest" is only for the last stage of the timeline' },
  )
  .meta({ description: 'Tier timeline: consecutive stays hot → warm → cold → deep archive, starting when archived.' });

const actionFields = {
  archiveAfter: duration.optional().meta({ description: 'Archive this long after completion (default 0s).' }),
  immediate: z.boolean().optional().meta({ description: 'Archive as soon as the workflow completes.' }),
  timeline: timelineSchema.optional(),
  retainFor: retention.optional(),
  deleteSource: z
    .boolean()
    .optional()
    .meta({ description: 'Delete the workflow from the cluster once its archive has verified.' }),
  destination: z.string().min(1).optional().meta({ description: 'Name of the store the archive must be written to.' }),
};

export const ruleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'rule names are DNS-style: lower case, digits, "-", "."')
      .max(63),
    description: z.string().optional(),
    priority: z.number().int().optional().meta({ description: 'Higher wins; equal priorities resolve by order.' }),
    match: z.string().min(1).meta({ description: 'CEL expression over the workflow facts; must return bool.' }),
    complianceClass: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .optional()
      .meta({ description: 'Makes retainFor a compliance floor that no other rule can shorten.' }),
    ...actionFields,
  })
  .refine((r) => r.complianceClass === undefined || r.retainFor !== undefined, {
    message: 'a rule with complianceClass must set retainFor (the compliance floor)',
    path: ['retainFor'],
  });

export const defaultsSchema = z.strictObject(actionFields).meta({
  description: 'What applies when no rule matches, and the values rules inherit when they leave a field out.',
});

export const policyDocumentSchema = z
  .strictObject({
    apiVersion: z.literal(POLICY_API_VERSION),
    kind: z.literal(POLICY_KIND),
    metadata: z.object({ name: z.string().min(1) }).loose(),
    spec: z.strictObject({
      defaults: defaultsSchema.optional(),
      rules: z.array(ruleSchema).default([]),
    }),
  })
  .meta({ title: 'Strata RetentionPolicy', description: 'Retention rules for archived Argo workflows.' });

export type RuleSpec = z.infer<typeof ruleSchema>;
export type DefaultsSpec = z.infer<typeof defaultsSchema>;
export type TimelineSpec = z.infer<typeof timelineSchema>;
export type PolicyDocument = z.infer<typeof policyDocumentSchema>;

/** The JSON Schema published as policies/schema.json (test/policy/schema.test.ts keeps the file in sync). */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policyDocumentSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return { ...schema, $id: 'https://strata.dev/schemas/retention-policy.json' };
}
