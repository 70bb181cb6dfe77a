// `strata thaw <workflow>`: plans and requests the restore of a workflow's packs from GLACIER/DEEP_ARCHIVE (tier by
// --deadline, time and retrieval cost), and reports progress; exit 0 once every pack is readable. Run again (Argo
// retries) to poll: the state is in the store.
import type { Argv, CommandModule } from 'yargs';
import { openRepository, resolveManifest } from '../../lib/archive/index.ts';
import { identityClaim, withIdentityOptions, type IdentityArgs } from '../../lib/cli/identity-options.ts';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { ExitCode, InputError } from '../../lib/errors.ts';
import { fixedDurationFlagMs } from '../../lib/policy/duration.ts';
import { RESTORE_CLASSES } from '../../lib/tier/storage-class.ts';
import { planThaw, requestThaw, thawStates } from '../../lib/tier/thaw.ts';
import { openVault } from '../../lib/store/vault.ts';
import { thawFromVault, vaultRecord } from '../../lib/tier/vault.ts';
import type { RestoreTier } from '../../lib/store/store.ts';

interface ThawArgs extends IdentityArgs {
  workflow: string;
  deadline?: string;
  days: number;
  'dry-run'?: boolean;
  vault?: string;
}

export const thawCommand: CommandModule<GlobalArgs, ThawArgs> = {
  command: 'thaw <workflow>',
  describe:
    "Restore a workflow's packs from GLACIER/DEEP_ARCHIVE so it can be read: plan (tier, hours, cost), request, poll",
  builder: (y) =>
    withIdentityOptions(y)
      .positional('workflow', {
        type: 'string',
        demandOption: true,
        describe: 'manifest id, workflow uid, name or namespace/name',
      })
      .option('deadline', {
        type: 'string',
        describe: 'readable within this long (e.g. 1h, 12h, 2d): picks the cheapest tier that makes it',
      })
      .option('days', { type: 'number', default: 7, describe: 'days the thawed copies stay readable' })
      .option('dry-run', { type: 'boolean', describe: 'print the plan, request nothing' })
      .option('vault', {
        type: 'string',
        describe: 'the Glacier vault (glacier://name) packs of the deep tier were moved to: retrieve them from it',
      }) as Argv<ThawArgs>,
  handler: runStep<ThawArgs>(async (args, ctx) => {
    if (!Number.isInteger(args.days) || args.days < 1)
      throw new InputError(`--days ${args.days} must be a whole number of days, at least 1`);
    const deadlineHours =
      args.deadline === undefined ? undefined : fixedDurationFlagMs('deadline', args.deadline) / 3_600_000;
    const repo = await openRepository(ctx.store());
    const { id, manifest } = await resolveManifest(repo, args.workflow);
    // Thawing is the first step of reading a workflow back, and it costs money: the same permission as the restore.
    const caller = await ctx.caller(identityClaim(args));
    await caller.require(
      { verb: 'create', resource: 'restores', namespace: manifest.workflow.namespace, name: manifest.workflow.uid },
      { audit: ctx.audit, action: 'restore', subject: id },
    );
    const before = await thawStates(repo, manifest);
    const plan = planThaw(before, deadlineHours);
    if (plan.deadlineMissed) ctx.log(`deadline: ${plan.deadlineMissed}`);
    const states =
      args['dry-run'] || !plan.packs.length ? undefined : await requestThaw(repo, manifest, plan, args.days);
    const after = states ? planThaw(states, deadlineHours) : plan;
    // Packs moved into the vault are not in the store at all: a retrieval job each, then put back verified.
    if (args.vault) {
      const vault = await openVault(args.vault, ctx.config.s3);
      const vaulted = [];
      for (const packId of manifest.packs)
        if (await vaultRecord(repo, manifest.group, packId)) vaulted.push({ group: manifest.group, packId });
      const tier: RestoreTier =
        deadlineHours === undefined || deadlineHours >= 12 ? 'Bulk' : deadlineHours >= 5 ? 'Standard' : 'Expedited';
      const pending = args['dry-run'] ? vaulted : [];
      const results = args['dry-run'] ? [] : await thawFromVault(repo, vault, vaulted, tier, new Date(), args.days);
      for (const r of results) if (r.error) ctx.log(`vault: ${r.pack}: ${r.error}`);
      const notBack = results.filter((r) => r.state !== 'restored').length + pending.length;
      // thawStates counted a pack missing from the store as readable: it is not until it is back.
      after.ready -= notBack;
      if (vaulted.length)
        ctx.log(`vault: ${vaulted.length} pack(s) in ${vault.url}, ${vaulted.length - notBack} back (${tier})`);
    }
    // Packs in a cold class, and of those readable now (the server's restore jobs show them as the thaw state).
    const coldPacks = before.filter((s) => s.storageClass && RESTORE_CLASSES.has(s.storageClass)).length;
    const coldReady = Math.max(0, coldPacks - (after.total - after.ready));
    ctx.progress.start(after.total, 'thaw');
    ctx.progress.advance(after.ready);
    ctx.progress.done();
    ctx.output({
      manifest: id,
      workflow: `${manifest.workflow.namespace}/${manifest.workflow.name}`,
      packs: after.total,
      ready: after.ready,
      thawing: after.packs.length,
      coldPacks,
      coldReady,
      tiers: [...new Set(plan.packs.map((p) => `${p.storageClass}:${p.tier}`))].join(', '),
      estimatedHours: plan.hours,
      retrievalCost: plan.cost,
      dryRun: Boolean(args['dry-run']),
    });
    if (after.ready === after.total) return ExitCode.Ok;
    return ctx.fail(
      `thawing: ${after.ready} of ${after.total} packs readable, about ${plan.hours} h in all; run again to poll (the restore template retries)`,
    );
  }),
};
