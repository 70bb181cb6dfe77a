// REST handlers of restore jobs: start (idempotent by requestId), list, status, cancel, download a result file.
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HttpError } from '../api/errors.ts';
import { restoreRequest } from '../api/schemas.ts';
import type { RestoreJobService } from '../restores/job.ts';
import { readJsonBody } from './body.ts';
import { parseRange } from './range.ts';
import { sendJson, type Context, type Handler } from './respond.ts';

export const MAX_RESTORE_BODY = 16 * 1024;

function jobs(ctx: Context): RestoreJobService {
  if (!ctx.restores)
    throw new HttpError(
      503,
      'restores are not enabled on this server (start it with --restore-dir, or --restore-jobs=argo in a cluster)',
    );
  return ctx.restores;
}

export const createRestore: Handler = async (ctx, req, res) => {
  const body = await readJsonBody(req.raw, restoreRequest, MAX_RESTORE_BODY);
  const { job, created } = await jobs(ctx).create(req.caller, body);
  sendJson(res, created ? 202 : 200, job, { location: `/api/v1/restores/${job.id}` });
};

export const listRestores: Handler = async (ctx, req, res) => {
  sendJson(res, 200, { items: await jobs(ctx).list(req.caller) });
};

export const getRestore: Handler = async (ctx, req, res) => {
  sendJson(res, 200, await jobs(ctx).get(req.caller, req.params.restoreId!));
};

export const cancelRestore: Handler = async (ctx, req, res) => {
  sendJson(res, 200, await jobs(ctx).cancel(req.caller, req.params.restoreId!));
};

export const getRestoreFile: Handler = async (ctx, req, res) => {
  const { job, file, open } = await jobs(ctx).resultFile(req.caller, req.params.restoreId!, req.params.path!);
  const span = parseRange(req.headers.range, file.size);
  if (span === 'unsatisfiable') {
    res.setHeader('content-range', `bytes */${file.size}`);
    throw new HttpError(416, `range ${req.headers.range} is outside the ${file.size} bytes of ${file.path}`);
  }
  await ctx.service.audited(req.caller, job.manifestId, {
    what: 'restored-file',
    job: job.id,
    path: file.entry,
    ...(span && { range: `${span.start}-${span.end}` }),
  });
  const headers = {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename="${basename(file.path).replace(/[^\w.-]/g, '_')}"`,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    'accept-ranges': 'bytes',
  };
  if (span)
    res.writeHead(206, {
      ...headers,
      'content-range': `bytes ${span.start}-${span.end}/${file.size}`,
      'content-length': span.end - span.start + 1,
    });
  else res.writeHead(200, { ...headers, 'content-length': file.size });
  await pipeline(await open(span), res);
};
