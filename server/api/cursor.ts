// Opaque page cursors: where the last page ended, bound to the query that produced it (never an offset).
import { createHash } from 'node:crypto';
import type { PageKey } from '../../lib/catalog/catalog.ts';
import { BadRequest } from './errors.ts';

interface CursorBody {
  /** Hash of the filters and sort the cursor belongs to. */
  q: string;
  v: number | string;
  i: string;
}

/** What a cursor is bound to: the normalized filters and sort, not the page size (which may change between pages). */
export function queryFingerprint(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 16);
}

export function encodeCursor(fingerprint: string, key: PageKey): string {
  const body: CursorBody = { q: fingerprint, v: key.value, i: key.id };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodeCursor(cursor: string, fingerprint: string): PageKey {
  let body: CursorBody;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorBody;
  } catch {
    throw new BadRequest('cursor is not one this server issued', 'cursor');
  }
  if (
    typeof body !== 'object' ||
    body === null ||
    (typeof body.v !== 'number' && typeof body.v !== 'string') ||
    typeof body.i !== 'string' ||
    !/^[0-9a-f]{64}$/.test(body.i)
  )
    throw new BadRequest('cursor is not one this server issued', 'cursor');
  if (body.q !== fingerprint)
    throw new BadRequest('cursor belongs to a different query: keep the filters and sort of the first page', 'cursor');
  return { value: body.v, id: body.i };
}
