// The flags by which a command learns who runs it (--actor locally, --requester from a Strata template, the cluster).
import type { Argv } from 'yargs';

export interface IdentityArgs {
  actor?: string;
  requester?: string;
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
    .option('kube-server', {
      type: 'string',
      describe: 'API server URL (env STRATA_KUBE_SERVER; bearer token in STRATA_KUBE_TOKEN)',
    }) as Argv<T & IdentityArgs>;
}

/** The claim ctx.caller takes, from the parsed flags. */
export function identityClaim(args: IdentityArgs): { actor?: string; requester?: string; kubeServer?: string } {
  return { actor: args.actor, requester: args.requester, kubeServer: args['kube-server'] };
}
