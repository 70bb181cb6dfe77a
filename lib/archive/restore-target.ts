// A local directory that restored files go into: staged in a private directory inside it, moved in only once
// every file is written and verified, never following a link that is already in the target.
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, realpath, rename, rm, rmdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { InputError, StrataError } from '../errors.ts';

const STAGING_PREFIX = '.strata-restore-';
/** `.strata-restore-<host hash>-<pid>-<random>`: whose it is, so only a dead restore's staging is removed. */
const STAGING_NAME = /^\.strata-restore-([0-9a-f]{8})-([0-9]+)-[0-9a-f]{16}$/;
const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** True when the process that made a staging directory is gone (same host, and no process has its pid now). */
function ownerIsGone(host: string, pid: number): boolean {
  if (host !== HOST) return false; // another machine's (a shared volume): cannot tell, leave it
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return codeOf(err) === 'ESRCH';
  }
}
/** Create a new file, fail if anything (a file, or a link planted there) already has the name. */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** True for a name a restore's staging directory could have (a restored entry may not use it). */
export function isStagingName(segment: string): boolean {
  return segment.startsWith(STAGING_PREFIX);
}

/** A file-system failure on the restore side, naming the path (never a bare `EISDIR … rename`). */
export class RestoreWriteError extends StrataError {}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function writeError(what: string, path: string, err: unknown): RestoreWriteError {
  const code = codeOf(err);
  const why = err instanceof Error ? err.message.replace(/^[A-Z]+: /, '') : String(err);
  return new RestoreWriteError(`cannot ${what}: ${code ?? why}`, { file: path }, { cause: err });
}

/**
 * The directory a restore writes into. The path the user gave is theirs (it may be, or sit under, a link, and is
 * created when missing); everything below it is restored content: no link in it is ever followed.
 */
export class RestoreTarget {
  private readonly moved = new Set<string>();

  private constructor(
    /** The target's real path. */
    readonly dir: string,
    private readonly staging: string,
    /** The target did not exist before: a failed restore removes it again. */
    private readonly created: boolean,
    /** Staging directories an interrupted restore left behind, removed before this one started. */
    readonly leftovers: string[],
  ) {}

  static async open(dir: string): Promise<RestoreTarget> {
    let created: boolean;
    try {
      created = (await mkdir(dir, { recursive: true })) !== undefined;
    } catch (err) {
      if (codeOf(err) === 'EEXIST' || codeOf(err) === 'ENOTDIR')
        throw new InputError('the restore target exists and is not a directory', { file: dir });
      throw writeError('create the restore target', dir, err);
    }
    const real = await realpath(dir);
    if (!(await lstat(real)).isDirectory())
      throw new InputError('the restore target is not a directory', { file: dir });
    // A restore killed before its last move leaves its staging directory; a re-run converges by removing it. One
    // whose process still runs (another restore into the same directory right now) is left alone.
    const leftovers: string[] = [];
    for (const d of await readdir(real, { withFileTypes: true })) {
      const owner = STAGING_NAME.exec(d.name);
      if (owner && d.isDirectory() && ownerIsGone(owner[1]!, Number(owner[2]))) {
        await rm(join(real, d.name), { recursive: true, force: true });
        leftovers.push(join(real, d.name));
      }
    }
    const staging = join(real, `${STAGING_PREFIX}${HOST}-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(staging, { mode: 0o700 });
    } catch (err) {
      throw writeError('create a staging directory', staging, err);
    }
    return new RestoreTarget(real, staging, created, leftovers);
  }

  /** Writes `data` to `rel` (a checked relative path) in the staging directory; nothing is visible yet. */
  async write(rel: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<void> {
    const path = join(this.staging, rel);
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (err) {
      throw writeError('create a directory', join(this.dir, dirname(rel)), err);
    }
    let handle;
    try {
      handle = await open(path, CREATE_NEW, 0o644);
    } catch (err) {
      throw writeError('create a file', join(this.dir, rel), err);
    }
    try {
      if (data instanceof Uint8Array) await handle.write(data);
      else for await (const chunk of data) await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /**
   * Moves everything staged into the target. Checked first, as a whole: a link where the archive has a
   * directory, a directory where it has a file, or a file where it has a directory refuses the restore before
   * anything moves. A file or link where the archive has a file is replaced (rename replaces the link itself,
   * it never writes through it).
   */
  async commit(): Promise<void> {
    const moves: Array<{ from: string; to: string; rel: string }> = [];
    const refusals: string[] = [];
    await this.plan(this.staging, this.dir, '', moves, refusals);
    if (refusals.length > 0) {
      throw new InputError(
        `refusing to restore into ${this.dir}: ${refusals.join('; ')}; nothing was written (move them away or restore elsewhere)`,
      );
    }
    for (const m of moves) {
      await this.checkParents(m.rel);
      try {
        await rename(m.from, m.to);
      } catch (err) {
        throw writeError('move a restored file into place', m.to, err);
      }
      this.moved.add(dirname(m.to));
    }
    for (const d of this.moved) await syncDirectory(d);
    await rm(this.staging, { recursive: true, force: true });
  }

  /** Removes what was staged (and the target, when this restore created it and it is still empty). */
  async discard(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
    if (this.created) await rmdir(this.dir).catch(() => {});
  }

  private async plan(
    staged: string,
    target: string,
    rel: string,
    moves: Array<{ from: string; to: string; rel: string }>,
    refusals: string[],
  ): Promise<void> {
    for (const d of await readdir(staged, { withFileTypes: true })) {
      const from = join(staged, d.name);
      const to = join(target, d.name);
      const path = rel ? `${rel}/${d.name}` : d.name;
      let there;
      try {
        there = await lstat(to);
      } catch (err) {
        if (codeOf(err) !== 'ENOENT') throw writeError('inspect', to, err);
        moves.push({ from, to, rel: path });
        continue;
      }
      if (d.isDirectory()) {
        if (there.isSymbolicLink()) refusals.push(`${path} is a symbolic link (to ${await readlink(to)})`);
        else if (there.isDirectory()) await this.plan(from, to, path, moves, refusals);
        else refusals.push(`${path} is a file, the archive has a directory there`);
      } else if (there.isDirectory()) {
        refusals.push(`${path} is a directory, the archive has a file there`);
      } else {
        moves.push({ from, to, rel: path });
      }
    }
  }

  /** Right before a move: no directory on the way to `rel` may have become a link since the plan. */
  private async checkParents(rel: string): Promise<void> {
    const parts = rel.split('/').slice(0, -1);
    let path = this.dir;
    for (const p of parts) {
      path = join(path, p);
      const st = await lstat(path);
      if (!st.isDirectory() || st.isSymbolicLink())
        throw new InputError('changed into a link or file while the restore ran; stopped', { file: path });
    }
  }
}

/** Makes the renames into a directory durable (a crash right after the restore keeps them). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
