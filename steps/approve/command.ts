// `strata approve`: the second person of a two-person act approves it as themselves, on the cluster.
import { stepCommand } from '../../lib/cli/step-command.ts';
import { AccessDeniedError, ConfigError, ExitCode, InputError } from '../../lib/errors.ts';
import {
  DEFAULT_APPROVAL_LIFETIME_MS,
  MAX_APPROVAL_LIFETIME_MS,
  samePerson,
  type ApprovedAction,
} from '../../lib/identity/approval.ts';
import { openApprovals } from '../../lib/identity/caller.ts';
import { addDuration, durationFlag, fixedDurationFlagMs } from '../../lib/policy/duration.ts';

const ACTIONS = ['emergency-delete', 'extend'] as const satisfies readonly ApprovedAction[];

export const approveCommand = stepCommand({
  command: 'approve <action> <uid>',
  describe:
    "Approve another person's emergency-delete or long extension of one workflow, as yourself (cluster identity only)",
  builder: (y) =>
    y
      .positional('action', { choices: ACTIONS, demandOption: true, describe: 'what is approved' })
      .positional('uid', { type: 'string', demandOption: true, describe: 'workflow uid' })
      .option('requested-by', {
        type: 'string',
        demandOption: true,
        describe: "the requester's username, exactly as the API server names them (not you)",
      })
      .option('reason', { type: 'string', demandOption: true, describe: "the request's reason, word for word" })
      .option('namespace', {
        alias: 'n',
        type: 'string',
        demandOption: true,
        describe: "the workflow's namespace (your permission to approve is asked there)",
      })
      .option('break-glass', { type: 'boolean', default: false, describe: 'emergency-delete over a legal hold' })
      .option('until', { type: 'string', describe: 'extend: the latest date the workflow may be kept until' })
      .option('for', { type: 'string', describe: 'extend: or how long from now, e.g. 2y' })
      .option('expires-in', {
        type: 'string',
        default: '24h',
        describe: 'the approval lapses after this (at most 7d)',
      })
      .option('kube-server', {
        type: 'string',
        describe: 'API server URL (env STRATA_KUBE_SERVER; bearer token in STRATA_KUBE_TOKEN)',
      })
      .conflicts('until', 'for'),
  handler: async (args, ctx) => {
    const now = new Date();
    const lifetime = fixedDurationFlagMs('expires-in', args['expires-in']);
    if (lifetime <= 0 || lifetime > MAX_APPROVAL_LIFETIME_MS) {
      throw new InputError(`--expires-in ${args['expires-in']}: an approval lasts more than 0 and at most 7d`);
    }
    const action = args.action;
    let until: Date | undefined;
    if (action === 'extend') {
      if (args.for) until = addDuration(now, durationFlag('for', args.for));
      else if (args.until) until = new Date(args.until);
      if (!until || Number.isNaN(until.getTime())) {
        throw new InputError('approve extend: give --until <ISO date> or --for <duration>');
      }
    }
    const caller = await ctx.caller({ kubeServer: args['kube-server'] });
    if (!caller.identity.verified) {
      throw new ConfigError(
        'an approval is an act of a verified person: run strata approve against the cluster (identity: cluster); locally the requester names an --approver, recorded unverified',
      );
    }
    const approver = caller.identity.username;
    if (samePerson(approver, args['requested-by'])) {
      throw new AccessDeniedError(`${approver} cannot approve their own request: another person approves`);
    }
    await caller.require({ verb: 'create', resource: 'approvals', namespace: args.namespace, name: args.uid });
    const store = await openApprovals(ctx.config.namespace, args['kube-server'], process.env);
    const approval = await store.create({
      action,
      workflow: args.uid,
      namespace: args.namespace,
      reason: args.reason,
      requester: args['requested-by'],
      approver,
      breakGlass: action === 'emergency-delete' && args['break-glass'],
      expires: new Date(now.getTime() + (lifetime || DEFAULT_APPROVAL_LIFETIME_MS)),
      ...(until && { until }),
    });
    ctx.log(`approved: ${approval.name} in ${ctx.config.namespace}, until ${approval.expires.toISOString()}`);
    ctx.output(approval);
    return ExitCode.Ok;
  },
});
