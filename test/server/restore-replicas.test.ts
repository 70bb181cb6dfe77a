// Embedded restore jobs on two replicas of the server sharing one archive store: every replica sees every job (its
// records live in the store), a cancel asked on one stops the job the other runs, a result file is served by a
// replica that did not run the job (read again from the archive, verified), and after a restart each replica resumes
// only the jobs it took. Jobs over cold packs ask for their thaw first and show it in their progress.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openRepository } from '../../lib/archive/repository.ts';
import { restoreJob } from '../../server/api/schemas.ts';
import { PACKS_PREFIX } from '../../lib/archive/repository.ts';
import type { ObjectInfo, ObjectStore, RestoreState, StorageClasses } from '../../lib/store/store.ts';
import type { Caller } from '../../server/auth/access.ts';
import type { RestoreJob, ThawProgress } from '../../server/restores/job.ts';
import { StoreJobRecords, type JobRecords } from '../../server/restores/job-records.ts';
import { RestoreJobs } from '../../server/restores/jobs.ts';
import { LOG, startFixture, type Fixture } from './fixture.ts';
import { gate } from '../support/gate.ts';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const alice: Caller = { username: 'alice', groups: [], via: 'token-file' };

let f: Fixture;
let tmp: string;
beforeAll(async () => {
  f = await startFixture();
  tmp = mkdtempSync(join(tmpdir(), 'strata-replicas-'));
});
afterAll(async () => {
  await f.close();
  rmSync(tmp, { recursive: true, force: true });
});

function replica(name: string, opts: { beforeRead?: () => Promise<void>; store?: ObjectStore } = {}) {
  const store = opts.store ?? f.store;
  return RestoreJobs.open({
    catalog: f.catalog,
    repository: () => openRepository(store),
    authorizer: f.access,
    audit: { record: async () => {} },
    dir: join(tmp, name),
    records: new StoreJobRecords(f.store),
    replica: name,
    thawPollMs: 0,
    ...(opts.beforeRead && { beforeRead: opts.beforeRead }),
  });
}

describe('two replicas on one store', () => {
  test('the other replica sees the job and its result, and serves its files from the archive', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const { job } = await a.create(alice, {
      requestId: 'two-1',
      manifestId: f.ids['wf-1']!,
      scope: { kind: 'workflow' },
    });
    expect((await b.get(alice, job.id)).id).toBe(job.id);
    // What a replica records for itself (which one runs the job) is not part of the API's job (found by the fuzzer).
    restoreJob.parse(job);
    restoreJob.parse(await b.get(alice, job.id));
    // The same request on the other replica is the same job, not a second one.
    const again = await b.create(alice, {
      requestId: 'two-1',
      manifestId: f.ids['wf-1']!,
      scope: { kind: 'workflow' },
    });
    expect(again).toMatchObject({ created: false, job: { id: job.id } });
    await a.whenSettled(job.id);
    const seen = await b.get(alice, job.id);
    expect(seen.phase).toBe('Succeeded');
    expect((await b.list(alice)).map((j) => j.id)).toContain(job.id);
    for (const j of await a.list(alice)) restoreJob.parse(j);
    const log = seen.result!.files.find((x) => x.entry.endsWith('main.log'))!;
    const file = await b.resultFile(alice, job.id, log.path);
    expect(sha(await text(await file.open()))).toBe(sha(LOG));
    expect(await text(await file.open({ start: 0, end: 3 }))).toBe(LOG.slice(0, 4));
  });

  test('a cancel asked on one replica stops the job the other runs', async () => {
    const hold = gate();
    const a = await replica('a2', { beforeRead: () => hold.opened });
    const b = await replica('b2');
    const { job } = await a.create(alice, {
      requestId: 'two-2',
      manifestId: f.ids['wf-3']!,
      scope: { kind: 'workflow' },
    });
    const asked = await b.cancel(alice, job.id);
    expect(asked.cancelledBy).toBe('alice');
    hold.open();
    await a.whenSettled(job.id);
    expect(await b.get(alice, job.id)).toMatchObject({ phase: 'Cancelled', cancelledBy: 'alice' });
  });

  test('after a restart each replica resumes only the jobs it took', async () => {
    const hold = gate();
    const a = await replica('a3', { beforeRead: () => hold.opened });
    const { job } = await a.create(alice, {
      requestId: 'two-3',
      manifestId: f.ids['wf-3']!,
      scope: { kind: 'workflow' },
    });
    const b = await replica('b3');
    await b.whenSettled(job.id); // b does not run it: nothing to wait for
    expect((await b.get(alice, job.id)).phase).not.toBe('Succeeded');
    // a restarts (its first process never gets past the gate): the new process resumes the job.
    const restarted = await replica('a3');
    await restarted.whenSettled(job.id);
    expect((await b.get(alice, job.id)).phase).toBe('Succeeded');
    hold.open();
    await a.whenSettled(job.id);
  });
});

/** Packs in GLACIER until their thaw is asked for; a restore is in progress for one look, then readable. */
function coldStore(inner: ObjectStore) {
  const asked = new Map<string, number>();
  const store: ObjectStore & StorageClasses = {
    url: inner.url,
    put: (k, b, o) => inner.put(k, b, o),
    get: (k, r) => inner.get(k, r),
    list: (p) => inner.list(p),
    delete: (k) => inner.delete(k),
    async head(key: string): Promise<ObjectInfo | undefined> {
      const info = await inner.head(key);
      if (!info || !key.startsWith(PACKS_PREFIX)) return info;
      const looks = asked.get(key);
      if (looks === undefined) return { ...info, storageClass: 'GLACIER', restore: { state: 'not-started' } };
      asked.set(key, looks + 1);
      return { ...info, storageClass: 'GLACIER', restore: { state: looks < 1 ? 'in-progress' : 'restored' } };
    },
    setStorageClass: async () => {},
    async restore(key: string): Promise<RestoreState> {
      asked.set(key, 0);
      return 'in-progress';
    },
  };
  return { store, asked };
}

describe('a job over cold packs', () => {
  test('asks for their thaw, shows thawing, then ready, then restores', async () => {
    const { store, asked } = coldStore(f.store);
    const seen: ThawProgress[] = [];
    const records: JobRecords = new StoreJobRecords(f.store);
    const watching: JobRecords = {
      description: records.description,
      load: (id) => records.load(id),
      all: () => records.all(),
      requestCancel: (id, by) => records.requestCancel(id, by),
      cancelRequest: (id) => records.cancelRequest(id),
      claim: (id, generation, replica) => records.claim(id, generation, replica),
      claimed: (id, generation) => records.claimed(id, generation),
      remove: (id) => records.remove(id),
      save: async (job: RestoreJob) => {
        if (job.progress.thaw) seen.push({ ...job.progress.thaw });
        await records.save(job);
      },
    };
    const jobs = await RestoreJobs.open({
      catalog: f.catalog,
      repository: () => openRepository(store),
      authorizer: f.access,
      audit: { record: async () => {} },
      dir: join(tmp, 'cold'),
      records: watching,
      replica: 'cold',
      thawPollMs: 0,
    });
    const { job } = await jobs.create(alice, {
      requestId: 'cold-1',
      manifestId: f.ids['wf-2']!,
      scope: { kind: 'workflow' },
    });
    await jobs.whenSettled(job.id);
    const done = await jobs.get(alice, job.id);
    expect(done.phase, done.error).toBe('Succeeded');
    expect(asked.size).toBeGreaterThan(0);
    const cold = asked.size;
    expect(seen[0]).toEqual({ state: 'thawing', coldPacks: cold, readyPacks: 0 });
    expect(seen.at(-1)).toEqual({ state: 'ready', coldPacks: cold, readyPacks: cold });
    expect(done.progress.thaw).toEqual({ state: 'ready', coldPacks: cold, readyPacks: cold });
  });

  test('a hot archive needs no thaw', async () => {
    const jobs = await replica('hot');
    const { job } = await jobs.create(alice, {
      requestId: 'hot-1',
      manifestId: f.ids['wf-2']!,
      scope: { kind: 'workflow' },
    });
    await jobs.whenSettled(job.id);
    expect((await jobs.get(alice, job.id)).progress.thaw).toEqual({ state: 'not-needed', coldPacks: 0, readyPacks: 0 });
  });
});
