// Where the embedded runner keeps its restore jobs: JSON records in the archive's object store (shared by every
// replica of the server, and the source of truth), or in a local directory (one server). A cancel asked on one
// replica for a job another replica runs is a record of its own, so the runner's writes never overwrite it. Who runs
// a job is settled by claims: create-only objects, one per lease generation, so of replicas racing to take a job
// over exactly one creates the next generation's claim (the store's If-None-Match, or O_EXCL on a directory).
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { AlreadyExistsError } from '../../lib/errors.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import type { RestoreJob } from './job.ts';

export interface JobRecords {
  /** Where they are, for logs and docs. */
  readonly description: string;
  load(id: string): Promise<RestoreJob | undefined>;
  save(job: RestoreJob): Promise<void>;
  all(): Promise<RestoreJob[]>;
  requestCancel(id: string, by: string): Promise<void>;
  /** Who asked to cancel the job on another replica, if anyone did. */
  cancelRequest(id: string): Promise<string | undefined>;
  /** Takes lease generation `generation` of the job: true for the one replica whose create-only write won. */
  claim(id: string, generation: number, replica: string): Promise<boolean>;
  /** Whether someone took that generation (a runner that sees its successor's claim has lost the job). */
  claimed(id: string, generation: number): Promise<boolean>;
  /** The job's record first (it no longer exists), then its cancel request and claims; absent ones are no error. */
  remove(id: string): Promise<void>;
}

const ID = /^[0-9a-f]{32}$/;

/** Records under `restore-jobs/` of the archive's store: every replica on that store sees every job. */
export class StoreJobRecords implements JobRecords {
  static readonly PREFIX = 'restore-jobs/';
  readonly description: string;

  constructor(private readonly store: ObjectStore) {
    this.description = `${StoreJobRecords.PREFIX} in the archive store`;
  }

  private async read(key: string): Promise<string | undefined> {
    if (!(await this.store.head(key))) return undefined;
    try {
      return await text(await this.store.get(key));
    } catch {
      return undefined; // deleted in between
    }
  }

  async load(id: string): Promise<RestoreJob | undefined> {
    if (!ID.test(id)) return undefined;
    const body = await this.read(`${StoreJobRecords.PREFIX}${id}.json`);
    return body === undefined ? undefined : (JSON.parse(body) as RestoreJob);
  }

  async save(job: RestoreJob): Promise<void> {
    await this.store.put(`${StoreJobRecords.PREFIX}${job.id}.json`, Buffer.from(JSON.stringify(job)));
  }

  async all(): Promise<RestoreJob[]> {
    const out: RestoreJob[] = [];
    for await (const obj of this.store.list(StoreJobRecords.PREFIX)) {
      const id = obj.key.slice(StoreJobRecords.PREFIX.length).replace(/\.json$/, '');
      if (!obj.key.endsWith('.json') || !ID.test(id)) continue;
      const job = await this.load(id);
      if (job) out.push(job);
    }
    return out;
  }

  async requestCancel(id: string, by: string): Promise<void> {
    await this.store.put(`${StoreJobRecords.PREFIX}${id}.cancel`, Buffer.from(by));
  }

  async cancelRequest(id: string): Promise<string | undefined> {
    return this.read(`${StoreJobRecords.PREFIX}${id}.cancel`);
  }

  async claim(id: string, generation: number, replica: string): Promise<boolean> {
    try {
      await this.store.put(`${StoreJobRecords.PREFIX}${id}.claim-${generation}`, Buffer.from(replica), {
        ifNoneMatch: true,
      });
      return true;
    } catch (err) {
      if (err instanceof AlreadyExistsError) return false;
      throw err;
    }
  }

  async claimed(id: string, generation: number): Promise<boolean> {
    return (await this.store.head(`${StoreJobRecords.PREFIX}${id}.claim-${generation}`)) !== undefined;
  }

  async remove(id: string): Promise<void> {
    if (!ID.test(id)) return;
    await this.store.delete([`${StoreJobRecords.PREFIX}${id}.json`]);
    const rest: string[] = [];
    for await (const obj of this.store.list(`${StoreJobRecords.PREFIX}${id}.`)) rest.push(obj.key);
    if (rest.length > 0) await this.store.delete(rest);
  }
}

/** Records as files of a directory (`<dir>/jobs`): one server, or several on a shared (ReadWriteMany) volume. */
export class DirJobRecords implements JobRecords {
  readonly description: string;

  constructor(private readonly dir: string) {
    this.description = join(dir, 'jobs');
  }

  private file(id: string, suffix = '.json') {
    return join(this.dir, 'jobs', `${id}${suffix}`);
  }

  private async read(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async load(id: string): Promise<RestoreJob | undefined> {
    if (!ID.test(id)) return undefined;
    const body = await this.read(this.file(id));
    return body === undefined ? undefined : (JSON.parse(body) as RestoreJob);
  }

  async save(job: RestoreJob): Promise<void> {
    await mkdir(join(this.dir, 'jobs'), { recursive: true });
    const tmp = `${this.file(job.id)}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify(job));
    await rename(tmp, this.file(job.id));
  }

  async all(): Promise<RestoreJob[]> {
    await mkdir(join(this.dir, 'jobs'), { recursive: true });
    const out: RestoreJob[] = [];
    for (const name of await readdir(join(this.dir, 'jobs'))) {
      const id = name.replace(/\.json$/, '');
      if (!name.endsWith('.json') || !ID.test(id)) continue;
      const job = await this.load(id);
      if (job) out.push(job);
    }
    return out;
  }

  async requestCancel(id: string, by: string): Promise<void> {
    await mkdir(join(this.dir, 'jobs'), { recursive: true });
    await writeFile(this.file(id, '.cancel'), by);
  }

  cancelRequest(id: string): Promise<string | undefined> {
    return this.read(this.file(id, '.cancel'));
  }

  async claim(id: string, generation: number, replica: string): Promise<boolean> {
    await mkdir(join(this.dir, 'jobs'), { recursive: true });
    try {
      await writeFile(this.file(id, `.claim-${generation}`), replica, { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  async claimed(id: string, generation: number): Promise<boolean> {
    return (await this.read(this.file(id, `.claim-${generation}`))) !== undefined;
  }

  async remove(id: string): Promise<void> {
    if (!ID.test(id)) return;
    await rm(this.file(id), { force: true });
    let names: string[];
    try {
      names = await readdir(join(this.dir, 'jobs'));
    } catch {
      return;
    }
    for (const name of names) if (name.startsWith(`${id}.`)) await rm(join(this.dir, 'jobs', name), { force: true });
  }
}
