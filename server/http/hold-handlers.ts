// REST handlers of legal holds and extensions: list, set, release, extend (idempotent by the client's id).
import { asList, validate } from '../api/list-params.ts';
import { approvalsQuery, extensionRequest, holdRequest, rejectRequest, releaseRequest } from '../api/schemas.ts';
import { readJsonBody } from './body.ts';
import { sendJson, type Handler } from './respond.ts';

const MAX_HOLD_BODY = 8 * 1024;

export const listHolds: Handler = async (ctx, req, res) => {
  const row = await ctx.service.readableWorkflow(req.caller, req.params.manifestId!);
  sendJson(res, 200, await ctx.holds.forWorkflow(row.uid));
};

export const setHold: Handler = async (ctx, req, res) => {
  const body = await readJsonBody(req.raw, holdRequest, MAX_HOLD_BODY);
  const { created, ...written } = await ctx.holds.setHold(req.caller, req.params.manifestId!, body);
  sendJson(res, created ? 201 : 200, written);
};

export const releaseHold: Handler = async (ctx, req, res) => {
  const body = await readJsonBody(req.raw, releaseRequest, MAX_HOLD_BODY);
  sendJson(res, 200, await ctx.holds.releaseHold(req.caller, req.params.manifestId!, req.params.holdId!, body));
};

export const addExtension: Handler = async (ctx, req, res) => {
  const body = await readJsonBody(req.raw, extensionRequest, MAX_HOLD_BODY);
  const { extension, pending, created } = await ctx.holds.extend(req.caller, req.params.manifestId!, {
    ...body,
    until: new Date(body.until),
  });
  if (pending) return sendJson(res, created ? 202 : 200, { pending });
  sendJson(res, created ? 201 : 200, { extension });
};

export const approveExtension: Handler = async (ctx, req, res) => {
  const { manifestId, extensionId } = req.params as { manifestId: string; extensionId: string };
  const { extension, created } = await ctx.holds.approveExtension(req.caller, manifestId, extensionId);
  sendJson(res, created ? 201 : 200, { extension });
};

export const rejectExtension: Handler = async (ctx, req, res) => {
  const { manifestId, extensionId } = req.params as { manifestId: string; extensionId: string };
  const body = await readJsonBody(req.raw, rejectRequest, MAX_HOLD_BODY);
  sendJson(res, 200, await ctx.holds.rejectExtension(req.caller, manifestId, extensionId, body));
};

export const listApprovals: Handler = async (ctx, req, res) => {
  const q = validate(approvalsQuery, req.query, 'query');
  const namespaces = q.namespace !== undefined ? asList(q.namespace) : undefined;
  sendJson(res, 200, { items: await ctx.holds.pendingApprovals(req.caller, namespaces) });
};
