// The flags by which a command learns who runs it (--actor locally, --requester from a Strata template, the cluster).
import type { Argv } from 'yargs';

export interface IdentityArgs {
  actor?: string;
  requester?: string;
  'requester-groups'?: string;
  'kube-server'?: string;
}

export function withIdentityOptions<T>(y: Argv<T>): Argv<T & IdentityArgs> {
  return y
    .option('actor', {
      type: 'string',
      describe: 'who, in local mode only (default $STRATA_ACTOR or the OS user); on a cluster the API server says',
    })
    .option('requester', {
      type: 'string',
      describe:
        "the submitter a Strata template's step acts for (trusted only from ServiceAccounts in trustRequesterFrom)",
    })
    .option('requester-groups', {
      type: 'string',
      describe:
        "groups of the requester, comma-separated, that admission checked are theirs (asked with the requester's name)",
    })
    .option('kube-server', {
      type: 'string',
      describe: 'API server URL (env STRATA_KUBE_SERVER; bearer token in STRATA_KUBE_TOKEN)',
    }) as Argv<T & IdentityArgs>;
}

/** The claim ctx.caller takes, from the parsed flags. */
export function identityClaim(args: IdentityArgs): {
  actor?: string;
  requester?: string;
  requesterGroups?: string[];
  kubeServer?: string;
} {
  // Argo passes the list as one parameter, "" when the submitter named no groups.
  const groups = args['requester-groups']
    ?.split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  return {
    actor: args.actor,
    requester: args.requester,
    requesterGroups: groups?.length ? groups : undefined,
    kubeServer: args['kube-server'],
  };
}
