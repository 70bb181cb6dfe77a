// `strata index`: brings every configured catalog in line with the archive's manifests (incremental; --rebuild wipes first).
import type { CommandModule } from 'yargs';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import { catalogLocations, catalogTextOptions, openCatalog, redactLocation } from '../../lib/catalog/open.ts';
import { indexCatalog, type IndexReport } from '../../lib/catalog/rebuild.ts';
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
    const results: Record<string, unknown>[] = [];
    let problems: IndexReport['problems'] = [];
    // Each configured catalog is brought in line on its own pass: one may be fresh while another is current.
    for (const [n, location] of catalogLocations(ctx.config).entries()) {
      const shown = redactLocation(location);
      // No rebuildFrom: a catalog found in another layout or schema is dropped and indexed whole right here.
      const { textFrom } = catalogTextOptions(ctx.config, () => ctx.store());
      const { catalog, fresh, rebuild } = await openCatalog(location, {
        ...(textFrom && { textFrom }),
        reset: Boolean(args.rebuild),
        key: n === 0 ? 'catalog' : 'catalogAlso',
      });
      try {
        if (fresh && !args.rebuild)
          ctx.log(
            `catalog ${shown} is new, or held another text layout or an older schema, or its rebuild did not finish: ` +
              'indexing everything',
          );
        // A catalog still to be rebuilt gets the whole store, even when asked for a few manifests.
        const only = rebuild ? undefined : args.manifest;
        const report = await indexCatalog(catalog, source, {
          progress: ctx.progress,
          ...(only?.length && { only }),
        });
        await rebuild?.done();
        for (const p of report.problems) ctx.log(`strata: ${shown}: manifest ${p.manifestId}: ${p.message}`);
        if (!problems.length) problems = report.problems;
        const { manifests, workflows, byPhase } = await catalog.stats();
        results.push({
          catalog: shown,
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
      } finally {
        await catalog.close();
      }
    }
    const [primary, ...also] = results;
    ctx.output({ ...primary, ...(also.length && { also }) });
    const first = problems[0];
    if (!first) return ExitCode.Ok;
    return ctx.fail(`index could not read ${problems.length} manifests; first: ${first.manifestId}: ${first.message}`);
  }),
};
