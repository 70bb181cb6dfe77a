// `strata drill`: a restore drill — a random sample of archived workflows restored into a sandbox, every file hashed
// against its manifest, the sandbox removed, and the result recorded in the audit log as evidence.
import { tmpdir } from 'node:os';
import { drillRestores, type DrilledWorkflow } from '../../lib/archive/drill.ts';
import { openRepository } from '../../lib/archive/index.ts';
import { recordIntent } from '../../lib/audit/write-ahead.ts';
import { identityClaim, withIdentityOptions } from '../../lib/cli/identity-options.ts';
import { stepCommand } from '../../lib/cli/step-command.ts';
import { ConfigError, ExitCode } from '../../lib/errors.ts';

/** Problems of one workflow an audit record keeps (the first say what went wrong; the count, how much). */
const PROBLEMS_IN_RECORD = 3;

export const drillCommand = stepCommand({
  command: 'drill',
  describe: 'Restore drill: restore random archived workflows into a sandbox, check every hash, record the evidence',
  builder: (y) =>
    withIdentityOptions(y)
      .option('workflows', { type: 'number', default: 1, describe: 'how many archived workflows to restore' })
      .option('sandbox', {
        type: 'string',
        describe: 'directory the sandbox is made in (a fresh directory inside it, removed after; default the temp dir)',
      }),
  handler: async (args, ctx) => {
    if (!Number.isInteger(args.workflows) || args.workflows < 1)
      throw new ConfigError(`--workflows ${args.workflows}: a whole number of at least 1`, { key: 'workflows' });
    const repo = await openRepository(ctx.store());
    const caller = await ctx.caller(identityClaim(args));
    // A drill is a verification run: one that cannot be recorded is not run.
    await recordIntent(ctx.audit, {
      action: 'verify',
      ...caller.auditActor,
      subject: repo.store.url,
      details: { ...caller.auditActor.details, drill: { workflows: args.workflows } },
    });
    const report = await drillRestores(repo, {
      workflows: args.workflows,
      sandboxParent: args.sandbox ?? tmpdir(),
      progress: ctx.progress,
      // Reading a workflow's data is a permission in its namespace, also for a drill nobody asked for in person.
      authorize: (id, manifest) =>
        caller.require(
          { verb: 'create', resource: 'restores', namespace: manifest.workflow.namespace, name: manifest.workflow.uid },
          { audit: ctx.audit, action: 'restore', subject: id },
        ),
    });
    for (const w of report.workflows)
      ctx.log(
        `drill: ${w.namespace ?? '?'}/${w.name ?? '?'} (${w.manifestId}): ${w.files} files, ${w.bytes} bytes: ` +
          (w.ok ? 'restored and every hash checked' : `FAILED: ${w.problems[0]}`),
      );
    if (report.workflows.length === 0) ctx.log('drill: the archive holds no workflow to restore');
    ctx.output({
      ok: report.ok,
      manifests: report.manifests,
      drilled: report.workflows.length,
      passed: report.passed,
      failed: report.failed,
      bytes: report.bytes,
      workflows: report.workflows,
    });
    const firstBad = report.workflows.find((w) => !w.ok);
    const code = report.ok
      ? ExitCode.Ok
      : ctx.fail(
          `restore drill failed for ${report.failed} of ${report.workflows.length} workflows; first: ` +
            `${firstBad!.manifestId}: ${firstBad!.problems[0]}`,
        );
    return ctx.auditAfter(
      {
        action: 'verify',
        ...caller.auditActor,
        subject: repo.store.url,
        outcome: report.ok ? 'ok' : 'failed',
        ...(firstBad && { reason: `${firstBad.manifestId}: ${firstBad.problems[0]}` }),
        // Each manifest id is the SHA-256 of a manifest that holds every entry's SHA-256: the hashes checked.
        hashes: report.workflows.map((w) => `sha256:${w.manifestId}`),
        details: {
          ...caller.auditActor.details,
          drill: {
            workflows: report.workflows.map(evidenceOf),
            passed: report.passed,
            failed: report.failed,
            bytes: report.bytes,
            sandbox: report.sandbox,
          },
        },
      },
      code,
    );
  },
});

function evidenceOf(w: DrilledWorkflow) {
  return {
    manifestId: w.manifestId,
    uid: w.uid,
    namespace: w.namespace,
    name: w.name,
    files: w.files,
    bytes: w.bytes,
    ok: w.ok,
    ...(w.problems.length > 0 && {
      problems: w.problems.slice(0, PROBLEMS_IN_RECORD),
      problemCount: w.problems.length,
    }),
  };
}
