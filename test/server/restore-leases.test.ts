// Embedded restore jobs when a replica is lost: its runner stops renewing the job's lease, another replica takes the
// job over once the lease expired — exactly one, however many sweep at once — and the lost runner, should it come
// back, writes nothing more. Finished jobs expire after a configured time, with their result files. A fake clock
// drives leases and expiry; nothing waits on real time.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openRepository } from '../../lib/archive/repository.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Caller } from '../../server/auth/access.ts';
import { StoreJobRecords, type JobRecords } from '../../server/restores/job-records.ts';
import { RestoreJobs } from '../../server/restores/jobs.ts';
import { createBucket, s3PeerOrSkip, storeOn } from '../support/s3-fixtures.ts';
import { startFixture, type Fixture } from './fixture.ts';
import { gate } from '../support/gate.ts';

const alice: Caller = { username: 'alice', groups: [], via: 'token-file' };
const LEASE = 60_000;
const RETAIN = 3600_000;

let f: Fixture;
let tmp: string;
let t = Date.parse('2026-11-30T10:00:00Z');
const clock: Clock = { now: () => new Date(t), sleep: async () => {} };

beforeAll(async () => {
  f = await startFixture();
  tmp = mkdtempSync(join(tmpdir(), 'strata-leases-'));
});
afterAll(async () => {
  await f.close();
  rmSync(tmp, { recursive: true, force: true });
});

function replica(name: string, beforeRead?: () => Promise<void>) {
  return RestoreJobs.open({
    catalog: f.catalog,
    repository: () => openRepository(f.store),
    authorizer: f.access,
    audit: { record: async (r) => void f.audit.push(r) },
    dir: join(tmp, name),
    records: new StoreJobRecords(f.store),
    replica: name,
    clock,
    leaseMs: LEASE,
    retainFinishedMs: RETAIN,
    ...(beforeRead && { beforeRead }),
  });
}

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of f.store.list(prefix)) out.push(o.key);
  return out;
}

describe('a lost replica’s jobs', () => {
  test('are taken over by exactly one replica once the lease expired; the old runner writes nothing more', async () => {
    const stuck = gate();
    const arrived = gate();
    // Gone once Running: never heartbeats, never gets past the gate.
    const a = await replica('a', () => (arrived.open(), stuck.opened));
    const { job } = await a.create(alice, {
      requestId: 'lease-1',
      manifestId: f.ids['wf-1']!,
      scope: { kind: 'workflow' },
    });
    await arrived.opened;
    const b = await replica('b');
    const c = await replica('c');
    t += LEASE - 1;
    await Promise.all([b.sweep(), c.sweep()]);
    expect((await b.get(alice, job.id)).phase).toBe('Running'); // still a's: its lease has not expired
    t += 1;
    f.audit.length = 0;
    await Promise.all([b.sweep(), c.sweep(), b.sweep(), c.sweep()]);
    await Promise.all([b.whenSettled(job.id), c.whenSettled(job.id)]);
    const done = await c.get(alice, job.id);
    expect(done.phase, done.error).toBe('Succeeded');
    // a's claim of generation 1 (at create), and one winner's of generation 2.
    expect(await keys(`restore-jobs/${job.id}.claim-`)).toEqual([
      `restore-jobs/${job.id}.claim-1`,
      `restore-jobs/${job.id}.claim-2`,
    ]);
    // One run, one outcome: the job was restored once, by the winner.
    expect(f.audit.filter((r) => r.outcome === 'ok')).toHaveLength(1);
    const winner = existsSync(join(tmp, 'b', 'results', job.id)) ? 'b' : 'c';
    expect(existsSync(join(tmp, winner === 'b' ? 'c' : 'b', 'results', job.id))).toBe(false);

    // a comes back to life: it sees the claim of the next generation and leaves the record alone.
    stuck.open();
    await a.whenSettled(job.id);
    await new Promise((r) => setImmediate(r));
    expect(await b.get(alice, job.id)).toMatchObject({ phase: 'Succeeded' });
    expect(f.audit.filter((r) => r.outcome === 'ok' || r.outcome === 'failed')).toHaveLength(1);
    expect(existsSync(join(tmp, 'a', 'results', job.id))).toBe(false);
    // Restarted, a does not resume the job it lost.
    const again = await replica('a');
    await again.whenSettled(job.id);
    expect(await again.get(alice, job.id)).toMatchObject({ phase: 'Succeeded' });
  });

  test('a runner that renews its lease keeps its job', async () => {
    const hold = gate();
    const a = await replica('a2', () => hold.opened);
    const { job } = await a.create(alice, {
      requestId: 'lease-2',
      manifestId: f.ids['wf-3']!,
      scope: { kind: 'workflow' },
    });
    const b = await replica('b2');
    for (let i = 0; i < 5; i++) {
      t += LEASE / 2;
      await a.heartbeat();
      await b.sweep();
    }
    expect(await keys(`restore-jobs/${job.id}.claim-`)).toEqual([`restore-jobs/${job.id}.claim-1`]);
    hold.open();
    await a.whenSettled(job.id);
    expect((await b.get(alice, job.id)).phase).toBe('Succeeded');
  });

  test('the same request on two replicas at once is one job, run once', async () => {
    const a = await replica('a3');
    const b = await replica('b3');
    const req = { requestId: 'lease-3', manifestId: f.ids['wf-2']!, scope: { kind: 'workflow' as const } };
    const [x, y] = await Promise.all([a.create(alice, req), b.create(alice, req)]);
    expect(x.job.id).toBe(y.job.id);
    expect([x.created, y.created].filter(Boolean)).toHaveLength(1);
    await Promise.all([a.whenSettled(x.job.id), b.whenSettled(x.job.id)]);
    expect((await a.get(alice, x.job.id)).phase).toBe('Succeeded');
    expect([
      existsSync(join(tmp, 'a3', 'results', x.job.id)),
      existsSync(join(tmp, 'b3', 'results', x.job.id)),
    ]).toContain(false);
  });

  test('a restart that finds its job taken over in the middle of resuming it starts, and leaves the job alone', async () => {
    const stuck = gate();
    const arrived = gate();
    const a = await replica('a5', () => (arrived.open(), stuck.opened));
    const { job } = await a.create(alice, {
      requestId: 'lease-5',
      manifestId: f.ids['wf-3']!,
      scope: { kind: 'workflow' },
    });
    await arrived.opened;
    // Another replica claims the next generation between the restart's look and its first write.
    const store = new StoreJobRecords(f.store);
    let looks = 0;
    const racing: JobRecords = Object.assign(Object.create(store) as JobRecords, {
      claimed: async (id: string, generation: number) => {
        if (id === job.id && generation === 2 && looks++ === 0) {
          await store.claim(id, 2, 'b5');
          return false;
        }
        return store.claimed(id, generation);
      },
    });
    const restarted = await RestoreJobs.open({
      catalog: f.catalog,
      repository: () => openRepository(f.store),
      authorizer: f.access,
      audit: { record: async () => {} },
      dir: join(tmp, 'a5'),
      records: racing,
      replica: 'a5',
      clock,
      leaseMs: LEASE,
    });
    expect(await restarted.active()).toBe(0);
    stuck.open();
    await a.whenSettled(job.id);
  });
});

describe('finished jobs', () => {
  test('expire after the configured time, with their result files; a half-done expiry finishes on the next sweep', async () => {
    const a = await replica('a4');
    const { job } = await a.create(alice, {
      requestId: 'expire-1',
      manifestId: f.ids['wf-1']!,
      scope: { kind: 'workflow' },
    });
    await a.whenSettled(job.id);
    await a.cancel(alice, job.id).catch(() => {}); // ended: a 409, and nothing written
    const results = join(tmp, 'a4', 'results', job.id);
    expect(existsSync(results)).toBe(true);
    t += RETAIN - 1;
    await a.sweep();
    expect((await a.get(alice, job.id)).phase).toBe('Succeeded');
    t += 1;
    await a.sweep();
    await expect(a.get(alice, job.id)).rejects.toMatchObject({ status: 404 });
    expect(await keys(`restore-jobs/${job.id}`)).toEqual([]);
    expect(existsSync(results)).toBe(false);
    await a.sweep(); // again: nothing left to do, no error

    // A crash between removing the record and the files: the next sweep removes the files.
    const { job: other } = await a.create(alice, {
      requestId: 'expire-2',
      manifestId: f.ids['wf-3']!,
      scope: { kind: 'workflow' },
    });
    await a.whenSettled(other.id);
    await new StoreJobRecords(f.store).remove(other.id);
    expect(existsSync(join(tmp, 'a4', 'results', other.id))).toBe(true);
    await a.sweep();
    expect(existsSync(join(tmp, 'a4', 'results', other.id))).toBe(false);
  });
});

const s3 = s3PeerOrSkip();

describe.skipIf(!s3.peer)('claims on S3 (conditional writes)', () => {
  test('of replicas claiming the same generation at once, exactly one wins; removal leaves nothing', async () => {
    const records = new StoreJobRecords(storeOn(s3.peer!, await createBucket(s3.peer!)));
    const id = 'c'.repeat(32);
    const won = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((r) => records.claim(id, 2, r)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await records.claimed(id, 2)).toBe(true);
    expect(await records.claimed(id, 3)).toBe(false);
    await records.requestCancel(id, 'alice');
    await records.remove(id);
    expect(await records.claimed(id, 2)).toBe(false);
    expect(await records.cancelRequest(id)).toBeUndefined();
  });
});
