// Starts and stops a real S3 server on 127.0.0.1 for the suites: moto (default) or MinIO (STRATA_TEST_S3_PEER=minio).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface S3Peer {
  /** e.g. "moto 5.2.5" */
  server: string;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  stop(): Promise<void>;
}

/** What the tests receive through vitest's provide/inject: the peer, or why there is none. */
export type S3PeerInfo = Omit<S3Peer, 'stop'> | { skip: string };

export const repoRoot = resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `${what} exited (${code ?? signal}) before it was ready`));
  for (;;) {
    if (exited) throw new Error(exited);
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return; // any HTTP answer means the server listens
    } catch {
      if (Date.now() > deadline) throw new Error(`${what} did not answer at ${url} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

function stopper(child: ChildProcess, cleanup?: () => void): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    cleanup?.();
  };
}

export function motoPath(): string {
  return join(repoRoot, '.cache/venv/bin/moto_server');
}

/** `env` lets a suite start a moto that checks credentials (INITIAL_NO_AUTH_ACTION_COUNT=0). */
export async function startMoto(env: NodeJS.ProcessEnv = {}): Promise<S3Peer> {
  const bin = motoPath();
  const version = execFileSync(
    join(repoRoot, '.cache/venv/bin/python'),
    ['-c', 'import moto; print(moto.__version__)'],
    {
      encoding: 'utf8',
    },
  ).trim();
  const port = await freePort();
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  child.stderr?.resume(); // moto logs every request on stderr; drain it so the pipe never blocks
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = stopper(child);
  try {
    await waitReady(`${endpoint}/moto-api/`, child, 'moto_server');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    server: `moto ${version}`,
    endpoint,
    accessKeyId: 'testing',
    secretAccessKey: 'testing',
    region: 'us-east-1',
    stop,
  };
}

/** MinIO built by hack/peers/minio.sh into .cache/bin (or the binary named by STRATA_MINIO_BIN). */
export async function startMinio(): Promise<S3Peer> {
  const bin = process.env.STRATA_MINIO_BIN ?? join(repoRoot, '.cache/bin/minio');
  if (!existsSync(bin)) throw new Error(`MinIO binary not found at ${bin} (run bash hack/peers/minio.sh)`);
  // "minio version RELEASE.…" (or DEVELOPMENT.GOGET for a `go install` build)
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' })
    .split('\n')[0]!
    .replace(/^minio version /, '')
    .trim();
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'strata-minio-'));
  const child = spawn(
    bin,
    ['server', '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', '127.0.0.1:0', data],
    {
      stdio: 'ignore',
      env: { ...process.env, MINIO_ROOT_USER: 'strataminio', MINIO_ROOT_PASSWORD: 'strataminio-secret' },
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = stopper(child, () => rmSync(data, { recursive: true, force: true }));
  try {
    await waitReady(`${endpoint}/minio/health/live`, child, 'minio');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    server: `minio ${version}`,
    endpoint,
    accessKeyId: 'strataminio',
    secretAccessKey: 'strataminio-secret',
    region: 'us-east-1',
    stop,
  };
}
