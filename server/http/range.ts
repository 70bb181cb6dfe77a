// HTTP Range headers (RFC 9110) for one body of known size.
import type { ByteSpan } from '../service/log-stream.ts';

/**
 * Reads a Range header for a body of `size` bytes: a span, 'unsatisfiable', or undefined to send everything
 * (no header, another unit, or several ranges — which RFC 9110 lets a server answer with the whole body).
 */
export function parseRange(header: string | undefined, size: number): ByteSpan | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return undefined; // an invalid range is ignored (RFC 9110 14.2)
  return { start, end };
}
