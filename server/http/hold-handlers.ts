// REST handlers of legal holds and extensions: list, set, release, extend (idempotent by the client's id).
import { extensionRequest, holdRequest, releaseRequest } from '../api/schemas.ts';
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
  const { extension, created } = await ctx.holds.extend(req.caller, req.params.manifestId!, {
    ...body,
    until: new Date(body.until),
  });
  sendJson(res, created ? 201 : 200, { extension });
};
