// The path and query of a request, as the client sent them. WHATWG URL parsing would normalize the path before
// routing: "//host/api/…" became a host and the path "/api/…", and "a/../b" or "%2e%2e" segments collapsed, so a
// request could be answered as a different resource than it names. Here the path stays raw: a dot segment reaches
// the parameter schemas (which refuse it) or matches no route.
import { BadRequest } from '../api/errors.ts';

export interface RequestTarget {
  /** Undecoded, unnormalized. */
  pathname: string;
  searchParams: URLSearchParams;
}

export function requestTarget(raw: string): RequestTarget {
  // absolute-form (RFC 9112 3.2.2) carries a scheme and authority before the path: drop them, keep the path raw.
  const target = /^https?:\/\//i.test(raw) ? raw.replace(/^https?:\/\/[^/?#]*/i, '') || '/' : raw;
  if (!target.startsWith('/'))
    throw new BadRequest(
      `the request target must be a path starting with "/", not ${JSON.stringify(target.slice(0, 64))}`,
    );
  const end = target.search(/[?#]/);
  const pathname = end < 0 ? target : target.slice(0, end);
  const query = end < 0 || target[end] === '#' ? '' : target.slice(end + 1).split('#')[0]!;
  return { pathname, searchParams: new URLSearchParams(query) };
}
