// vitest globalSetup: starts the loopback peers the suites need (the S3 server) and stops them afterwards.
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { motoPath, startMinio, startMoto, type S3Peer, type S3PeerInfo } from '../support/s3-peer.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    s3Peer: S3PeerInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const which = process.env.STRATA_TEST_S3_PEER ?? 'moto';
  let peer: S3Peer | undefined;
  let info: S3PeerInfo;
  if (which === 'none') {
    info = { skip: 'S3 peer disabled (STRATA_TEST_S3_PEER=none)' };
  } else if (which === 'moto' && !existsSync(motoPath())) {
    info = { skip: `no moto_server at ${motoPath()}; run bash hack/peers/install.sh (npm test does)` };
  } else {
    const start = which === 'minio' ? startMinio : () => startMoto();
    // One retry: the free port we picked can be taken by another process before the server binds it.
    peer = await start().catch(() => start());
    const { stop: _stop, ...rest } = peer;
    info = rest;
  }
  process.stderr.write(
    'skip' in info ? `S3 peer: none, S3 suites skip: ${info.skip}\n` : `S3 peer: ${info.server} at ${info.endpoint}\n`,
  );
  project.provide('s3Peer', info);
  return async () => {
    await peer?.stop();
  };
}
