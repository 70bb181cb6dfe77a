// `strata query` (archived workflows by label, namespace, phase, time, log text) and `strata search` (log hits with node ids).
import type { Argv, CommandModule } from 'yargs';
import type { Catalog, CatalogWorkflow, TextHit } from '../../lib/catalog/catalog.ts';
import { queryFromFlags, type QueryFlags } from '../../lib/catalog/query-flags.ts';
import { catalogTextOptions, openCatalog, redactLocation } from '../../lib/catalog/open.ts';
import { runStep, type GlobalArgs, type StepContext } from '../../lib/cli/run-step.ts';
import { ExitCode } from '../../lib/errors.ts';

function filterOptions<T>(y: Argv<T>) {
  return y
    .option('label', {
      alias: 'l',
      type: 'string',
      array: true,
      describe: 'exact label match key=value (repeatable; all must hold)',
    })
    .option('namespace', { alias: 'n', type: 'string', describe: 'workflow namespace' })
    .option('phase', { type: 'string', describe: 'workflow phase (Succeeded, Failed, Error), case-insensitive' })
    .option('name', { type: 'string', describe: 'exact workflow name' })
    .option('incomplete', {
      type: 'boolean',
      describe: 'only workflows archived with missing logs/artifacts (--no-incomplete: only complete ones)',
    })
    .option('since', {
      type: 'string',
      describe: 'finished at or after: ISO date/time or duration ago (30m, 12h, 7d, 2w, 1mo)',
    })
    .option('until', { type: 'string', describe: 'finished before: ISO date/time or duration ago' })
    .option('literal', { type: 'boolean', describe: 'take the text as one literal phrase, not query syntax' })
    .option('limit', { type: 'number', default: 100, describe: 'at most this many results' });
}

async function withCatalog<T>(ctx: StepContext, use: (catalog: Catalog) => Promise<T>): Promise<T> {
  const { catalog } = await openCatalog(
    ctx.config.catalog,
    catalogTextOptions(ctx.config, () => ctx.store(), ctx.log),
  );
  try {
    if ((await catalog.stats()).manifests === 0)
      ctx.log(`catalog ${redactLocation(ctx.config.catalog)} is empty; run \`strata index\` first`);
    return await use(catalog);
  } finally {
    await catalog.close();
  }
}

const shortTime = (iso: string | undefined) => iso?.replace(/\.\d+Z$/, 'Z');

function workflowRow(w: CatalogWorkflow) {
  return {
    manifest: w.manifestId,
    namespace: w.namespace,
    name: w.name,
    phase: (w.phase ?? '') + (w.incomplete ? ' (incomplete)' : ''),
    finished: shortTime(w.finishedAt) ?? '',
    // Argo's own bookkeeping labels are in the JSON/YAML output; the table keeps the ones people set.
    labels: Object.entries(w.labels)
      .filter(([k]) => !k.startsWith('workflows.argoproj.io/'))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  };
}

function hitRow(h: TextHit) {
  return { workflow: `${h.namespace}/${h.name}`, node: h.nodeId ?? '', log: `${h.path}:${h.line}`, snippet: h.snippet };
}

type QueryArgs = QueryFlags;

export const queryCommand: CommandModule<GlobalArgs, QueryArgs> = {
  command: 'query',
  describe: 'List archived workflows (with manifest ids) by label, namespace, phase, time range and log text',
  builder: (y) =>
    filterOptions(y).option('text', {
      alias: 't',
      type: 'string',
      describe: 'only workflows whose logs match this full-text query (see `strata search`)',
    }),
  handler: runStep<QueryArgs>(async (args, ctx) => {
    const query = queryFromFlags(args);
    const found = await withCatalog(ctx, (c) => c.search(query));
    ctx.output(ctx.config.output === 'table' ? found.map(workflowRow) : found);
    return ExitCode.Ok;
  }),
};

type SearchArgs = Omit<QueryFlags, 'text'> & { text: string };

export const searchCommand: CommandModule<GlobalArgs, SearchArgs> = {
  command: 'search <text>',
  describe: 'Full-text search over archived logs: hits with workflow, node id, log line and snippet',
  builder: (y) =>
    filterOptions(y)
      .positional('text', {
        type: 'string',
        demandOption: true,
        describe: 'words (all must occur), "exact phrase", prefix*, a OR b, a AND b, a NOT b, (groups)',
      })
      .option('limit', { type: 'number', default: 20, describe: 'at most this many hits' }),
  handler: runStep<SearchArgs>(async (args, ctx) => {
    const { text, ...filters } = queryFromFlags(args);
    const hits = await withCatalog(ctx, (c) => c.searchText(text ?? '', filters));
    ctx.output(ctx.config.output === 'table' ? hits.map(hitRow) : hits);
    return ExitCode.Ok;
  }),
};
