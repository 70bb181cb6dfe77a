// `strata hold set|release|list`: legal holds in the archive repository; a held workflow is never deleted.
import type { Argv, CommandModule } from 'yargs';
import { archivedNamespace, openRepository } from '../../lib/archive/index.ts';
import { identityClaim, withIdentityOptions, type IdentityArgs } from '../../lib/cli/identity-options.ts';
import { runStep, type GlobalArgs, type StepContext } from '../../lib/cli/run-step.ts';
import { ExitCode } from '../../lib/errors.ts';
import { syncHoldLocks } from '../../lib/holds/store-locks.ts';
import type { Caller } from '../../lib/identity/caller.ts';
import type { AccessCheck } from '../../lib/identity/identity.ts';
import { HoldRepository, newRecordId } from '../../lib/holds/hold-store.ts';

/** The caller, once they may do `verb` on holds of the workflow (in its namespace, or everywhere when unarchived). */
async function authorizedCaller(
  ctx: StepContext,
  args: IdentityArgs & { workflow?: string },
  check: Pick<AccessCheck, 'verb'>,
  audited?: { action: 'hold-set' | 'hold-release' },
): Promise<Caller> {
  const caller = await ctx.caller(identityClaim(args));
  if (!caller.identity.verified) return caller;
  const namespace = args.workflow
    ? await archivedNamespace(await openRepository(ctx.store()), args.workflow)
    : undefined;
  await caller.require(
    { verb: check.verb, resource: 'holds', namespace, name: args.workflow },
    audited && { audit: ctx.audit, action: audited.action, subject: args.workflow ?? '' },
  );
  return caller;
}
import { activeHolds } from '../../lib/policy/holds.ts';

interface SetArgs extends IdentityArgs {
  workflow: string;
  reason: string;
  id?: string;
}

const setCommand: CommandModule<GlobalArgs, SetArgs> = {
  command: 'set <workflow>',
  describe: 'Place a legal hold on a workflow (by uid): nothing of it is deleted until the hold is released',
  builder: (y) =>
    withIdentityOptions(y)
      .positional('workflow', { type: 'string', demandOption: true, describe: 'workflow uid' })
      .option('reason', { type: 'string', demandOption: true, describe: 'why (case number, ticket)' })
      .option('id', {
        type: 'string',
        describe: 'hold id (default generated); reusing it makes retries idempotent',
      }) as Argv<SetArgs>,
  handler: runStep<SetArgs>(async (args, ctx) => {
    const now = new Date();
    const caller = await authorizedCaller(ctx, args, { verb: 'create' }, { action: 'hold-set' });
    const hold = await new HoldRepository(ctx.store(), ctx.audit).setHold({
      workflowUid: args.workflow,
      id: args.id ?? newRecordId('hold', now),
      ...caller.actor,
      reason: args.reason,
      created: now,
    });
    return withStoreLocks(ctx, hold, now);
  }),
};

/** Brings the store's Object Lock legal holds in line with the records, then prints the record with what it did. */
async function withStoreLocks(ctx: StepContext, record: object, now: Date): Promise<ExitCode> {
  const { storeLocks, problems } = await syncHoldLocks(ctx.store(), now);
  ctx.output({ ...record, storeLocks });
  if (problems.length) {
    return ctx.fail(`the hold record is written, but the store did not lock: ${problems.join('; ')}`);
  }
  return ExitCode.Ok;
}

interface ReleaseArgs extends IdentityArgs {
  workflow: string;
  id: string;
  reason: string;
}

const releaseCommand: CommandModule<GlobalArgs, ReleaseArgs> = {
  command: 'release <workflow> <id>',
  describe: 'Release a hold: writes a release record, the hold itself stays as history',
  builder: (y) =>
    withIdentityOptions(y)
      .positional('workflow', { type: 'string', demandOption: true, describe: 'workflow uid' })
      .positional('id', { type: 'string', demandOption: true, describe: 'hold id' })
      .option('reason', { type: 'string', demandOption: true, describe: 'why the hold ends' }) as Argv<ReleaseArgs>,
  handler: runStep<ReleaseArgs>(async (args, ctx) => {
    const caller = await authorizedCaller(ctx, args, { verb: 'delete' }, { action: 'hold-release' });
    const now = new Date();
    const hold = await new HoldRepository(ctx.store(), ctx.audit).releaseHold({
      workflowUid: args.workflow,
      id: args.id,
      ...caller.actor,
      reason: args.reason,
      at: now,
    });
    return withStoreLocks(ctx, hold, now);
  }),
};

interface ListArgs extends IdentityArgs {
  workflow?: string;
  all?: boolean;
}

const listCommand: CommandModule<GlobalArgs, ListArgs> = {
  command: 'list [workflow]',
  describe: 'List active holds (of one workflow, or all); --all includes released ones',
  builder: (y) =>
    withIdentityOptions(y)
      .positional('workflow', { type: 'string', describe: 'workflow uid' })
      .option('all', { type: 'boolean', describe: 'include released holds' }) as Argv<ListArgs>,
  handler: runStep<ListArgs>(async (args, ctx) => {
    await authorizedCaller(ctx, args, { verb: 'list' });
    const holds = await new HoldRepository(ctx.store()).listHolds(args.workflow);
    const now = new Date();
    const shown = args.all ? holds : holds.filter((h) => activeHolds([h], h.workflowUid, now).length > 0);
    ctx.output(
      shown.map((h) => ({
        workflow: h.workflowUid,
        id: h.id,
        actor: `${h.actor}${h.actorVerified ? '' : ' (unverified)'}`,
        reason: h.reason,
        created: h.created,
        released: h.released
          ? `${h.released.at} by ${h.released.actor}${h.released.actorVerified ? '' : ' (unverified)'}: ${h.released.reason}`
          : '',
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
      .command(setCommand)
      .command(releaseCommand)
      .command(listCommand)
      .demandCommand(1, 'name a hold command: set, release, list'),
  handler: () => {},
};
