// Who calls the server and what they may read: the ports the HTTP layer asks (adapters: token file, Kubernetes).

/** A caller whose bearer token was verified (never a name the request merely claims). */
export interface Caller {
  username: string;
  groups: readonly string[];
  /** Which authenticator vouched: `token-file` (embedded mode), `token-review` (Kubernetes) or `oidc`. */
  via: 'token-file' | 'token-review' | 'oidc';
}

/**
 * What a caller asks to do with archived workflows of a namespace, as the CLI asks it (lib/identity): `get`/`list`
 * (resource `archives` in API group `strata.dev`), `restore` (`create restores`), `hold` (`create holds`),
 * `release-hold` (`delete holds`), `extend` (`create extensions`) and `approve` (`create approvals`: be the second
 * person of another's request).
 */
export type ArchiveVerb = 'get' | 'list' | 'restore' | 'hold' | 'release-hold' | 'extend' | 'approve';

export const ARCHIVE_VERBS = [
  'get',
  'list',
  'restore',
  'hold',
  'release-hold',
  'extend',
  'approve',
] as const satisfies readonly ArchiveVerb[];

export const STRATA_GROUP = 'strata.dev';
export const ARCHIVES_RESOURCE = 'archives';

const RESOURCE_VERBS: Record<ArchiveVerb, { resource: string; verb: string }> = {
  get: { resource: ARCHIVES_RESOURCE, verb: 'get' },
  list: { resource: ARCHIVES_RESOURCE, verb: 'list' },
  restore: { resource: 'restores', verb: 'create' },
  hold: { resource: 'holds', verb: 'create' },
  'release-hold': { resource: 'holds', verb: 'delete' },
  extend: { resource: 'extensions', verb: 'create' },
  approve: { resource: 'approvals', verb: 'create' },
};

/** The Kubernetes resource and verb a SubjectAccessReview asks about for an ArchiveVerb. */
export function resourceVerb(verb: ArchiveVerb): { resource: string; verb: string } {
  return RESOURCE_VERBS[verb];
}

/**
 * The bearer token each verified caller presented, for the one act the cluster must see as the caller's own: an
 * approval, created on the API server with the approver's token (never logged, never stored).
 */
export const presentedTokens = new WeakMap<Caller, string>();

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
