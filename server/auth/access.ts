// Who calls the server and what they may read: the ports the HTTP layer asks (adapters: token file, Kubernetes).

/** A caller whose bearer token was verified (never a name the request merely claims). */
export interface Caller {
  username: string;
  groups: readonly string[];
  /** Which authenticator vouched: `token-file` (embedded mode) or `token-review` (Kubernetes). */
  via: 'token-file' | 'token-review';
}

/** Strata's verbs on archived workflows (resource `archives` in API group `strata.dev`), per namespace. */
export type ArchiveVerb = 'get' | 'list';

export const STRATA_GROUP = 'strata.dev';
export const ARCHIVES_RESOURCE = 'archives';

export interface Authenticator {
  /** The caller a token belongs to, or undefined when the token is not valid. */
  authenticate(token: string): Promise<Caller | undefined>;
}

export interface Authorizer {
  /** May the caller `verb` archived workflows of `namespace`? */
  allows(caller: Caller, verb: ArchiveVerb, namespace: string): Promise<boolean>;
}

/** The namespaces among `candidates` the caller may `verb`, asked concurrently. */
export async function visibleNamespaces(
  authorizer: Authorizer,
  caller: Caller,
  verb: ArchiveVerb,
  candidates: readonly string[],
): Promise<string[]> {
  const answers = await Promise.all(candidates.map((ns) => authorizer.allows(caller, verb, ns)));
  return candidates.filter((_, i) => answers[i]);
}
