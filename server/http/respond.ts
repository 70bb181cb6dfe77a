// Writing answers: JSON bodies and JSON errors, and the request/handler shapes the route handlers share.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteSpec } from '../api/routes.ts';
import type { Caller } from '../auth/access.ts';
import type { RestoreJobService } from '../restores/job.ts';
import type { ArchiveService } from '../service/archive-service.ts';
import type { HoldService } from '../service/hold-service.ts';
import type { StorageUsage } from '../service/storage-usage.ts';
import type { VerifyStatusReader } from '../service/verify-status.ts';
import type { RetentionView } from '../service/retention-view.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, message: string, field?: string): void {
  const extra: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer realm="strata"' } : {};
  sendJson(res, status, { error: { status, message, ...(field !== undefined && { field }) } }, extra);
}

export interface Context {
  service: ArchiveService;
  holds: HoldService;
  retention: RetentionView;
  /** Absent when the server was started without a restore directory. */
  restores: RestoreJobService | undefined;
  storage: StorageUsage;
  verifyStatus: VerifyStatusReader;
}

export interface Request {
  route: RouteSpec;
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  caller: Caller;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
}

export type Handler = (ctx: Context, req: Request, res: ServerResponse) => Promise<void>;
