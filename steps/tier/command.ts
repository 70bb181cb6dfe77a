// `strata tier [--dry-run]`: moves packs along their workflows' timelines and reports the plan with bytes and cost.
import type { Argv, CommandModule } from 'yargs';
import { openRepository } from '../../lib/archive/index.ts';
import { policyDigest, recordPolicyInForce } from '../../lib/audit/policy-in-force.ts';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { describeError, ExitCode, InputError } from '../../lib/errors.ts';
import { openCluster } from '../../lib/kube/open.ts';
import { loadStepPolicy, namespaceList } from '../../lib/kube/policy-sources.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { formatProblem, loadPolicySet } from '../../lib/policy/index.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';
import { loadPricing } from '../../lib/policy-files/pricing-file.ts';
import { storageClassesOf } from '../../lib/store/store.ts';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { catalogTextOptions, existingCatalogs } from '../../lib/catalog/open.ts';
import { fixedDurationFlagMs } from '../../lib/policy/duration.ts';
import { holdCounts, type HoldsAndExtensions } from '../../lib/policy/holds.ts';
import type { Repository } from '../../lib/archive/index.ts';
import {
  applyTierPlan,
  deleteArchives,
  enforceLocks,
  gatherTierFacts,
  planTiering,
  tierClasses,
  type TierPlan,
} from '../../lib/tier/index.ts';
import { ConfigError } from '../../lib/errors.ts';
import { parseStoreUrl } from '../../lib/store/open.ts';
import { bucketPolicy, lifecycleRules } from '../../lib/tier/lifecycle-config.ts';
import type { StepContext } from '../../lib/cli/run-step.ts';
import { bytes, money, renderDeletions, renderPlan } from './render.ts';
import { runScheduledDeletions } from '../../lib/pipeline/emergency-delete.ts';
import { dueDeletions, listScheduled } from '../../lib/tier/emergency-schedule.ts';
import { openVault } from '../../lib/store/vault.ts';
import { moveToVault, sweepVault, thawFromVault, vaultRecord } from '../../lib/tier/vault.ts';
import { readJournals } from '../../lib/archive/deletion-journal.ts';

interface TierArgs {
  'dry-run'?: boolean;
  policy?: string[];
  'policy-from-cluster'?: string;
  'kube-server'?: string;
  pricing?: string;
  now?: string;
  settle: string;
  'emit-lifecycle'?: boolean;
  'emit-bucket-policy'?: string;
  vault?: string;
}

export const tierCommand: CommandModule<GlobalArgs, TierArgs> = {
  command: 'tier',
  describe: 'Move archived packs to colder storage classes as their timelines say; --dry-run prints the plan and cost',
  builder: (y) =>
    y
      .option('dry-run', { type: 'boolean', describe: 'print the plan (bytes, monthly cost, charges), change nothing' })
      .option('policy', {
        type: 'string',
        array: true,
        describe: 'policy files or directories (default: built-in defaults, which keep everything hot)',
      })
      .option('policy-from-cluster', {
        type: 'string',
        describe: 'also read ConfigMaps labelled strata.dev/policy=true from these namespaces (comma-separated)',
      })
      .option('kube-server', {
        type: 'string',
        describe: 'API server URL without auth, e.g. kubectl proxy (env STRATA_KUBE_SERVER)',
      })
      .option('pricing', {
        type: 'string',
        describe: 'per-tier prices and storage classes (env STRATA_PRICING; default: AWS S3 list prices built in)',
      })
      .option('now', {
        type: 'string',
        describe: 'plan as of this ISO time (only with --dry-run: a forecast)',
      })
      .option('emit-lifecycle', {
        type: 'boolean',
        describe: 'print S3 lifecycle transitions per retention class (no expirations) instead of running',
      })
      .option('emit-bucket-policy', {
        type: 'string',
        describe: 'print a bucket policy (TLS only, SSE required, deletes only by this role ARN) instead of running',
      })
      .option('vault', {
        type: 'string',
        describe: 'Glacier vault (glacier://name) for the deep tier: deep packs move into it, expired ones leave it',
      })
      .conflicts('emit-lifecycle', 'emit-bucket-policy')
      .option('settle', {
        type: 'string',
        default: '60s',
        describe: "wait between taking a doomed pack's index away and deleting it (longer than an archiver's commit)",
      }) as Argv<TierArgs>,
  handler: runStep<TierArgs>(async (args, ctx) => {
    const dryRun = Boolean(args['dry-run']);
    const settleMs = fixedDurationFlagMs('settle', args.settle);
    let now = new Date();
    if (args.now !== undefined) {
      if (!dryRun) throw new InputError('--now plans for another time: it needs --dry-run');
      now = new Date(args.now);
      if (Number.isNaN(now.getTime())) throw new InputError(`--now: "${args.now}" is not an ISO date`);
    }
    const pricingFile = args.pricing ?? process.env.STRATA_PRICING;
    const pricing = pricingFile ? loadPricing(pricingFile) : DEFAULT_PRICING;
    const namespaces = namespaceList(args['policy-from-cluster']);
    const { policySet, problems, digest } = namespaces.length
      ? await loadStepPolicy(await openCluster(args['kube-server']), args.policy, namespaces)
      : fromFiles(args.policy ?? []);
    for (const p of problems) ctx.log(formatProblem(p));
    if (!policySet.valid) ctx.log('policy does not validate: every workflow fails closed (nothing moves or expires)');

    if (args['emit-bucket-policy'] !== undefined) {
      const loc = s3Location(ctx.config.store);
      ctx.output(bucketPolicy(loc.bucket, loc.prefix, args['emit-bucket-policy']));
      return ExitCode.Ok;
    }
    const store = ctx.store();
    const repo = await openRepository(store);
    // Without storage classes (a local directory) tiers are only recorded: reads never wait for a restore.
    const tierClassMap = tierClasses(pricing, pricingFile);
    const classes = storageClassesOf(store) ? tierClassMap : undefined;
    if (!classes) ctx.log(`${store.url} has no storage classes: tiers are recorded and reported only`);
    // Moves and expiries act under the policy: it is on the record first.
    if (!dryRun) await recordPolicyInForce(store, ctx.audit, digest, 'strata/tier');
    const holdRepo = new HoldRepository(store);
    const holds = { holds: await holdRepo.listHolds(), extensions: await holdRepo.listExtensions() };
    const facts = await gatherTierFacts(repo, { policySet, holds, pricing, now, classes });
    if (args['emit-lifecycle']) {
      const { rules, notes } = lifecycleRules(facts.workflows, tierClassMap, s3Location(ctx.config.store).prefix);
      for (const n of notes) ctx.log(`lifecycle: ${n}`);
      ctx.output({ Rules: rules });
      return ExitCode.Ok;
    }
    for (const u of facts.unreadable) ctx.log(`unreadable manifest: ${u}`);
    const plan = planTiering(facts);
    // Locks first: packs of held or compliance workflows are then left alone by moves and sweeps.
    const locks = dryRun ? undefined : await enforceLocks(repo, facts.workflows, holds, now);
    for (const p of locks?.problems ?? []) ctx.log(`object lock: ${p}`);

    const run = dryRun
      ? undefined
      : await applyTierPlan(repo, plan, {
          classes,
          audit: ctx.audit,
          now,
          progress: ctx.progress,
          orphanRecords: facts.orphanRecords,
        });
    for (const m of run?.moves ?? []) if (m.error) ctx.log(`move of ${m.pack} failed: ${m.error}`);
    // Emergency deletions whose cancellation window has ended, checked again now (holds, retention).
    const scheduled = dryRun
      ? await listScheduled(repo).then(({ schedules, unreadable }) => ({ ...dueDeletions(schedules, now), unreadable }))
      : await runScheduledEmergencies(repo, holds, now, settleMs, args['kube-server'], ctx);
    for (const u of scheduled.unreadable) ctx.log(`unreadable scheduled emergency deletion (not run): ${u}`);
    const expired = dryRun ? undefined : await expire(repo, plan, holds, now, settleMs, ctx);
    for (const e of expired?.outcomes ?? []) {
      if (e.outcome !== 'done') ctx.log(`expiry of ${e.uid}: ${e.outcome}: ${e.reason}`);
    }
    for (const u of expired?.unreadableJournals ?? []) ctx.log(`unreadable deletion journal: ${u}`);
    const vaulted = dryRun || !args.vault ? undefined : await runVault(repo, args.vault, facts, plan, now, ctx);
    const summary = {
      dryRun,
      now: plan.now,
      moves: plan.totals.moves,
      bytesMoved: plan.totals.bytesMoved,
      waiting: plan.waiting.length,
      expiries: plan.totals.expiries,
      expired: expired?.outcomes.filter((e) => e.outcome === 'done').length ?? 0,
      failed: (run?.failed ?? 0) + (expired?.outcomes.filter((e) => e.outcome === 'unproven').length ?? 0),
      currency: plan.currency,
      monthlySaving: plan.totals.monthlySaving,
      oneTimeCharges: plan.totals.oneTimeCharges,
      unreadableManifests: facts.unreadable.length,
      ...holdCounts(holds.holds, now),
      ...(vaulted && { vault: vaulted }),
      emergencyDeletions:
        'ran' in scheduled
          ? `${scheduled.ran.length} scheduled ran, ${scheduled.waiting.length} in their window`
          : `${scheduled.due.length} due, ${scheduled.waiting.length} in their window`,
      storageClasses: Boolean(classes),
      objectLock: locks
        ? locks.enforced
          ? `${locks.legalHoldsSet.length} legal holds set, ${locks.legalHoldsCleared.length} cleared, ${locks.retentionSet.length} retentions set`
          : 'not offered by this store'
        : 'dry run',
    };
    if (ctx.config.output === 'table') {
      process.stdout.write(renderPlan(plan) + '\n\n');
      if (expired?.outcomes.length) process.stdout.write(renderDeletions(expired.outcomes) + '\n\n');
      ctx.output({
        ...summary,
        bytesMoved: bytes(summary.bytesMoved),
        monthlySaving: money(summary.monthlySaving),
        oneTimeCharges: money(summary.oneTimeCharges),
      });
    } else {
      ctx.output({ ...summary, plan, run, expiries: expired?.outcomes ?? [] });
    }
    const emergencyFailed =
      'ran' in scheduled && scheduled.ran.some((r) => r.result.deletion && r.result.deletion.outcome !== 'done');
    return !policySet.valid || facts.unreadable.length || run?.failed || locks?.problems.length || emergencyFailed
      ? ExitCode.Failed
      : ExitCode.Ok;
  }),
};

/** Expires what the plan says, and finishes deletions a crashed run left; catalog rows go too where the catalog is. */
async function expire(
  repo: Repository,
  plan: TierPlan,
  holds: HoldsAndExtensions,
  now: Date,
  settleMs: number,
  ctx: StepContext,
): ReturnType<typeof deleteArchives> {
  // Expired rows leave every configured catalog that holds them (a search engine's too), not only the one queries read.
  const catalog = await existingCatalogs(
    ctx.config,
    catalogTextOptions(ctx.config, () => ctx.store(), ctx.log),
  );
  try {
    const result = await deleteArchives(
      repo,
      plan.expiries.map((e) => ({
        kind: 'expiry' as const,
        uid: e.uid,
        namespace: e.namespace,
        name: e.name,
        manifests: e.manifests,
        reason: e.reason,
        actor: 'strata/tier',
      })),
      { audit: ctx.audit, now, holds, settleMs, catalog },
    );
    // Workflows whose manifests a repack rewrote are in the catalog again under their new ids.
    const rewritten = [...new Set(result.outcomes.flatMap((o) => o.superseded.map((s) => s.to)))];
    if (catalog && rewritten.length) {
      const source = await archiveManifestSource(repo.store);
      for (const c of catalog.each) await indexCatalog(c, source, { only: rewritten });
    }
    return result;
  } finally {
    await catalog?.close();
  }
}

function fromFiles(paths: readonly string[]) {
  const sources = readPolicySources(paths);
  return { ...loadPolicySet(sources), digest: policyDigest(sources) };
}

function s3Location(url: string): { bucket: string; prefix: string } {
  const loc = parseStoreUrl(url);
  if (loc.kind !== 's3')
    throw new ConfigError(`--emit-lifecycle and --emit-bucket-policy need an s3:// store, not ${url}`);
  return loc;
}

/** Runs the due scheduled emergency deletions; the cluster object goes too where the run can reach the API server. */
async function runScheduledEmergencies(
  repo: Repository,
  holds: HoldsAndExtensions,
  now: Date,
  settleMs: number,
  kubeServer: string | undefined,
  ctx: StepContext,
): ReturnType<typeof runScheduledDeletions> {
  const { schedules } = await listScheduled(repo);
  if (!dueDeletions(schedules, now).due.length)
    return runScheduledDeletions({ repo, holds, audit: ctx.audit, now, settleMs });
  let cluster;
  try {
    cluster = await openCluster(kubeServer);
  } catch (err) {
    ctx.log(`scheduled emergency deletions: no cluster (${describeError(err)}): Workflow objects are left to delete`);
  }
  const catalog = await existingCatalogs(
    ctx.config,
    catalogTextOptions(ctx.config, () => ctx.store(), ctx.log),
  );
  try {
    const result = await runScheduledDeletions({ repo, holds, audit: ctx.audit, now, settleMs, cluster, catalog });
    for (const r of result.ran)
      ctx.log(`scheduled emergency deletion ${r.schedule.id} of ${r.schedule.uid}: ${r.result.reasons.join('; ')}`);
    return result;
  } finally {
    await catalog?.close();
  }
}

/**
 * The Glacier vault deep tier: packs in the deep tier move into the vault; vaulted packs a pending deletion needs
 * (to repack or delete) are retrieved (Bulk) and put back; archives no manifest or deletion references leave it.
 */
async function runVault(
  repo: Repository,
  url: string,
  facts: { packs: ReadonlyArray<{ group: string; packId: string; tier: string }> },
  plan: TierPlan,
  now: Date,
  ctx: StepContext,
): Promise<string> {
  const vault = await openVault(url, ctx.config.s3);
  const deep = new Map<string, { group: string; packId: string }>();
  for (const p of facts.packs) if (p.tier === 'deepArchive') deep.set(`${p.group}/${p.packId}`, p);
  for (const m of plan.moves) if (m.to === 'deepArchive') deep.set(`${m.group}/${m.packId}`, m);
  const moved = await moveToVault(repo, vault, [...deep.values()], now);
  for (const m of moved) if (m.error) ctx.log(`vault: move of ${m.pack} failed: ${m.error}`);
  const needed = new Map<string, { group: string; packId: string }>();
  for (const j of (await readJournals(repo)).journals) {
    for (const name of j.packs) {
      const slash = name.indexOf('/');
      const p = { group: name.slice(0, slash), packId: name.slice(slash + 1) };
      if (await vaultRecord(repo, p.group, p.packId)) needed.set(name, p);
    }
  }
  const thawed = await thawFromVault(repo, vault, [...needed.values()], 'Bulk', now, 7);
  for (const t of thawed) if (t.error) ctx.log(`vault: retrieval of ${t.pack} failed: ${t.error}`);
  const swept = await sweepVault(repo, vault);
  for (const p of swept.problems) ctx.log(`vault: ${p}`);
  const count = (o: string) => moved.filter((m) => m.outcome === o).length;
  return (
    `${count('moved')} moved into ${vault.url}, ${count('locked')} locked, ${count('failed')} failed; ` +
    `${thawed.filter((t) => t.state !== 'restored').length} retrieving for deletions; ${swept.deleted.length} deleted`
  );
}
