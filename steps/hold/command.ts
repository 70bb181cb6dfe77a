// `strata hold set|release|list`: legal holds in the archive repository; a held workflow is never deleted.
import type { Argv, CommandModule } from 'yargs';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { ExitCode } from '../../lib/errors.ts';
import { resolveActor } from '../../lib/holds/actor.ts';
import { HoldRepository, newRecordId } from '../../lib/holds/hold-store.ts';
import { activeHolds } from '../../lib/policy/holds.ts';

interface SetArgs {
  workflow: string;
  reason: string;
  actor?: string;
  id?: string;
}

const setCommand: CommandModule<GlobalArgs, SetArgs> = {
  command: 'set <workflow>',
  describe: 'Place a legal hold on a workflow (by uid): nothing of it is deleted until the hold is released',
  builder: (y) =>
    y
      .positional('workflow', { type: 'string', demandOption: true, describe: 'workflow uid' })
      .option('reason', { type: 'string', demandOption: true, describe: 'why (case number, ticket)' })
      .option('actor', { type: 'string', describe: 'who (default $STRATA_ACTOR or the OS user)' })
      .option('id', {
        type: 'string',
        describe: 'hold id (default generated); reusing it makes retries idempotent',
      }) as Argv<SetArgs>,
  handler: runStep<SetArgs>(async (args, ctx) => {
    const now = new Date();
    const actor = resolveActor(args.actor);
    const hold = await new HoldRepository(ctx.store(), ctx.audit).setHold({
      workflowUid: args.workflow,
      id: args.id ?? newRecordId('hold', now),
      actor,
      reason: args.reason,
      created: now,
    });
    ctx.output(hold);
    return ExitCode.Ok;
  }),
};

interface ReleaseArgs {
  workflow: string;
  id: string;
  reason: string;
  actor?: string;
}

const releaseCommand: CommandModule<GlobalArgs, ReleaseArgs> = {
  command: 'release <workflow> <id>',
  describe: 'Release a hold: writes a release record, the hold itself stays as history',
  builder: (y) =>
    y
      .positional('workflow', { type: 'string', demandOption: true, describe: 'workflow uid' })
      .positional('id', { type: 'string', demandOption: true, describe: 'hold id' })
      .option('reason', { type: 'string', demandOption: true, describe: 'why the hold ends' })
      .option('actor', { type: 'string', describe: 'who (default $STRATA_ACTOR or the OS user)' }) as Argv<ReleaseArgs>,
  handler: runStep<ReleaseArgs>(async (args, ctx) => {
    const actor = resolveActor(args.actor);
    const hold = await new HoldRepository(ctx.store(), ctx.audit).releaseHold({
      workflowUid: args.workflow,
      id: args.id,
      actor,
      reason: args.reason,
      at: new Date(),
    });
    ctx.output(hold);
    return ExitCode.Ok;
  }),
};

interface ListArgs {
  workflow?: string;
  all?: boolean;
}

const listCommand: CommandModule<GlobalArgs, ListArgs> = {
  command: 'list [workflow]',
  describe: 'List active holds (of one workflow, or all); --all includes released ones',
  builder: (y) =>
    y
      .positional('workflow', { type: 'string', describe: 'workflow uid' })
      .option('all', { type: 'boolean', describe: 'include released holds' }) as Argv<ListArgs>,
  handler: runStep<ListArgs>(async (args, ctx) => {
    const holds = await new HoldRepository(ctx.store()).listHolds(args.workflow);
    const now = new Date();
    const shown = args.all ? holds : holds.filter((h) => activeHolds([h], h.workflowUid, now).length > 0);
    ctx.output(
      shown.map((h) => ({
        workflow: h.workflowUid,
        id: h.id,
        actor: h.actor,
        reason: h.reason,
        created: h.created,
        released: h.released ? `${h.released.at} by ${h.released.actor}: ${h.released.reason}` : '',
      })),
    );
    return ExitCode.Ok;
  }),
};

export const holdCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'hold <command>',
  describe: 'Legal holds: set, release, list',
  builder: (y) =>
    y
      .command(setCommand as never)
      .command(releaseCommand as never)
      .command(listCommand as never)
      .demandCommand(1, 'name a hold command: set, release, list'),
  handler: () => {},
};
