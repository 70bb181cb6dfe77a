// Request bodies, read whole with a size limit (413 past it, before buffering more).
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../api/errors.ts';

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
