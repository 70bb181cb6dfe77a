// The catalog's one full-text query language, parsed once; every backend translates the tree, none parses text.
//
//   words          all must occur (implicit AND)          connection refused
//   "a phrase"     tokens next to each other, in order    "connection refused"
//   prefix*        a token starting with prefix           conn*   "connection ref"*
//   a OR b, a AND b, a NOT b, ( … )                       (kraken OR panicked) NOT retry
//
// Precedence, loosest first: OR, AND (explicit or implied), NOT (binary: left and not right), as in SQLite FTS5,
// whose syntax this is a subset of. Text is matched token by token after tokenize(): a bare word such as
// `exit-code:137` is the phrase "exit code 137".
import { ConfigError } from '../errors.ts';
import { searchableText } from './log-text.ts';

export type TextQuery =
  /** Tokens that must occur consecutively; with `prefix`, the last one only has to start with its token. */
  | { kind: 'phrase'; tokens: string[]; prefix: boolean }
  | { kind: 'and' | 'or'; of: TextQuery[] }
  /** `include` and not `exclude`. */
  | { kind: 'not'; include: TextQuery; exclude: TextQuery };

// Token characters: letters, digits and private-use characters (SQLite FTS5's unicode61 tokenizer's classes).
const TOKEN = /[\p{L}\p{N}\p{Co}]+/gu;
const MARKS = /\p{M}/gu;

/** A token as every index stores it: lower case, diacritics removed. */
export function normalizeToken(token: string): string {
  return token.normalize('NFD').replace(MARKS, '').toLowerCase();
}

export interface Token {
  /** Normalized token. */
  token: string;
  /** [start, end) in UTF-16 code units of the text it came from. */
  start: number;
  end: number;
}

/** The tokens of (searchable) text with their positions, as the full-text indexes see them. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const token = normalizeToken(m[0]);
    if (token !== '') out.push({ token, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/**
 * The tokens of stored log text as the indexes see them (after searchableText), with their places in the stored
 * text: a sub-second timestamp fraction (`:SS.843025308Z`) is the token `0z`, exactly as searchableText rewrites it.
 */
export function logTokens(text: string): Token[] {
  const tokens = tokenize(text);
  for (const t of tokens) {
    if (t.start >= 4 && /^[0-9]+z/.test(t.token) && /^:[0-9][0-9]\.$/.test(text.slice(t.start - 4, t.start)))
      t.token = t.token.replace(/^[0-9]+z/, '0z');
  }
  return tokens;
}

type Lexeme = { t: '(' | ')' | 'OR' | 'AND' | 'NOT' } | { t: 'phrase'; text: string; prefix: boolean };

/** Parses a user's query; a malformed one is a ConfigError naming the query and what is wrong. */
export function parseTextQuery(input: string): TextQuery {
  const fail = (why: string): never => {
    throw new ConfigError(
      `full-text query ${JSON.stringify(input)} is not valid: ${why}; put words in double quotes to search for them literally`,
      { key: 'text' },
    );
  };
  if (!input.trim()) throw new ConfigError('full-text query is empty', { key: 'text' });
  const lexemes = lex(searchableText(input), fail);
  let at = 0;
  const peek = () => lexemes[at];
  const isOperand = (l: Lexeme | undefined) => l !== undefined && (l.t === 'phrase' || l.t === '(');

  const primary = (): TextQuery => {
    const l = lexemes[at++];
    if (l === undefined) return fail('it ends where a word or phrase was expected');
    if (l.t === '(') {
      const inner = or();
      if (lexemes[at++]?.t !== ')') fail('a "(" is not closed');
      return inner;
    }
    if (l.t !== 'phrase') return fail(`"${l.t}" stands where a word or phrase was expected`);
    const tokens = tokenize(l.text).map((t) => t.token);
    if (tokens.length === 0) fail(`${JSON.stringify(l.text)} has no letters or digits to search for`);
    return { kind: 'phrase', tokens, prefix: l.prefix };
  };
  const not = (): TextQuery => {
    let left = primary();
    while (peek()?.t === 'NOT') {
      at++;
      left = { kind: 'not', include: left, exclude: primary() };
    }
    return left;
  };
  const and = (): TextQuery => {
    const of = [not()];
    for (;;) {
      if (peek()?.t === 'AND') at++;
      else if (!isOperand(peek())) break;
      of.push(not());
    }
    return of.length === 1 ? of[0]! : { kind: 'and', of };
  };
  const or = (): TextQuery => {
    const of = [and()];
    while (peek()?.t === 'OR') {
      at++;
      of.push(and());
    }
    return of.length === 1 ? of[0]! : { kind: 'or', of };
  };
  const tree = or();
  if (at < lexemes.length) fail(`unexpected "${lexemes[at]!.t === 'phrase' ? 'word' : lexemes[at]!.t}"`);
  return tree;
}

function lex(s: string, fail: (why: string) => never): Lexeme[] {
  const out: Lexeme[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '(' || c === ')') {
      out.push({ t: c });
      i++;
    } else if (c === '"') {
      let text = '';
      for (i++; ; i++) {
        if (i >= s.length) fail('a double quote is not closed');
        if (s[i] === '"') {
          if (s[i + 1] !== '"') break;
          i++;
        }
        text += s[i];
      }
      i++;
      const prefix = s[i] === '*';
      if (prefix) i++;
      out.push({ t: 'phrase', text, prefix });
    } else {
      let j = i;
      while (j < s.length && !/[\s()"]/.test(s[j]!)) j++;
      let word = s.slice(i, j);
      i = j;
      if (word === 'OR' || word === 'AND' || word === 'NOT') out.push({ t: word });
      else {
        const prefix = word.endsWith('*');
        if (prefix) word = word.slice(0, -1);
        out.push({ t: 'phrase', text: word, prefix });
      }
    }
  }
  return out;
}

/** The phrases a document must contain for the query to possibly match (for indexes that only filter). */
export function phrasesOf(q: TextQuery): Array<Extract<TextQuery, { kind: 'phrase' }>> {
  if (q.kind === 'phrase') return [q];
  if (q.kind === 'not') return phrasesOf(q.include);
  return q.of.flatMap(phrasesOf);
}

/** Where a query matches in a text: the matched tokens' spans, or undefined when it does not match. */
export function matchText(q: TextQuery, tokens: readonly Token[]): Array<[number, number]> | undefined {
  switch (q.kind) {
    case 'phrase': {
      const spans: Array<[number, number]> = [];
      const n = q.tokens.length;
      for (let i = 0; i + n <= tokens.length; i++) {
        let ok = true;
        for (let k = 0; k < n && ok; k++) {
          const have = tokens[i + k]!.token;
          const want = q.tokens[k]!;
          ok = q.prefix && k === n - 1 ? have.startsWith(want) : have === want;
        }
        // One span per occurrence of the phrase, from its first token to its last.
        if (ok) spans.push([tokens[i]!.start, tokens[i + n - 1]!.end]);
      }
      return spans.length ? spans : undefined;
    }
    case 'and': {
      const spans: Array<[number, number]> = [];
      for (const part of q.of) {
        const m = matchText(part, tokens);
        if (!m) return undefined;
        spans.push(...m);
      }
      return spans;
    }
    case 'or': {
      const matches = q.of.map((part) => matchText(part, tokens)).filter((m) => m !== undefined);
      return matches.length ? matches.flat() : undefined;
    }
    case 'not':
      return matchText(q.exclude, tokens) ? undefined : matchText(q.include, tokens);
  }
}

/** The query in SQLite FTS5 syntax (tokens are letters and digits only, so quoting them is always safe). */
export function toFts5(q: TextQuery): string {
  switch (q.kind) {
    case 'phrase':
      return `"${q.tokens.join(' ')}"${q.prefix ? ' *' : ''}`;
    case 'and':
    case 'or':
      return `(${q.of.map(toFts5).join(q.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `(${toFts5(q.include)} NOT ${toFts5(q.exclude)})`;
  }
}

/** True when every phrase is one token: an index without positions answers the query exactly. */
export function isSingleTokens(q: TextQuery): boolean {
  if (q.kind === 'phrase') return q.tokens.length === 1;
  if (q.kind === 'not') return isSingleTokens(q.include) && isSingleTokens(q.exclude);
  return q.of.every(isSingleTokens);
}

/**
 * The query in FTS5 syntax for an index without positions (detail=none): never misses a segment the query matches.
 * A phrase becomes all of its tokens; an excluded phrase of several tokens excludes nothing (the matcher decides).
 */
export function toFts5Candidates(q: TextQuery): string {
  switch (q.kind) {
    case 'phrase':
      return `(${q.tokens.map((t, i) => `"${t}"${q.prefix && i === q.tokens.length - 1 ? ' *' : ''}`).join(' AND ')})`;
    case 'and':
    case 'or':
      return `(${q.of.map(toFts5Candidates).join(q.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return isSingleTokens(q.exclude)
        ? `(${toFts5Candidates(q.include)} NOT ${toFts5Candidates(q.exclude)})`
        : toFts5Candidates(q.include);
  }
}
