// Starts and stops a real PostgreSQL server (Debian's packages) on 127.0.0.1 for the catalog suites: initdb into a
// temp dir, `postgres` on a free port, stopped (fast shutdown) and the dir removed when the suite ends. PostgreSQL
// refuses to run as root, so under root (CI) it runs as the `postgres` user when there is one, else as nobody.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './s3-peer.ts';

export interface PgPeer {
  /** e.g. "PostgreSQL 15.8" */
  server: string;
  /** postgres://strata@127.0.0.1:<port>/strata */
  url: string;
  stop(): Promise<void>;
}

/** The directory holding initdb and postgres, or undefined when PostgreSQL is not installed. */
export function pgBinDir(): string | undefined {
  const candidates = [
    process.env.STRATA_TEST_PG_BIN,
    ...(existsSync('/usr/lib/postgresql')
      ? readdirSync('/usr/lib/postgresql')
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => `/usr/lib/postgresql/${v}/bin`)
      : []),
  ].filter((d): d is string => Boolean(d));
  for (const d of candidates) if (existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres'))) return d;
  try {
    const initdb = execFileSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).trim();
    if (initdb) return join(initdb, '..');
  } catch {
    // not on PATH either
  }
  return undefined;
}

/** Why the PostgreSQL suites skip here, or undefined when a server can be started. */
export function pgSkipReason(): string | undefined {
  if (process.env.STRATA_TEST_PG === '0') return 'PostgreSQL suites disabled (STRATA_TEST_PG=0)';
  if (!pgBinDir())
    return 'PostgreSQL is not installed (no initdb/postgres under /usr/lib/postgresql/*/bin or on PATH; apt-get install postgresql)';
  return undefined;
}

/** The unprivileged account to run as when we are root (uid, gid), or undefined when we are not root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
      if (uid > 0) return { uid, gid };
    } catch {
      // no such user
    }
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

function command(bin: string, args: string[], as: { uid: number; gid: number } | undefined): [string, string[]] {
  return as ? ['setpriv', [`--reuid=${as.uid}`, `--regid=${as.gid}`, '--clear-groups', bin, ...args]] : [bin, args];
}

/** `settings`: extra server settings (`-c name=value`), e.g. a benchmark's larger shared_buffers. */
export async function startPostgres(settings: Record<string, string> = {}): Promise<PgPeer> {
  const bin = pgBinDir();
  if (!bin) throw new Error(pgSkipReason());
  const as = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'strata-pg-'));
  if (as) chownSync(dir, as.uid, as.gid);
  const data = join(dir, 'data');
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const [initdb, initArgs] = command(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'strata', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
      as,
    );
    execFileSync(initdb, initArgs, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  } catch (err) {
    cleanup();
    throw new Error(`initdb failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? String(err)}`, { cause: err });
  }
  const port = await freePort();
  const [postgres, args] = command(
    join(bin, 'postgres'),
    [
      ...['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir],
      // Test data is disposable: no fsync; small shared memory so several suites fit on one machine.
      ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      ...['-c', 'shared_buffers=32MB', '-c', 'max_connections=40', '-c', 'dynamic_shared_memory_type=mmap'],
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ],
    as,
  );
  const child = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  const stop = stopper(child, cleanup);
  const url = `postgres://strata@127.0.0.1:${port}/postgres`;
  try {
    const version = await waitReady(url, child, () => log);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('CREATE DATABASE strata');
    await admin.end();
    return { server: version, url: `postgres://strata@127.0.0.1:${port}/strata`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitReady(url: string, child: ChildProcess, log: () => string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) before it was ready: ${log()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ v: string }>(
        `SELECT 'PostgreSQL ' || current_setting('server_version') AS v`,
      );
      return rows[0]!.v;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`postgres did not accept connections within ${timeoutMs / 1000} s: ${log()}`);
      await new Promise((r) => setTimeout(r, 150));
    } finally {
      await client.end().catch(() => {});
    }
  }
}

function stopper(child: ChildProcess, cleanup: () => void): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT'); // fast shutdown: disconnect clients, no waiting for them
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    cleanup();
  };
}
