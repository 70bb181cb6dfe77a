// `strata emergency-delete`: removes one workflow's archive and cluster object now, with a reason and another
// person's approval (on a cluster: their own act, `strata approve`; locally: --approver, unverified).
import { openRepository } from '../../lib/archive/index.ts';
import { identityClaim, withIdentityOptions } from '../../lib/cli/identity-options.ts';
import { stepCommand } from '../../lib/cli/step-command.ts';
import { catalogTextOptions, existingCatalogs } from '../../lib/catalog/open.ts';
import { ConfigError, ExitCode } from '../../lib/errors.ts';
import { openApprovals } from '../../lib/identity/caller.ts';
import { fixedDurationFlagMs } from '../../lib/policy/duration.ts';
import { openCluster } from '../../lib/kube/open.ts';
import { emergencyDelete } from '../../lib/pipeline/emergency-delete.ts';
import { cancelScheduled } from '../../lib/tier/emergency-schedule.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';

export const emergencyDeleteCommand = stepCommand({
  command: 'emergency-delete <uid>',
  describe:
    'Delete a workflow from every pack, the catalog and the cluster now; refused under legal hold unless --break-glass',
  builder: (y) =>
    withIdentityOptions(y)
      .positional('uid', { type: 'string', demandOption: true, describe: 'workflow uid' })
      .option('reason', { type: 'string', demandOption: true, describe: 'why (incident, ticket, order)' })
      .option('approver', {
        type: 'string',
        describe: 'local mode only: who approved (recorded unverified); on a cluster the approver runs strata approve',
      })
      .option('break-glass', { type: 'boolean', describe: 'override a legal hold (audited as such)' })
      .option('dry-run', { type: 'boolean', describe: 'report what would be deleted' })
      .option('window', {
        type: 'string',
        default: '0s',
        describe: 'cancellation window (e.g. 24h): schedule the deletion, cancellable until then; strata tier runs it',
      })
      .option('cancel', {
        type: 'boolean',
        describe: "cancel the workflow's scheduled deletions still in their window (--reason says why)",
      })
      .option('cluster', {
        type: 'boolean',
        default: true,
        describe: 'also delete the Workflow from the cluster (uid-guarded)',
      })
      .option('settle', {
        type: 'string',
        default: '60s',
        describe: "wait between taking a doomed pack's index away and deleting it (longer than an archiver's commit)",
      }),
  handler: async (args, ctx) => {
    const store = ctx.store();
    const repo = await openRepository(store);
    const holdRepo = new HoldRepository(store);
    const settleMs = fixedDurationFlagMs('settle', args.settle);
    const caller = await ctx.caller(identityClaim(args));
    const windowMs = fixedDurationFlagMs('window', args.window);
    if (args.cancel) {
      // Whoever may ask for an emergency deletion may call it off.
      if (caller.identity.verified) {
        const decision = await caller.can({ verb: 'create', resource: 'emergencydeletions', name: args.uid });
        if (!decision.allowed) return ctx.fail(`${caller.identity.username} may not cancel emergency deletions`);
      }
      const cancelled = await cancelScheduled(repo, args.uid, {
        actor: caller.identity.username,
        reason: args.reason,
        at: new Date(),
      });
      await ctx.audit.record({
        action: 'emergency-delete',
        actor: caller.identity.username,
        verified: caller.identity.verified,
        subject: args.uid,
        outcome: 'ok',
        reason: args.reason,
        details: { cancelled: cancelled.map((c) => c.id) },
      });
      ctx.output({ uid: args.uid, cancelled: cancelled.map((c) => ({ id: c.id, runAfter: c.runAfter })) });
      return ExitCode.Ok;
    }
    if (caller.identity.verified && args.approver !== undefined) {
      throw new ConfigError(
        `--approver "${args.approver}": under a cluster identity an approval is the approver's own act (they run strata approve); drop --approver`,
      );
    }
    const approvals = caller.identity.verified
      ? await openApprovals(ctx.config.namespace, args['kube-server'], process.env)
      : undefined;
    // Erasure reaches every configured catalog holding the workflow's rows and text.
    const catalog = await existingCatalogs(
      ctx.config,
      catalogTextOptions(ctx.config, () => ctx.store(), ctx.log),
    );
    const result = await emergencyDelete(
      {
        uid: args.uid,
        reason: args.reason,
        approver: args.approver,
        actor: caller.identity.username,
        actorVerified: caller.identity.verified,
        breakGlass: Boolean(args['break-glass']),
        dryRun: Boolean(args['dry-run']),
        windowMs,
      },
      {
        repo,
        holds: { holds: await holdRepo.listHolds(), extensions: await holdRepo.listExtensions() },
        cluster: args.cluster ? await openCluster(args['kube-server']) : undefined,
        audit: ctx.audit,
        now: new Date(),
        settleMs,
        catalog,
        authorize: caller.identity.verified ? (check) => caller.can(check) : undefined,
        approvals,
      },
    ).finally(() => catalog?.close());
    for (const r of result.reasons) ctx.log(`${result.refused ? 'refused' : 'note'}: ${r}`);
    ctx.output(result);
    if (result.refused) {
      ctx.fail(`emergency-delete refused: ${result.reasons.join('; ')}`);
      return ExitCode.Refused; // no permission, approval or hold release yet: running it again changes nothing
    }
    if (result.cluster === 'failed')
      return ctx.fail(`emergency-delete: cluster delete failed: ${result.reasons.join('; ')}`);
    if (result.deletion && result.deletion.outcome !== 'done')
      return ctx.fail(`emergency-delete ${result.deletion.outcome}: ${result.reasons.join('; ')}`);
    return ExitCode.Ok;
  },
});
