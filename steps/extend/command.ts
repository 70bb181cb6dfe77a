// `strata extend`: keep a workflow's archive longer than its policy says, recorded with who, why and until when;
// on a cluster, beyond `extendApprovalBeyond` from now only with another person's approval (`strata approve extend`).
import type { Argv, CommandModule } from 'yargs';
import { archivedNamespace, openRepository } from '../../lib/archive/index.ts';
import { identityClaim, withIdentityOptions, type IdentityArgs } from '../../lib/cli/identity-options.ts';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { ExitCode, InputError } from '../../lib/errors.ts';
import { extensionApproval } from '../../lib/holds/extension-approval.ts';
import { openApprovals } from '../../lib/identity/caller.ts';
import { addDuration, durationFlag } from '../../lib/policy/duration.ts';
import { HoldRepository, newRecordId } from '../../lib/holds/hold-store.ts';

interface ExtendArgs extends IdentityArgs {
  workflow: string;
  until?: string;
  for?: string;
  reason: string;
  id?: string;
}

export const extendCommand: CommandModule<GlobalArgs, ExtendArgs> = {
  command: 'extend <workflow>',
  describe: 'Extend retention of a workflow (by uid) until a date; extensions only ever add time',
  builder: (y) =>
    withIdentityOptions(y)
      .positional('workflow', { type: 'string', demandOption: true, describe: 'workflow uid' })
      .option('until', { type: 'string', describe: 'keep at least until this ISO date' })
      .option('for', { type: 'string', describe: 'or: keep at least this long from now, e.g. 90d, 1y' })
      .option('reason', { type: 'string', demandOption: true, describe: 'why' })
      .option('id', {
        type: 'string',
        describe: 'extension id (default generated); reusing it makes retries idempotent',
      })
      .conflicts('until', 'for')
      .check((a) => {
        if (!a.until && !a.for) throw new Error('give --until <date> or --for <duration>');
        return true;
      }) as Argv<ExtendArgs>,
  handler: runStep<ExtendArgs>(async (args, ctx) => {
    const now = new Date();
    let until: Date;
    if (args.for) {
      until = addDuration(now, durationFlag('for', args.for));
    } else {
      until = new Date(args.until!);
      if (Number.isNaN(until.getTime())) throw new InputError(`--until: "${args.until}" is not an ISO date`);
    }
    if (until <= now) throw new InputError(`--until ${until.toISOString()} is in the past: an extension must add time`);
    const caller = await ctx.caller(identityClaim(args));
    let approval: { name: string; approver: string } | undefined;
    if (caller.identity.verified) {
      const namespace = await archivedNamespace(await openRepository(ctx.store()), args.workflow);
      const audited = { audit: ctx.audit, action: 'extend' as const, subject: args.workflow };
      await caller.require({ verb: 'create', resource: 'extensions', namespace, name: args.workflow }, audited);
      approval = await extensionApproval(
        () => openApprovals(ctx.config.namespace, args['kube-server'], process.env),
        ctx.audit,
        ctx.config.extendApprovalBeyond,
        { workflow: args.workflow, reason: args.reason, requester: caller.identity.username, namespace, until, now },
      );
    }
    const ext = await new HoldRepository(ctx.store(), ctx.audit).addExtension({
      workflowUid: args.workflow,
      id: args.id ?? newRecordId('ext', now),
      ...caller.actor,
      reason: args.reason,
      until,
      created: now,
      ...(approval && { approval }),
    });
    ctx.output(ext);
    return ExitCode.Ok;
  }),
};
