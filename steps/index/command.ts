// `strata index`: brings the SQLite catalog in line with the archive's manifests (incremental; --rebuild wipes first).
import type { CommandModule } from 'yargs';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openCatalog } from '../../lib/catalog/open.ts';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { ExitCode } from '../../lib/errors.ts';

interface IndexArgs {
  rebuild?: boolean;
  manifest?: string[];
}

export const indexCommand: CommandModule<GlobalArgs, IndexArgs> = {
  command: 'index',
  describe: 'Update the catalog (labels, phases, times, full-text log index) from the archive manifests',
  builder: (y) =>
    y
      .option('rebuild', { type: 'boolean', default: false, describe: 'wipe the catalog and re-index every manifest' })
      .option('manifest', {
        type: 'string',
        array: true,
        describe: 'index only these manifest ids (e.g. what an archive step just wrote); no listing, nothing removed',
      })
      .conflicts('manifest', 'rebuild'),
  handler: runStep<IndexArgs>(async (args, ctx) => {
    const source = await archiveManifestSource(ctx.store());
    const { catalog, fresh } = await openCatalog(ctx.config.catalog, { reset: Boolean(args.rebuild) });
    try {
      if (fresh && !args.rebuild)
        ctx.log(`catalog ${ctx.config.catalog} is new or had an older schema: indexing everything`);
      const report = await indexCatalog(catalog, source, {
        progress: ctx.progress,
        ...(args.manifest?.length && { only: args.manifest }),
      });
      for (const p of report.problems) ctx.log(`strata: manifest ${p.manifestId}: ${p.message}`);
      const { manifests, workflows, byPhase } = await catalog.stats();
      ctx.output({
        catalog: ctx.config.catalog,
        listed: report.listed,
        indexed: report.indexed,
        removed: report.removed,
        unchanged: report.unchanged,
        problems: report.problems.length,
        logSegmentsIndexed: report.logSegments,
        logBytesIndexed: report.logBytes,
        manifests,
        workflows,
        byPhase,
      });
      const first = report.problems[0];
      if (!first) return ExitCode.Ok;
      return ctx.fail(
        `index could not read ${report.problems.length} manifests; first: ${first.manifestId}: ${first.message}`,
      );
    } finally {
      await catalog.close();
    }
  }),
};
