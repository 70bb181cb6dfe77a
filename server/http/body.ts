// Request bodies, read whole with a size limit (413 past it, before buffering more).
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { BadRequest, HttpError } from '../api/errors.ts';
import { validate } from '../api/list-params.ts';

export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) throw new HttpError(413, `request body of ${declared} bytes is over the limit of ${max}`);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const piece of req as AsyncIterable<Buffer>) {
    size += piece.length;
    if (size > max) throw new HttpError(413, `request body is over the limit of ${max} bytes`);
    parts.push(piece);
  }
  return Buffer.concat(parts);
}

/** A JSON body checked against its schema: 415 when not JSON, 413 past `max`, 400 naming the field at fault. */
export async function readJsonBody<T extends z.ZodType>(
  req: IncomingMessage,
  schema: T,
  max: number,
): Promise<z.output<T>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'send the request body as application/json');
  let raw: unknown;
  try {
    raw = JSON.parse((await readBody(req, max)).toString('utf8'));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new BadRequest('the body is not JSON', 'body');
  }
  return validate(schema, raw, 'body');
}
