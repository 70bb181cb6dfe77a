// RE2 semantics for CEL `matches`: linear-time matching (re2js), so no policy expression can hang the engine.
import { RE2JS } from 're2js';

const cache = new Map<string, RE2JS>();
const MAX_CACHE = 1024;

/** Compiles (and caches) an RE2 pattern; throws RE2JSSyntaxException on invalid syntax. */
export function compileRe2(pattern: string): RE2JS {
  let re = cache.get(pattern);
  if (!re) {
    re = RE2JS.compile(pattern);
    if (cache.size >= MAX_CACHE) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

/** CEL `matches`: true when the pattern matches any substring (RE2 `find`, as in cel-go). */
export function re2Matches(text: string, pattern: string): boolean {
  return compileRe2(pattern).matcher(text).find();
}

/** The syntax error of a pattern, or undefined when RE2 accepts it. */
export function re2SyntaxError(pattern: string): string | undefined {
  try {
    compileRe2(pattern);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
