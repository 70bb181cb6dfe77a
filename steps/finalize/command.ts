// `strata finalize`: after a verified archive, label the workflow archived and delete it if policy says so — never on doubt.
import { openRepository } from '../../lib/archive/index.ts';
import { recordPolicyInForce } from '../../lib/audit/policy-in-force.ts';
import { stepCommand } from '../../lib/cli/step-command.ts';
import { openClusterAndPolicy, withClusterPolicyOptions } from '../cluster-options.ts';
import { ConfigError, describeError, ExitCode } from '../../lib/errors.ts';
import { finalizeManifest, type FinalizeOutcome } from '../../lib/pipeline/finalize-run.ts';
import { verifyManifest } from '../../lib/archive/checker.ts';
import { deletionVerdict } from '../../lib/pipeline/policy-verdict.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { artifactOriginals } from '../../lib/pipeline/artifact-originals.ts';
import { artifactBucketOpener, trustedRepositoryFor } from '../../lib/sources/argo-artifact-repository.ts';

/** Ids as given: repeated flags, comma lists, or the JSON list Argo aggregates from a withParam fan-out. */
function manifestIds(values: string[]): string[] {
  return values
    .flatMap((v) => (v.trim().startsWith('[') ? (JSON.parse(v) as unknown[]).map(String) : [v]))
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

export const finalizeCommand = stepCommand({
  command: 'finalize',
  describe: 'Verify archived manifests, label their workflows strata.dev/archived, delete them when policy says so',
  builder: (y) =>
    withClusterPolicyOptions(y)
      .option('manifest', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'manifest id(s); comma-separated lists are accepted (Argo output parameters)',
      })
      .option('dry-run', { type: 'boolean', describe: 'verify and plan, change nothing in the cluster' }),
  handler: async (args, ctx) => {
    const ids = manifestIds(args.manifest);
    const { cluster, policySet, digest } = await openClusterAndPolicy(args, (line) => ctx.log(line));
    if (!policySet.valid) ctx.log('policy set does not validate: workflows are labelled, none is deleted');
    if (ids.length === 0) throw new ConfigError('--manifest names no manifest id');
    const repo = await openRepository(ctx.store());
    if (!args['dry-run']) await recordPolicyInForce(ctx.store(), ctx.audit, digest, 'strata/finalize');
    const now = new Date();
    const holds = new HoldRepository(ctx.store());
    // Originals are deleted only inside the repositories the configuration trusts (artifactRepositories).
    const originalsRepository = trustedRepositoryFor(
      cluster,
      artifactBucketOpener(ctx.config.s3),
      ctx.config.artifactRepositories,
    );
    const results: FinalizeOutcome[] = [];
    ctx.progress.start(ids.length, 'finalize');
    for (const id of ids) {
      let r: FinalizeOutcome;
      try {
        r = await finalizeManifest(id, {
          cluster,
          verifyManifest: (m) => verifyManifest(repo, m),
          // Holds come from the archive repository; unreadable holds fail the call, and finalize then keeps the workflow.
          deletion: async (wf) => deletionVerdict(policySet, wf, now, await holds.forWorkflow(wf.metadata.uid ?? '')),
          originals: artifactOriginals(repo, originalsRepository),
          audit: ctx.audit,
          actor: 'strata/finalize',
          dryRun: args['dry-run'],
        });
      } catch (err) {
        // One manifest that cannot be finalized (cluster or store unreachable for it) must not hide the others.
        r = {
          manifest: id,
          workflow: '?',
          labelled: false,
          source: 'kept',
          refused: true,
          reasons: [describeError(err)],
          originals: { deleted: 0, kept: [] },
        };
      }
      results.push(r);
      ctx.log(
        `${r.refused ? 'refused' : r.source}: ${r.workflow} (manifest ${id.slice(0, 12)}…): ${r.reasons.join('; ')}`,
      );
      if (r.originals.deleted) ctx.log(`  ${r.originals.deleted} original(s) deleted from the artifact repository`);
      if (r.source !== 'kept') for (const k of r.originals.kept) ctx.log(`  original kept: ${k.key}: ${k.reason}`);
      ctx.progress.advance();
    }
    ctx.progress.done();
    const count = (f: (r: FinalizeOutcome) => boolean) => results.filter(f).length;
    ctx.output({
      manifests: results.length,
      labelled: count((r) => r.labelled),
      deleted: count((r) => r.source === 'deleted'),
      pending: count((r) => r.source === 'pending'),
      originalsDeleted: results.reduce((n, r) => n + r.originals.deleted, 0),
      kept: count((r) => r.source === 'kept' && !r.refused),
      refused: count((r) => r.refused),
      ...(ctx.config.output === 'table' ? {} : { results }),
    });
    const refused = results.filter((r) => r.refused);
    if (refused.length === 0) return ExitCode.Ok;
    const first = refused[0]!;
    return ctx.fail(
      `finalize refused ${refused.length} of ${results.length} manifests, nothing of theirs was deleted; ` +
        `first: ${first.workflow} (manifest ${first.manifest.slice(0, 12)}…): ${first.reasons.join('; ')}`,
    );
  },
});
