// Starts and stops the loopback Elasticsearch 7.17 node (hack/peers/elasticsearch.sh) for the search suites.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './s3-peer.ts';

const run = promisify(execFile);
const script = join(repoRoot, 'hack/peers/elasticsearch.sh');

export interface SearchPeer {
  /** e.g. "elasticsearch 7.17.29" */
  server: string;
  endpoint: string;
  stop(): Promise<void>;
}

/** What the tests receive through vitest's provide/inject: the node, or why there is none. */
export type SearchPeerInfo = Omit<SearchPeer, 'stop'> | { skip: string };

/** Why the node cannot start here (no suitable Java, not assembled), or undefined when it can. */
export async function searchPeerMissing(): Promise<string | undefined> {
  try {
    await run('bash', [script, 'check']);
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    return stderr || (err as Error).message;
  }
}

export async function startElasticsearch(): Promise<SearchPeer> {
  mkdirSync(join(repoRoot, '.cache/peers'), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, '.cache/peers/elasticsearch-'));
  const stop = async () => {
    await run('bash', [script, 'stop', dir]);
  };
  try {
    const { stdout } = await run('bash', [script, 'start', dir], {
      env: { ...process.env, STRATA_ES_OWNER: String(process.pid) },
    });
    const endpoint = stdout.trim().split('\n').at(-1)!;
    const about = (await (await fetch(endpoint)).json()) as { version: { number: string } };
    return { server: `elasticsearch ${about.version.number}`, endpoint, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** The node from globalSetup, or the reason the search suites skip (inject() only works inside a test file). */
export function searchPeerOrSkip(info: SearchPeerInfo | undefined): { endpoint?: string; skip?: string } {
  if (!info) return { skip: 'no search peer was provided (is test/setup/global-peers.ts the globalSetup?)' };
  return 'skip' in info ? { skip: info.skip } : { endpoint: info.endpoint };
}
