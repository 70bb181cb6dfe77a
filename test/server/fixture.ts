// A real archive and catalog behind `createApp` on loopback, for the server's tests (GraphQL, restores, dashboard).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { archiveBundle, initRepository } from '../../lib/archive/index.ts';
import { openRepository } from '../../lib/archive/repository.ts';
import type { AuditRecord } from '../../lib/audit/audit.ts';
import { createStoreAuditLog } from '../../lib/audit/store-audit.ts';
import type { BundleEntry, WorkflowBundle } from '../../lib/bundle/bundle.ts';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { withSearchThreads } from '../../lib/catalog/search-threads.ts';
import { archiveSegmentReader } from '../../lib/catalog/segment-reader.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { parseAccessFile, TokenFileAccess } from '../../server/auth/token-file.ts';
import { createApp, type ServerDeps } from '../../server/http/app.ts';
import { answerClientErrors } from '../../server/http/client-errors.ts';
import type { RestoreJobService } from '../../server/restores/job.ts';
import { RestoreJobs, type RestoreJobsDeps } from '../../server/restores/jobs.ts';

export const sha = (s: string) => createHash('sha256').update(s).digest('hex');
export const LOG =
  Array.from({ length: 50 }, (_, i) => `line ${i + 1}${i === 41 ? ' segfault in worker' : ''}`).join('\n') + '\n';
export const ARTIFACT = 'model weights v1\n'.repeat(100);

const text = (path: string, s: string, extra: Partial<BundleEntry>): BundleEntry => ({
  path,
  size: Buffer.byteLength(s),
  open: async () => Readable.from([Buffer.from(s)]),
  kind: 'log',
  ...extra,
});

export function bundle(
  i: number,
  namespace: string,
  phase: string,
  labels: Record<string, string>,
  log: string,
  artifactKeys = false,
) {
  const uid = `00000000-0000-0000-0000-0000000000${String(i).padStart(2, '0')}`;
  const name = `wf-${i}`;
  const node = `${name}-node`;
  const day = String(i).padStart(2, '0');
  const workflow = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name, namespace, uid, labels },
    status: {
      phase,
      startedAt: `2026-11-${day}T09:00:00Z`,
      finishedAt: `2026-11-${day}T10:00:00Z`,
      nodes: {
        [name]: { id: name, name, type: 'DAG', phase, children: [node] },
        [node]: { id: node, name: `${name}.a`, displayName: 'a', type: 'Pod', phase, children: [] },
      },
    },
  };
  const entries: BundleEntry[] = [
    text(`logs/${node}/main.log`, log, { kind: 'log', nodeId: node, container: 'main' }),
    text(`artifacts/${node}/model.txt`, ARTIFACT, {
      kind: 'artifact',
      nodeId: node,
      artifactName: 'model',
      // Where Argo's artifact repository held it (a bucket restore writes it back there).
      ...(artifactKeys && { meta: { name: 'model', s3: { key: `${namespace}/${name}/model.txt` } } }),
    }),
  ];
  return { uid, namespace, name, workflow, entries, missing: [] } satisfies WorkflowBundle;
}

export const ACCESS = `
users:
  - { username: alice, tokenSha256: ${sha('alice-token')} }
  - { username: bob, groups: [finance-auditors], tokenSha256: ${sha('bob-token')} }
  - { username: carol, tokenSha256: ${sha('carol-token')} }
rules:
  - { user: alice, verbs: [get, list, restore], namespaces: [agents] }
  - { group: finance-auditors, verbs: [list], namespaces: [finance] }
`;

export interface Fixture {
  dir: string;
  base: string;
  ids: Record<string, string>;
  audit: AuditRecord[];
  catalog: Catalog;
  store: FileSystemStore;
  server: Server;
  restores?: RestoreJobs;
  access: TokenFileAccess;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Serve restore jobs (in <dir>/restores), with these job options. */
  restores?: Partial<Pick<RestoreJobsDeps, 'concurrency' | 'beforeRead' | 'artifactBuckets'>>;
  /** Archive each artifact with the key Argo's artifact repository recorded for it (`<namespace>/<name>/model.txt`). */
  artifactKeys?: boolean;
  /** Serve restore jobs from this service instead (e.g. jobs as Workflows), built over the fixture's parts. */
  restoreService?(parts: {
    catalog: Catalog;
    store: FileSystemStore;
    access: TokenFileAccess;
    audit: { record(r: AuditRecord): Promise<void> };
  }): RestoreJobService;
  /** Write audit records to the archive store's log too (what `strata serve` does), not only to `audit`. */
  storeAudit?: boolean;
  /**
   * A compact catalog file (text read back from the archive) with its full-text searches on this many search threads,
   * as `strata serve` opens it, instead of an in-memory stored one.
   */
  searchThreads?: number;
}

/** Four archived workflows (three in agents, one in finance), served with the access file above. */
export async function startFixture(
  overrides: Partial<ServerDeps> = {},
  access = ACCESS,
  options: FixtureOptions = {},
): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-server-'));
  const store = new FileSystemStore(join(dir, 'repo'));
  const repo = await initRepository(store);
  const wfs = [
    bundle(1, 'agents', 'Succeeded', { team: 'a', tier: 'gold' }, LOG, options.artifactKeys),
    bundle(2, 'agents', 'Failed', { team: 'b' }, 'setup\nsegfault in worker 3\n', options.artifactKeys),
    bundle(3, 'agents', 'Succeeded', { team: 'a' }, 'ok\n', options.artifactKeys),
    bundle(4, 'finance', 'Succeeded', { team: 'a' }, 'ledger closed, segfault in worker 9\n', options.artifactKeys),
  ];
  const ids: Record<string, string> = {};
  for (const b of wfs) ids[b.name] = (await archiveBundle(repo, b)).manifestId;
  let catalog: Catalog;
  if (options.searchThreads) {
    const path = join(dir, 'catalog.db');
    const textFrom = archiveSegmentReader(await archiveManifestSource(store));
    const opened = openSqliteCatalog(path, { textFrom }).catalog;
    catalog = withSearchThreads(opened, { path, textFrom, threads: options.searchThreads });
  } else catalog = openSqliteCatalog(':memory:').catalog;
  await indexCatalog(catalog, await archiveManifestSource(store));
  const tokens = new TokenFileAccess(parseAccessFile(access, 'access.yaml'));
  const audit: AuditRecord[] = [];
  const storeLog = options.storeAudit ? createStoreAuditLog(store) : undefined;
  const auditLog = {
    record: async (r: AuditRecord) => {
      await storeLog?.record(r);
      audit.push(r);
    },
  };
  const restores = options.restores
    ? await RestoreJobs.open({
        catalog,
        repository: () => openRepository(store),
        authorizer: tokens,
        audit: auditLog,
        dir: join(dir, 'restores'),
        ...options.restores,
      })
    : undefined;
  const service = options.restoreService?.({ catalog, store, access: tokens, audit: auditLog });
  const server = createServer(
    createApp({
      catalog,
      repository: () => openRepository(store),
      authenticator: tokens,
      authorizer: tokens,
      audit: auditLog,
      version: 'test',
      ...(restores && { restores }),
      ...(service && { restores: service }),
      ...overrides,
    }),
  );
  answerClientErrors(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    dir,
    base: `http://127.0.0.1:${addr.port}`,
    ids,
    audit,
    catalog,
    store,
    server,
    access: tokens,
    ...(restores && { restores }),
    close: async () => {
      await new Promise((r) => server.close(r));
      await catalog.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
