// `strata serve`: the query service (REST + OpenAPI) over the catalog and the archive, behind bearer tokens.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { CommandModule } from 'yargs';
import { openRepository } from '../../lib/archive/repository.ts';
import { catalogLocation, catalogTextOptions, openCatalog } from '../../lib/catalog/open.ts';
import { defaultSearchThreads } from '../../lib/catalog/search-threads.ts';
import { runStep, type GlobalArgs } from '../../lib/cli/run-step.ts';
import { ConfigError, describeError, ExitCode } from '../../lib/errors.ts';
import type { ApprovalStore } from '../../lib/identity/approval.ts';
import { openApprovals, openApprovalsAs } from '../../lib/identity/caller.ts';
import { parseDuration } from '../../lib/policy/duration.ts';
import type { PolicySet } from '../../lib/policy/index.ts';
import type { Authenticator, Authorizer, Caller } from '../../server/auth/access.ts';
import type { RestoreJobService } from '../../server/restores/job.ts';
import type { LiveConfig } from '../../server/service/live-config.ts';
import type { PriceTable } from '../../server/service/storage-usage.ts';

interface ServeArgs {
  listen: string;
  'access-file'?: string;
  'kube-auth'?: boolean;
  'restore-dir'?: string;
  'restore-jobs'?: 'argo' | 'local';
  'replica-name'?: string;
  'restore-retain'?: string;
  'restore-lease'?: string;
  'ui-dir'?: string;
  ui?: boolean;
  'rate-limit'?: number;
  'search-concurrency'?: number;
  'search-queue'?: number;
  'search-wait-ms'?: number;
  'search-per-caller'?: number;
  'search-max-cost'?: number;
  'search-timeout-ms'?: number;
  'search-threads'?: number;
  pricing?: string;
  'tls-cert'?: string;
  policy?: string[];
  'config-poll-seconds': number;
  'tls-key'?: string;
  'oidc-issuer'?: string;
  'oidc-audience'?: string;
  'oidc-username-claim': string;
  'oidc-groups-claim': string;
  'oidc-username-prefix': string;
  'oidc-groups-prefix': string;
}

/** A flag's duration without calendar units (a lease, a retention of records), in ms; at least a second. */
function fixedDurationMs(text: string, flag: string): number {
  const d = parseDuration(text);
  if (!d || d.years || d.months || d.ms < 1000)
    throw new ConfigError(`--${flag} must be a duration of at least 1s in w, d, h, m, s (e.g. 7d, 2m), got ${text}`);
  return d.ms;
}

function listenAddress(listen: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new ConfigError(`--listen must be host:port, got ${JSON.stringify(listen)}`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', port };
}

/** The --search-* flags given, each a whole number ≥ 1. */
function searchLimits(args: ServeArgs) {
  const flags = {
    concurrency: 'search-concurrency',
    maxQueued: 'search-queue',
    maxWaitMs: 'search-wait-ms',
    perCaller: 'search-per-caller',
    maxCost: 'search-max-cost',
    maxRunMs: 'search-timeout-ms',
  } as const;
  const out: Record<string, number> = {};
  for (const [limit, flag] of Object.entries(flags)) {
    const v = args[flag];
    if (v === undefined) continue;
    if (!(Number.isInteger(v) && v >= 1)) throw new ConfigError(`--${flag} must be a whole number ≥ 1, got ${v}`);
    out[limit] = v;
  }
  return out;
}

export const serveCommand: CommandModule<GlobalArgs, ServeArgs> = {
  command: 'serve',
  describe: 'Serve the REST API (see docs/api.md) over the catalog and the archive',
  builder: (y) =>
    y
      .option('listen', { type: 'string', default: '127.0.0.1:8080', describe: 'host:port to listen on' })
      .option('access-file', {
        type: 'string',
        describe: 'embedded mode: YAML of token hashes and per-namespace rules (docs/api.md)',
      })
      .option('restore-dir', {
        type: 'string',
        describe: 'restore jobs run in this process: their verified results live here, their records in the store',
      })
      .option('restore-jobs', {
        choices: ['argo', 'local'] as const,
        describe:
          "argo: each restore job is a strata-restore Workflow in Strata's namespace (default with --kube-auth and " +
          'no --restore-dir); local: run them in this process (needs --restore-dir)',
      })
      .option('replica-name', {
        type: 'string',
        describe:
          "local restore jobs: this replica's stable name (default: the host name); it resumes the jobs it took",
      })
      .option('restore-retain', {
        type: 'string',
        default: '7d',
        describe: 'local restore jobs: finished jobs (records and result files) are removed this long after they ended',
      })
      .option('restore-lease', {
        type: 'string',
        default: '2m',
        describe: 'local restore jobs: another replica takes over a job whose runner has not renewed it for this long',
      })
      .option('ui', { type: 'boolean', default: true, describe: 'serve the dashboard at /ui/ (--no-ui: API only)' })
      .option('ui-dir', { type: 'string', describe: "the dashboard's files (default: server/ui of this checkout)" })
      .option('rate-limit', {
        type: 'number',
        describe: 'requests per second per caller (bursts of twice that); 429 past it. 0: no limit',
        default: 20,
      })
      .option('search-concurrency', { type: 'number', describe: 'full-text searches run at once (default 2)' })
      .option('search-queue', {
        type: 'number',
        describe: 'searches that may wait for a turn; past it 503 (default 8)',
      })
      .option('search-wait-ms', { type: 'number', describe: 'longest wait for a turn before 503 (default 2000)' })
      .option('search-per-caller', {
        type: 'number',
        describe: 'searches one caller may have running or waiting; past it 429 (default 4)',
      })
      .option('search-timeout-ms', {
        type: 'number',
        describe: 'longest a search may run before it is stopped and answered 503 (default 5000)',
      })
      .option('search-threads', {
        type: 'number',
        describe:
          'SQLite catalog: threads that run full-text searches, each with a read-only connection ' +
          '(default: the cores but one, 1 to 4); also the default --search-concurrency',
      })
      .option('search-max-cost', {
        type: 'number',
        describe: 'largest search cost (1 per word, 32/8 for a one/two-letter prefix); past it 400 (default 64)',
      })
      .option('pricing', {
        type: 'string',
        describe: 'per-tier prices for the storage panel (env STRATA_PRICING; default: built-in policies/pricing.yaml)',
      })
      .option('policy', {
        type: 'string',
        array: true,
        describe:
          "policy files or directories a workflow's policy explanation uses (default: built-in defaults); re-read when they change",
      })
      .option('config-poll-seconds', {
        type: 'number',
        default: 60,
        describe: 're-read --policy and --pricing this often besides on change events (0: on events only)',
      })
      .option('tls-cert', { type: 'string', describe: 'serve HTTPS with this PEM certificate (chain) ...' })
      .option('tls-key', { type: 'string', describe: '... and this PEM private key' })
      .option('kube-auth', {
        type: 'boolean',
        describe: 'in a cluster: TokenReview for tokens, SubjectAccessReview on strata.dev archives per namespace',
      })
      .option('oidc-issuer', {
        type: 'string',
        describe: 'also accept OIDC JWTs from this issuer (https; its discovery document and keys are fetched)',
      })
      .option('oidc-audience', { type: 'string', describe: 'the client id OIDC tokens must name in aud' })
      .option('oidc-username-claim', { type: 'string', default: 'sub', describe: 'claim with the username' })
      .option('oidc-groups-claim', { type: 'string', default: 'groups', describe: 'claim with the groups' })
      .option('oidc-username-prefix', {
        type: 'string',
        default: 'oidc:',
        describe: "put before OIDC usernames (match kube-apiserver's --oidc-username-prefix to share RoleBindings)",
      })
      .option('oidc-groups-prefix', { type: 'string', default: 'oidc:', describe: 'put before OIDC groups' }),
  handler: runStep<ServeArgs>(async (args, ctx) => {
    // The server (graphql, zod's API schemas, the dashboard) loads only here: every other command starts without it.
    const [
      { inClusterReviewOptions, KubeReviewAccess },
      { readAccessFile, TokenFileAccess },
      { createApp },
      { answerClientErrors },
      { RestoreJobs },
      { StoreJobRecords },
      { OidcAuthenticator, withOidc },
      { followSources, LiveConfig, policyReader, readPrices },
      { presentedTokens },
    ] = await Promise.all([
      import('../../server/auth/kube-review.ts'),
      import('../../server/auth/token-file.ts'),
      import('../../server/http/app.ts'),
      import('../../server/http/client-errors.ts'),
      import('../../server/restores/jobs.ts'),
      import('../../server/restores/job-records.ts'),
      import('../../server/auth/oidc.ts'),
      import('../../server/service/live-config.ts'),
      import('../../server/auth/access.ts'),
    ]);
    if (Boolean(args['access-file']) === Boolean(args['kube-auth']))
      throw new ConfigError('give exactly one of --access-file (embedded mode) or --kube-auth (in a cluster)');
    let access: Authenticator & Authorizer;
    if (args['access-file']) access = new TokenFileAccess(readAccessFile(args['access-file']));
    else access = new KubeReviewAccess(inClusterReviewOptions());
    if (args['oidc-audience'] && !args['oidc-issuer'])
      throw new ConfigError('--oidc-audience needs --oidc-issuer', { key: 'oidc-audience' });
    // OIDC adds a way to prove who one is; what a caller may see is still decided by the access file or the cluster.
    const authenticator: Authenticator = args['oidc-issuer']
      ? withOidc(
          new OidcAuthenticator({
            issuer: args['oidc-issuer'],
            audience: args['oidc-audience'] ?? '',
            usernameClaim: args['oidc-username-claim'],
            groupsClaim: args['oidc-groups-claim'],
            usernamePrefix: args['oidc-username-prefix'],
            groupsPrefix: args['oidc-groups-prefix'],
          }),
          access,
        )
      : access;
    const { host, port } = listenAddress(args.listen);
    const search = searchLimits(args);
    const searchThreads = args['search-threads'] ?? defaultSearchThreads();
    if (!(Number.isInteger(searchThreads) && searchThreads >= 1))
      throw new ConfigError(`--search-threads must be a whole number ≥ 1, got ${searchThreads}`);
    // An embedded catalog's searches run on its search threads: as many at once as there are threads.
    const embedded = catalogLocation(ctx.config.catalog).kind === 'sqlite';
    if (embedded) search.concurrency ??= searchThreads;
    const { catalog } = await openCatalog(ctx.config.catalog, {
      ...catalogTextOptions(ctx.config, () => ctx.store(), ctx.log),
      ...(embedded && { searchThreads }),
    });
    const store = ctx.store();
    let repository: ReturnType<typeof openRepository> | undefined;
    const openRepo = () =>
      (repository ??= openRepository(store).catch((err: unknown) => {
        repository = undefined; // try again on the next request (the store may come up later)
        throw err;
      }));
    // Restores back into the artifact bucket write only into the repositories configuration trusts (docs/api.md).
    const artifactBuckets = ctx.config.artifactRepositories?.length
      ? (await import('../../server/restores/artifact-bucket.ts')).configuredArtifactBuckets(
          ctx.config.artifactRepositories,
          ctx.config.s3,
        )
      : undefined;
    const jobsMode = args['restore-jobs'] ?? (args['kube-auth'] && !args['restore-dir'] ? 'argo' : 'local');
    let restores: RestoreJobService | undefined;
    let stopJobMaintenance = () => {};
    if (jobsMode === 'argo') {
      if (args['restore-dir'])
        throw new ConfigError('--restore-jobs=argo keeps no --restore-dir: give one or the other');
      const [{ WorkflowRestoreJobs }, { KubeWorkflowSubmitter }, { kubeConfigFor }] = await Promise.all([
        import('../../server/restores/workflow-jobs.ts'),
        import('../../lib/kube/workflow-submitter.ts'),
        import('../../lib/kube/open.ts'),
      ]);
      restores = new WorkflowRestoreJobs({
        catalog,
        repository: openRepo,
        authorizer: access,
        audit: ctx.audit,
        submitter: new KubeWorkflowSubmitter(await kubeConfigFor(process.env.STRATA_KUBE_SERVER)),
        namespace: ctx.config.namespace,
        ...(artifactBuckets && { artifactBuckets }),
      });
      ctx.log(`strata serve: restore jobs run as strata-restore Workflows in namespace ${ctx.config.namespace}`);
    } else if (args['restore-dir']) {
      // Records in the archive's store: every replica on that store sees every job (docs/api.md).
      const local = await RestoreJobs.open({
        catalog,
        repository: openRepo,
        authorizer: access,
        audit: ctx.audit,
        dir: args['restore-dir'],
        records: new StoreJobRecords(store),
        ...(artifactBuckets && { artifactBuckets }),
        ...(args['replica-name'] && { replica: args['replica-name'] }),
        leaseMs: fixedDurationMs(args['restore-lease'] ?? '2m', 'restore-lease'),
        retainFinishedMs: fixedDurationMs(args['restore-retain'] ?? '7d', 'restore-retain'),
        onError: (err) => ctx.log(`strata serve: restore job: ${describeError(err)}`),
      });
      stopJobMaintenance = local.startMaintenance();
      restores = local;
    } else if (args['restore-jobs'] === 'local') {
      throw new ConfigError('--restore-jobs=local needs --restore-dir <dir> for the results');
    }
    let clusterApprovals: Promise<ApprovalStore> | undefined;
    const rate = args['rate-limit'] ?? 0;
    if (!(rate >= 0)) throw new ConfigError(`--rate-limit must be 0 or more, got ${args['rate-limit']}`);
    const pricingFile = args.pricing ?? process.env.STRATA_PRICING;
    // Policies and prices follow their files while serving (a mounted ConfigMap changes under the pod); a new
    // version that does not validate is refused and the last good one stays in force (docs/api.md).
    const log = (line: string) => ctx.log(`strata serve: ${line}`);
    const policyPaths = args.policy ?? [];
    let livePolicies: LiveConfig<PolicySet> | undefined;
    if (policyPaths.length) {
      const readPolicies = policyReader(policyPaths);
      const first = readPolicies();
      for (const p of 'problems' in first ? first.problems : (first.warnings ?? [])) log(`policy: ${p}`);
      livePolicies = new LiveConfig('policy', policyPaths.join(', '), readPolicies, first, log);
    }
    let livePrices: LiveConfig<PriceTable> | undefined;
    if (pricingFile) {
      const first = readPrices(pricingFile);
      if ('problems' in first) throw new ConfigError(first.problems.join('; '), { file: pricingFile });
      livePrices = new LiveConfig('pricing', pricingFile, () => readPrices(pricingFile), first, log);
    }
    const reloadMs = args['config-poll-seconds'] * 1000;
    if (!(reloadMs >= 0)) throw new ConfigError(`--config-poll-seconds must be 0 or more`);
    const follows = [
      ...(livePolicies ? [followSources(livePolicies, policyPaths, { pollMs: reloadMs, log })] : []),
      ...(livePrices ? [followSources(livePrices, [pricingFile!], { pollMs: reloadMs, log })] : []),
    ];
    const app = createApp({
      live: { ...(livePolicies && { policies: livePolicies }), ...(livePrices && { prices: livePrices }) },
      catalog,
      repository: openRepo,
      ...(restores && { restores }),
      ui: args.ui === false ? false : args['ui-dir'],
      ...(rate > 0 && { rateLimit: { perSecond: rate, burst: 2 * rate } }),
      search,
      // A second person's approval (a long extension) lives on the cluster, created with the approver's own token
      // so admission sees them; in embedded mode it is a record in the archive store (createApp's default).
      ...(args['kube-auth'] && {
        approvals: () => (clusterApprovals ??= openApprovals(ctx.config.namespace, undefined, process.env)),
        approvalsAs: (approver: Caller) => {
          const token = presentedTokens.get(approver);
          if (!token) throw new ConfigError(`no bearer token of ${approver.username} to approve with`);
          return openApprovalsAs(ctx.config.namespace, token, undefined, process.env);
        },
      }),
      extendApprovalBeyond: ctx.config.extendApprovalBeyond,
      authenticator,
      authorizer: access,
      audit: ctx.audit,
      version: process.env.npm_package_version ?? 'dev',
      onInternalError: (err) => ctx.log(`strata serve: ${describeError(err)}`),
    });
    if (Boolean(args['tls-cert']) !== Boolean(args['tls-key']))
      throw new ConfigError('give both --tls-cert and --tls-key, or neither');
    const server = args['tls-cert']
      ? createHttpsServer({ cert: readFileSync(args['tls-cert']), key: readFileSync(args['tls-key']!) }, app)
      : createServer(app);
    answerClientErrors(server);
    server.headersTimeout = 30_000;
    server.requestTimeout = 0; // logs stream for as long as the client reads
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    ctx.log(
      `strata serve: listening on ${typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : args.listen}`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => server.close(() => resolve());
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    stopJobMaintenance();
    for (const f of follows) f.close();
    await catalog.close();
    return ExitCode.Ok;
  }),
};
