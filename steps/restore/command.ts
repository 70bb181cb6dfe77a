// `strata restore`: a whole workflow into a directory, or one entry (a node's log or artifact, or a path) streamed.
import { pipeline } from 'node:stream/promises';
import {
  describeResolution,
  namesWorkflow,
  openRepository,
  PackReader,
  readManifest,
  resolveManifest,
  bucketEntriesOf,
  bucketKeysOf,
  restoreToBucket,
  restoreEntries,
  restoreWorkflow,
  selectEntries,
  streamEntry,
  type Repository,
  type ResolvedManifest,
} from '../../lib/archive/index.ts';
import { identityClaim, withIdentityOptions } from '../../lib/cli/identity-options.ts';
import { stepCommand } from '../../lib/cli/step-command.ts';
import { AccessDeniedError, ConfigError, describeError, ExitCode, InputError, StrataError } from '../../lib/errors.ts';
import { restoreTargetRefused } from '../../lib/sources/trusted-artifact-repositories.ts';
import { openStore, parseStoreUrl } from '../../lib/store/open.ts';
import { withReplicaFallback } from '../../lib/replica/fallback.ts';

export const restoreCommand = stepCommand({
  command: 'restore [workflow]',
  describe: 'Restore an archived workflow (manifest id, uid, name or namespace/name), whole or one entry',
  builder: (y) =>
    withIdentityOptions(y)
      .positional('workflow', {
        type: 'string',
        describe: 'manifest id, or workflow uid, name or namespace/name (its newest complete archive)',
      })
      .option('manifest', {
        type: 'string',
        describe: 'exactly this archive (manifest id), e.g. an older one of a workflow archived more than once',
      })
      .option('to', {
        type: 'string',
        describe:
          'target directory (whole workflow, directory artifact), or file or directory (one entry; default stdout)',
      })
      .option('to-bucket', {
        type: 'string',
        describe:
          'artifact repository (s3://bucket[/prefix] or file:dir): logs and artifacts (all, or --node/--path) back at their Argo keys',
      })
      .option('overwrite', {
        type: 'boolean',
        default: false,
        describe: 'with --to-bucket: replace objects that hold other bytes',
      })
      .option('node', { type: 'string', describe: 'one node: its main log, or --log <container> / --artifact <name>' })
      .option('log', { type: 'string', describe: 'with --node: container whose log to stream (default main)' })
      .option('artifact', {
        type: 'string',
        describe: 'with --node: this artifact (a directory artifact: every file, with --to <dir>)',
      })
      .option('path', {
        type: 'string',
        describe: 'the entry at this path of the archive (a directory: every file below it, with --to <dir>)',
      })
      .option('memoized', {
        type: 'boolean',
        describe:
          'workflow.resubmit.yaml reruns only what failed (Argo resubmit --memoized; Failed/Error workflows only)',
      })
      .option('keep-creator', {
        type: 'boolean',
        describe: 'workflow.resubmit.yaml keeps the original creator labels (Argo labels whoever submits it)',
      })
      .option('replica', {
        type: 'string',
        describe:
          'a replica (file:/path or s3://bucket/prefix): a pack, index or manifest missing or bad here is read from it, verified',
      })
      .option('heal', { type: 'boolean', describe: 'with --replica: copy what was read from it back to the archive' })
      .conflicts('path', 'node')
      .conflicts('to-bucket', 'to')
      .conflicts('log', 'artifact'),
  handler: async (args, ctx) => {
    if (args.heal && !args.replica) throw new ConfigError('--heal goes with --replica <url>');
    const replica = args.replica
      ? withReplicaFallback(ctx.store(), openStore(args.replica, ctx.config.s3), {
          heal: Boolean(args.heal),
          onFallback: (f) =>
            ctx.log(`replica: ${f.key}: ${f.why}: read from ${args.replica}${f.healed ? ', healed' : ''}`),
        })
      : undefined;
    const repo = await openRepository(replica?.store ?? ctx.store());
    const resolved = await chooseManifest(repo, args.workflow, args.manifest);
    if (resolved.others.length > 0 || resolved.unreadable.length > 0 || resolved.id !== args.workflow) {
      ctx.log(`restoring ${describeResolution(resolved)}`);
    }
    const { id, manifest } = resolved;
    // Reading a workflow's data is a permission in its namespace; the record names the reader, verified or not.
    const caller = await ctx.caller(identityClaim(args));
    await caller.require(
      { verb: 'create', resource: 'restores', namespace: manifest.workflow.namespace, name: manifest.workflow.uid },
      { audit: ctx.audit, action: 'restore', subject: id },
    );
    // strata-restore's restore-to-bucket step passes its `path` parameter always: empty there is the whole workflow.
    const path = args['to-bucket'] !== undefined && args.path === '' ? undefined : args.path;
    const partial = args.node !== undefined || path !== undefined;
    if ((args.log !== undefined || args.artifact !== undefined) && args.node === undefined) {
      throw new ConfigError('--log and --artifact need --node <id>');
    }
    // Restoring reads the archive: a record that cannot be written is reported after the result (or the error).
    const audit = (outcome: 'ok' | 'failed', details: Record<string, unknown>, reason?: string) =>
      ctx.auditAfter(
        {
          action: 'restore',
          ...caller.auditActor,
          subject: id,
          outcome,
          ...(reason && { reason }),
          details: {
            uid: manifest.workflow.uid,
            ...caller.auditActor.details,
            ...details,
            ...(replica?.fallbacks.length && { fromReplica: replica.fallbacks }),
          },
        },
        outcome === 'ok' ? ExitCode.Ok : ExitCode.Failed,
      );
    // As Vault's audit devices: the read is recorded before any archived byte is served, and refused if it cannot be.
    const started = async (details: Record<string, unknown>) => {
      try {
        await ctx.audit.record({
          action: 'restore',
          actor: 'strata/restore',
          subject: id,
          outcome: 'started',
          details: { uid: manifest.workflow.uid, ...details },
        });
      } catch (err) {
        throw new StrataError(`restore of ${id} refused: its audit record could not be written: ${describeError(err)}`);
      }
    };
    const warn = (warnings: string[] | undefined) => warnings?.forEach((w) => ctx.log(`warning: ${w}`));
    const selector = partial
      ? { path, nodeId: args.node, container: args.log || undefined, artifactName: args.artifact }
      : undefined;
    const toBucket = args['to-bucket'];
    if (toBucket !== undefined) {
      const target = parseStoreUrl(toBucket);
      if (caller.identity.verified && target.kind === 's3') {
        // With Strata's S3 credentials, a person may write only into their workflow's own trusted repository.
        const refused = restoreTargetRefused(
          target,
          manifest.workflow.namespace,
          ctx.config.artifactRepositories,
          ctx.config.s3.endpoint,
          bucketKeysOf(manifest, selector),
        );
        if (refused) {
          const reason = `restore --to-bucket: ${refused}`;
          await ctx.audit.record({ action: 'restore', ...caller.auditActor, subject: id, outcome: 'refused', reason });
          throw new AccessDeniedError(reason);
        }
      }
      const bucket = openStore(toBucket, ctx.config.s3);
      const paths = selector && bucketEntriesOf(manifest, selector).entries.map((e) => e.path);
      await started({ toBucket: bucket.url, ...(paths && { paths }) });
      try {
        const result = await restoreToBucket(repo, id, bucket, {
          progress: ctx.progress,
          overwrite: args.overwrite,
          ...(selector && { select: selector }),
        });
        const { written, unchanged, conflicts, skipped, bytes } = result;
        // `counts` is what a strata-restore Workflow reports as an output parameter (the lists can be long).
        const counts = {
          written: written.length,
          unchanged: unchanged.length,
          skipped: skipped.length,
          conflicts: conflicts.length,
        };
        ctx.output({ ...result, counts });
        warn(result.warnings);
        for (const c of conflicts) ctx.log(`conflict: ${c.path}: ${c.reason}`);
        return await audit(conflicts.length ? 'failed' : 'ok', {
          toBucket: bucket.url,
          ...(paths && { paths }),
          written: written.length,
          unchanged: unchanged.length,
          conflicts: conflicts.length,
          skipped: skipped.length,
          bytes,
        });
      } catch (err) {
        await audit('failed', { toBucket: bucket.url, ...(paths && { paths }) }, (err as Error).message);
        throw err;
      }
    }
    if (!partial) {
      if (!args.to) throw new ConfigError('restore of a whole workflow needs --to <directory>');
      await started({ to: args.to });
      let result;
      try {
        result = await restoreWorkflow(repo, id, args.to, {
          progress: ctx.progress,
          resubmit: { memoized: args.memoized, keepCreator: args['keep-creator'] },
        });
      } catch (err) {
        await audit('failed', { to: args.to }, (err as Error).message);
        throw err;
      }
      ctx.output(result);
      warn(result.warnings);
      return audit('ok', { to: args.to, files: result.files, bytes: result.bytes });
    }
    const selection = selectEntries(manifest, selector!);
    const paths = selection.entries.map((e) => e.path);
    if (args.to) {
      await started({ paths, to: args.to });
      let result;
      try {
        result = await restoreEntries(repo, id, manifest, selection, args.to, { progress: ctx.progress });
      } catch (err) {
        await audit('failed', { paths, to: args.to }, (err as Error).message);
        throw err;
      }
      for (const f of result.files) ctx.log(`restored ${f.path} to ${f.to}`);
      ctx.output(result);
      warn(result.warnings);
      return audit('ok', { paths, bytes: result.bytes, to: args.to });
    }
    if (selection.directory !== undefined) {
      throw new ConfigError(
        `${selection.what} is a directory; stdout takes one file: give --to <directory> (or --path <one file>)`,
      );
    }
    await started({ paths });
    const reader = new PackReader(repo);
    // stdout stays open (it is the process's, and a caller in the same process may write after us).
    await pipeline(streamEntry(repo, manifest, selection.entries[0]!, reader), process.stdout, { end: false });
    warn(reader.warnings);
    return audit('ok', { paths, bytes: selection.entries[0]!.size });
  },
});

/** The archive to restore: `--manifest` exactly (checked against the workflow when both are given), else resolved. */
async function chooseManifest(repo: Repository, ref?: string, manifestId?: string): Promise<ResolvedManifest> {
  if (manifestId === undefined) {
    if (ref === undefined)
      throw new ConfigError('restore needs a workflow (manifest id, uid, name or namespace/name) or --manifest <id>');
    return resolveManifest(repo, ref);
  }
  const manifest = await readManifest(repo, manifestId);
  if (ref !== undefined && ref !== manifestId && !namesWorkflow(manifest, ref)) {
    const wf = manifest.workflow;
    throw new InputError(`manifest ${manifestId} archives ${wf.namespace}/${wf.name} (uid ${wf.uid}), not "${ref}"`);
  }
  return { id: manifestId, manifest, others: [], unreadable: [] };
}
