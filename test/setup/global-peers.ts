// vitest globalSetup: starts the loopback peers the suites need (the S3 server, the search engine) and stops them
// afterwards.
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { motoPath, startMinio, startMoto, type S3Peer, type S3PeerInfo } from '../support/s3-peer.ts';
import { searchPeerMissing, startElasticsearch, type SearchPeer, type SearchPeerInfo } from '../support/search-peer.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    s3Peer: S3PeerInfo;
    searchPeer: SearchPeerInfo;
  }
}

async function setupS3(): Promise<{ peer?: S3Peer; info: S3PeerInfo }> {
  const which = process.env.STRATA_TEST_S3_PEER ?? 'moto';
  if (which === 'none') return { info: { skip: 'S3 peer disabled (STRATA_TEST_S3_PEER=none)' } };
  if (which === 'moto' && !existsSync(motoPath())) {
    return { info: { skip: `no moto_server at ${motoPath()}; run bash hack/peers/install.sh (npm test does)` } };
  }
  const start = which === 'minio' ? startMinio : () => startMoto();
  // One retry: the free port we picked can be taken by another process before the server binds it.
  const peer = await start().catch(() => start());
  const { stop: _stop, ...info } = peer;
  return { peer, info };
}

// Test-file filters given on the command line (`npx vitest run test/foo`), without the values of options.
function fileFilters(argv: readonly string[]): string[] {
  const takesValue = new Set(['-t', '--testNamePattern', '-c', '--config', '--project', '--root', '-r', '--dir']);
  const out: string[] = [];
  for (let i = argv.indexOf('run') + 1; i > 0 && i < argv.length; i++) {
    const arg = argv[i]!;
    if (takesValue.has(arg)) i++;
    else if (!arg.startsWith('-')) out.push(arg);
  }
  return out;
}

async function setupSearch(): Promise<{ peer?: SearchPeer; info: SearchPeerInfo }> {
  const which = process.env.STRATA_TEST_SEARCH_PEER ?? 'auto';
  if (which === 'none') return { info: { skip: 'search peer disabled (STRATA_TEST_SEARCH_PEER=none)' } };
  // A JVM costs seconds of CPU on a shared 2-core machine: only start it when the selected files may use it.
  const filters = fileFilters(process.argv);
  if (which === 'auto' && filters.length > 0 && !filters.some((f) => /search|catalog|elastic/i.test(f))) {
    return {
      info: { skip: 'search peer not started: no selected test file needs it (STRATA_TEST_SEARCH_PEER=elasticsearch)' },
    };
  }
  const missing = await searchPeerMissing();
  if (missing) return { info: { skip: `no Elasticsearch node: ${missing}` } };
  const peer = await startElasticsearch();
  const { stop: _stop, ...info } = peer;
  return { peer, info };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [s3, search] = await Promise.allSettled([setupS3(), setupSearch()]);
  const stopAll = async () => {
    await Promise.all([s3, search].map((r) => (r.status === 'fulfilled' ? r.value.peer?.stop() : undefined)));
  };
  if (s3.status === 'rejected' || search.status === 'rejected') {
    await stopAll();
    throw s3.status === 'rejected' ? s3.reason : (search as PromiseRejectedResult).reason;
  }
  const s3Info = s3.value.info;
  const searchInfo = search.value.info;
  process.stderr.write(
    ('skip' in s3Info
      ? `S3 peer: none, S3 suites skip: ${s3Info.skip}\n`
      : `S3 peer: ${s3Info.server} at ${s3Info.endpoint}\n`) +
      ('skip' in searchInfo
        ? `search peer: none, search suites skip: ${searchInfo.skip}\n`
        : `search peer: ${searchInfo.server} at ${searchInfo.endpoint}\n`),
  );
  project.provide('s3Peer', s3Info);
  project.provide('searchPeer', searchInfo);
  return stopAll;
}
