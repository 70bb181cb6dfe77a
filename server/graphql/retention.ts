// GraphQL over a workflow's retention: Hold, Extension, the policy's explanation, the timeline and audit events as
// Workflow fields, and hold/extension mutations — the same services, checks and audit records as REST.
import {
  GraphQLBoolean,
  GraphQLID,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLString,
  type GraphQLFieldConfigMap,
  type GraphQLOutputType,
} from 'graphql';
import type { CatalogWorkflow } from '../../lib/catalog/catalog.ts';
import { BadRequest } from '../api/errors.ts';
import { validate } from '../api/list-params.ts';
import {
  approvalsQuery,
  auditEventsQuery,
  DEFAULT_AUDIT_EVENTS,
  extensionRequest,
  holdRequest,
  manifestIdSchema,
  MAX_AUDIT_EVENTS,
  recordIdSchema,
  rejectRequest,
  releaseRequest,
} from '../api/schemas.ts';
import type { Caller } from '../auth/access.ts';
import type { ExtensionRequestView, ExtensionView, HoldService, HoldView } from '../service/hold-service.ts';
import type { PolicyExplanation, RetentionView, TimelineEvent, WorkflowTimeline } from '../service/retention-view.ts';

export interface RetentionContext {
  caller: Caller;
  holds: HoldService;
  retention: RetentionView;
}

const nn = <T extends GraphQLOutputType>(t: T) => new GraphQLNonNull(t);
const list = <T extends GraphQLOutputType>(t: T) => nn(new GraphQLList(nn(t)));

const AuditDetails = new GraphQLScalarType({
  name: 'AuditDetails',
  description: "An audit record's details object, as written",
  serialize: (v) => v,
});

export const Hold = new GraphQLObjectType<HoldView>({
  name: 'Hold',
  description: 'A legal hold: while in force (not released) nothing of the workflow is deleted',
  fields: {
    id: { type: nn(GraphQLString) },
    actor: { type: nn(GraphQLString) },
    actorVerified: { type: nn(GraphQLBoolean), resolve: (h) => Boolean(h.actorVerified) },
    reason: { type: nn(GraphQLString) },
    created: { type: nn(GraphQLString) },
    releasedBy: { type: GraphQLString, resolve: (h) => h.released?.actor },
    releasedAt: { type: GraphQLString, resolve: (h) => h.released?.at },
    releaseReason: { type: GraphQLString, resolve: (h) => h.released?.reason },
    unverified: { type: GraphQLString, description: 'why the stored record does not verify (then it holds anyway)' },
  },
});

export const Extension = new GraphQLObjectType<ExtensionView>({
  name: 'Extension',
  description: 'Retention extended: the workflow is kept at least until `until`',
  fields: {
    id: { type: nn(GraphQLString) },
    actor: { type: nn(GraphQLString) },
    actorVerified: { type: nn(GraphQLBoolean), resolve: (e) => Boolean(e.actorVerified) },
    reason: { type: nn(GraphQLString) },
    created: { type: nn(GraphQLString) },
    until: { type: nn(GraphQLString) },
    approver: {
      type: GraphQLString,
      description: "the second person's, past the limit",
      resolve: (e) => e.approval?.approver,
    },
    unverified: { type: GraphQLString },
  },
});

const RuleVerdict = new GraphQLObjectType<PolicyExplanation['rules'][number]>({
  name: 'RuleVerdict',
  fields: {
    rule: { type: nn(GraphQLString) },
    priority: { type: nn(GraphQLInt) },
    order: { type: nn(GraphQLInt) },
    matched: { type: nn(GraphQLBoolean), resolve: (r) => r.matched === true },
    error: { type: GraphQLString, description: 'the match expression failed on this workflow' },
    complianceClass: { type: GraphQLString },
    sets: { type: list(GraphQLString) },
    at: { type: nn(GraphQLString), description: 'file:line:column' },
  },
});

const Schedule = new GraphQLObjectType({
  name: 'RetentionSchedule',
  fields: {
    archiveOn: { type: GraphQLString },
    warmOn: { type: GraphQLString },
    coldOn: { type: GraphQLString },
    deepArchiveOn: { type: GraphQLString },
    deleteOn: { type: nn(GraphQLString), description: 'RFC 3339, or "never" / "never while held"' },
  },
});

const PolicyExplain = new GraphQLObjectType<PolicyExplanation>({
  name: 'PolicyExplanation',
  description: 'The retention policy for this workflow, as `strata policy explain` (docs/api.md)',
  fields: {
    policyValid: { type: nn(GraphQLBoolean), resolve: (p) => p.policy.valid },
    policyProblems: { type: list(GraphQLString), resolve: (p) => p.policy.problems },
    action: { type: nn(GraphQLString) },
    targetTier: { type: GraphQLString },
    winningRule: { type: GraphQLString },
    matchedRules: { type: list(GraphQLString) },
    reasons: { type: list(GraphQLString) },
    failedClosed: { type: nn(GraphQLBoolean) },
    complianceClass: { type: GraphQLString },
    complianceFloor: { type: GraphQLString },
    group: { type: nn(GraphQLString) },
    destination: { type: GraphQLString },
    deleteSourceAfterArchive: { type: nn(GraphQLBoolean) },
    extendedUntil: { type: GraphQLString },
    rules: { type: list(RuleVerdict) },
    schedule: { type: nn(Schedule) },
    activeHolds: { type: list(GraphQLString), description: 'ids of the holds in force' },
  },
});

const TimelineEventType = new GraphQLObjectType<TimelineEvent>({
  name: 'TimelineEvent',
  fields: {
    at: { type: nn(GraphQLString) },
    kind: {
      type: nn(GraphQLString),
      description: 'archived, tier, hold-set, hold-released, extended, planned-tier, planned-delete',
    },
    tier: { type: GraphQLString },
    packs: { type: GraphQLInt },
    id: { type: GraphQLString },
    actor: { type: GraphQLString },
    detail: { type: nn(GraphQLString) },
  },
});

const TierCount = new GraphQLObjectType<{ tier: string; packs: number }>({
  name: 'TierCount',
  fields: { tier: { type: nn(GraphQLString) }, packs: { type: nn(GraphQLInt) } },
});

const Timeline = new GraphQLObjectType<WorkflowTimeline>({
  name: 'Timeline',
  fields: {
    tiers: {
      type: list(TierCount),
      description: "the workflow's packs per tier now",
      resolve: (t) => Object.entries(t.tiers).map(([tier, packs]) => ({ tier, packs })),
    },
    events: { type: list(TimelineEventType) },
  },
});

const AuditEvent = new GraphQLObjectType({
  name: 'AuditEvent',
  fields: {
    at: { type: nn(GraphQLString) },
    action: { type: nn(GraphQLString) },
    outcome: { type: nn(GraphQLString) },
    actor: { type: nn(GraphQLString) },
    verified: { type: nn(GraphQLBoolean) },
    subject: { type: nn(GraphQLString) },
    reason: { type: GraphQLString },
    approver: { type: GraphQLString },
    details: { type: AuditDetails },
  },
});

/** Workflow fields: each opens the workflow for the caller (`get`), like the REST routes. */
export const workflowRetentionFields: GraphQLFieldConfigMap<CatalogWorkflow, RetentionContext> = {
  policy: {
    type: nn(PolicyExplain),
    resolve: (w, _a, ctx) => ctx.retention.explain(ctx.caller, w.manifestId),
  },
  timeline: {
    type: nn(Timeline),
    resolve: (w, _a, ctx) => ctx.retention.timeline(ctx.caller, w.manifestId),
  },
  auditEvents: {
    type: list(AuditEvent),
    description: 'The newest audit records about this workflow, newest first',
    args: { first: { type: GraphQLInt, defaultValue: DEFAULT_AUDIT_EVENTS, description: `1..${MAX_AUDIT_EVENTS}` } },
    resolve: (w, args: { first: number }, ctx) => {
      const q = validate(auditEventsQuery, { limit: String(args.first) }, 'argument');
      return ctx.retention.auditEvents(ctx.caller, w.manifestId, q.limit ?? DEFAULT_AUDIT_EVENTS);
    },
  },
};

const HoldWrite = new GraphQLObjectType({
  name: 'HoldWrite',
  fields: {
    hold: { type: nn(Hold) },
    storeLocks: { type: nn(GraphQLString), description: "what the store's Object Lock did" },
    created: {
      type: GraphQLBoolean,
      description: 'setHold: false when this caller already made this request (release: null)',
    },
  },
});

export const ExtensionRequest = new GraphQLObjectType<ExtensionRequestView>({
  name: 'ExtensionRequest',
  description: "An extension asked for past the limit: pending another person's approval, approved or rejected",
  fields: {
    id: { type: nn(GraphQLString) },
    workflowUid: { type: nn(GraphQLString) },
    namespace: { type: nn(GraphQLString) },
    manifestId: { type: nn(GraphQLID), description: 'approve or reject through this archive' },
    requester: { type: nn(GraphQLString) },
    reason: { type: nn(GraphQLString) },
    until: { type: nn(GraphQLString) },
    created: { type: nn(GraphQLString) },
    state: { type: nn(GraphQLString), description: 'pending, approved or rejected' },
    needs: { type: GraphQLString, description: 'pending: what it waits for' },
    approver: { type: GraphQLString },
    rejectedBy: { type: GraphQLString, resolve: (r) => r.rejection?.by },
    rejectionReason: { type: GraphQLString, resolve: (r) => r.rejection?.reason },
  },
});

const ExtensionWrite = new GraphQLObjectType({
  name: 'ExtensionWrite',
  fields: {
    extension: { type: Extension, description: 'the extension in force; null while the request is pending' },
    pending: { type: ExtensionRequest, description: "past the limit: the request waiting for another's approval" },
    created: { type: nn(GraphQLBoolean) },
  },
});

const idArg = { type: nn(GraphQLID) };
const text = { type: nn(GraphQLString) };

function manifest(id: string): string {
  return validate(manifestIdSchema, id, 'argument manifestId');
}

export const retentionMutations: GraphQLFieldConfigMap<unknown, RetentionContext> = {
  setHold: {
    type: nn(HoldWrite),
    description: 'Place a legal hold (needs hold in the namespace); idempotent by id for the same caller and reason',
    args: { manifestId: idArg, id: text, reason: text },
    resolve: async (_r, args: { manifestId: string; id: string; reason: string }, ctx) => {
      const body = validate(holdRequest, { id: args.id, reason: args.reason }, 'argument');
      return ctx.holds.setHold(ctx.caller, manifest(args.manifestId), body);
    },
  },
  releaseHold: {
    type: nn(HoldWrite),
    description: 'Release a hold (needs release-hold in the namespace); the hold record stays as history',
    args: { manifestId: idArg, holdId: text, reason: text },
    resolve: async (_r, args: { manifestId: string; holdId: string; reason: string }, ctx) => {
      const holdId = validate(recordIdSchema, args.holdId, 'argument holdId');
      const body = validate(releaseRequest, { reason: args.reason }, 'argument');
      return ctx.holds.releaseHold(ctx.caller, manifest(args.manifestId), holdId, body);
    },
  },
  addExtension: {
    type: nn(ExtensionWrite),
    description: "Keep the workflow at least until a date (past the limit only with another person's approval)",
    args: { manifestId: idArg, id: text, reason: text, until: text },
    resolve: async (_r, args: { manifestId: string; id: string; reason: string; until: string }, ctx) => {
      const body = validate(extensionRequest, { id: args.id, reason: args.reason, until: args.until }, 'argument');
      const until = new Date(body.until);
      if (Number.isNaN(until.getTime())) throw new BadRequest('until is not a date', 'until');
      return ctx.holds.extend(ctx.caller, manifest(args.manifestId), { ...body, until });
    },
  },
  approveExtension: {
    type: nn(ExtensionWrite),
    description:
      "Approve another person's pending extension as the second person (needs approve in the namespace); idempotent",
    args: { manifestId: idArg, extensionId: text },
    resolve: async (_r, args: { manifestId: string; extensionId: string }, ctx) => {
      const id = validate(recordIdSchema, args.extensionId, 'argument extensionId');
      return ctx.holds.approveExtension(ctx.caller, manifest(args.manifestId), id);
    },
  },
  rejectExtension: {
    type: nn(ExtensionRequest),
    description: 'Turn a pending extension request down for good (needs approve in the namespace); idempotent',
    args: { manifestId: idArg, extensionId: text, reason: text },
    resolve: async (_r, args: { manifestId: string; extensionId: string; reason: string }, ctx) => {
      const id = validate(recordIdSchema, args.extensionId, 'argument extensionId');
      const body = validate(rejectRequest, { reason: args.reason }, 'argument');
      return ctx.holds.rejectExtension(ctx.caller, manifest(args.manifestId), id, body);
    },
  },
};

export const retentionQueries: GraphQLFieldConfigMap<unknown, RetentionContext> = {
  pendingApprovals: {
    type: list(ExtensionRequest),
    description: 'Extension requests waiting for a second person, in the namespaces the caller may approve in',
    args: { namespaces: { type: new GraphQLList(nn(GraphQLString)) } },
    resolve: async (_r, args: { namespaces?: string[] | null }, ctx) => {
      const q = validate(approvalsQuery, args.namespaces ? { namespace: args.namespaces } : {}, 'argument');
      return ctx.holds.pendingApprovals(ctx.caller, q.namespace !== undefined ? [q.namespace].flat() : undefined);
    },
  },
};
