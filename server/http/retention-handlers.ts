// REST handlers of a workflow's retention: the policy's explanation, the tier timeline, the audit records about it.
import { validate } from '../api/list-params.ts';
import { auditEventsQuery, DEFAULT_AUDIT_EVENTS } from '../api/schemas.ts';
import { sendJson, type Handler } from './respond.ts';

export const explainPolicy: Handler = async (ctx, req, res) => {
  sendJson(res, 200, await ctx.retention.explain(req.caller, req.params.manifestId!));
};

export const getTimeline: Handler = async (ctx, req, res) => {
  sendJson(res, 200, await ctx.retention.timeline(req.caller, req.params.manifestId!));
};

export const listAuditEvents: Handler = async (ctx, req, res) => {
  const q = validate(auditEventsQuery, req.query, 'query');
  const items = await ctx.retention.auditEvents(req.caller, req.params.manifestId!, q.limit ?? DEFAULT_AUDIT_EVENTS);
  sendJson(res, 200, { items });
};
