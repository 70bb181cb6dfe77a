// REST handlers of the dashboard's status panels: storage and cost per tier and policy, verify/scrub/drill status.
import { asList, validate } from '../api/list-params.ts';
import { dailyStatsQuery, storageQuery } from '../api/status-schemas.ts';
import { sendJson, type Handler } from './respond.ts';

export const storage: Handler = async (ctx, req, res) => {
  const q = validate(storageQuery, req.query, 'query');
  const namespaces = await ctx.service.readableNamespaces(
    req.caller,
    q.namespace !== undefined ? asList(q.namespace) : undefined,
  );
  sendJson(res, 200, await ctx.storage.report(namespaces));
};

export const dailyStats: Handler = async (ctx, req, res) => {
  const q = validate(dailyStatsQuery, req.query, 'query');
  const namespaces = await ctx.service.readableNamespaces(
    req.caller,
    q.namespace !== undefined ? asList(q.namespace) : undefined,
  );
  sendJson(res, 200, await ctx.service.dailyCounts(namespaces, q.from, q.to, new Date()));
};

export const verifyStatus: Handler = async (ctx, req, res) => {
  const namespaces = await ctx.service.readableNamespaces(req.caller, undefined);
  sendJson(res, 200, await ctx.verifyStatus.status(namespaces));
};
