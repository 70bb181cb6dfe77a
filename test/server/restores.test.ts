// Restore jobs over REST: verified results, progress, idempotency by requestId, cancel, restart, permissions, audit.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openRepository } from '../../lib/archive/repository.ts';
import { RestoreJobs, type RestoreJob } from '../../server/restores/jobs.ts';
import { ARTIFACT, LOG, startFixture, type Fixture } from './fixture.ts';
import { gate } from '../support/gate.ts';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

let f: Fixture;
/** Holds every job before it reads the archive while closed. */
let hold = { open: () => {}, opened: Promise.resolve() };
beforeAll(async () => {
  f = await startFixture({}, undefined, {
    restores: {
      concurrency: 1,
      beforeRead: () => hold.opened,
    },
  });
});
afterAll(() => f.close());

async function call(method: string, path: string, token = 'alice-token', body?: unknown) {
  const res = await fetch(`${f.base}${path}`, {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return res;
}

async function start(body: unknown, token = 'alice-token') {
  const res = await call('POST', '/api/v1/restores', token, body);
  return {
    status: res.status,
    job: (await res.json()) as RestoreJob & { error?: { message: string; field?: string } },
  };
}

async function finished(id: string): Promise<RestoreJob> {
  await f.restores!.whenSettled(id);
  return (await (await call('GET', `/api/v1/restores/${id}`)).json()) as RestoreJob;
}

describe('restore jobs', () => {
  test('a whole workflow: 202, then Succeeded with every file hashed again; downloads stream the bytes', async () => {
    f.audit.length = 0;
    const { status, job } = await start({ requestId: 'r-1', manifestId: f.ids['wf-1'], scope: { kind: 'workflow' } });
    expect(status).toBe(202);
    expect(['Pending', 'Running']).toContain(job.phase);
    const done = await finished(job.id);
    expect(done.phase).toBe('Succeeded');
    expect(done.progress.bytesDone).toBe(done.progress.bytesTotal);
    expect(done.progress.entriesVerified).toBe(done.progress.entriesTotal);
    const entries = await f.catalog.entries(f.ids['wf-1']!);
    expect(done.result!.verified).toBe(true);
    expect(done.result!.files.map((x) => [x.entry, x.sha256]).sort()).toEqual(
      entries.map((e) => [e.path, e.sha256]).sort(),
    );
    const log = done.result!.files.find((x) => x.entry.endsWith('main.log'))!;
    const url = `/api/v1/restores/${job.id}/files/${encodeURIComponent(log.path)}`;
    expect(await (await call('GET', url)).text()).toBe(LOG);
    const part = await fetch(`${f.base}${url}`, {
      headers: { authorization: 'Bearer alice-token', range: 'bytes=0-3' },
    });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('line');
    expect(f.audit.map((a) => [a.action, a.outcome, a.actor, a.verified])).toEqual([
      ['restore', 'started', 'alice', true],
      ['restore', 'ok', 'alice', true],
      ['read', 'ok', 'alice', true],
      ['read', 'ok', 'alice', true],
    ]);
    expect(f.audit[1]!.hashes).toEqual(expect.arrayContaining([`sha256:${sha(LOG)}`, `sha256:${sha(ARTIFACT)}`]));
  });

  test('idempotent by requestId: the same request is the same job; another request with that id is a 409', async () => {
    const body = { requestId: 'r-1', manifestId: f.ids['wf-1'], scope: { kind: 'workflow' } };
    const again = await start(body);
    expect(again.status).toBe(200);
    expect(again.job.phase).toBe('Succeeded');
    const other = await start({ ...body, manifestId: f.ids['wf-2'] });
    expect(other.status).toBe(409);
    expect(other.job.error?.field).toBe('requestId');
    // The id is per caller: another caller's r-1 is their own job (here refused: no restore permission).
    expect((await start(body, 'bob-token')).status).toBe(404);
  });

  test('one log, one artifact', async () => {
    const log = await start({
      requestId: 'r-log',
      manifestId: f.ids['wf-2'],
      scope: { kind: 'log', nodeId: 'wf-2-node' },
    });
    const logDone = await finished(log.job.id);
    expect(logDone.result!.files).toEqual([
      { path: 'main.log', entry: 'logs/wf-2-node/main.log', size: 27, sha256: sha('setup\nsegfault in worker 3\n') },
    ]);
    const art = await start({
      requestId: 'r-art',
      manifestId: f.ids['wf-2'],
      scope: { kind: 'artifact', path: 'artifacts/wf-2-node/model.txt' },
    });
    const artDone = await finished(art.job.id);
    expect(artDone.result!.files).toMatchObject([{ path: 'model.txt', sha256: sha(ARTIFACT) }]);
    const list = (await (await call('GET', '/api/v1/restores')).json()) as { items: RestoreJob[] };
    expect(list.items.map((j) => j.requestId)).toEqual(expect.arrayContaining(['r-1', 'r-log', 'r-art']));
    expect(((await (await call('GET', '/api/v1/restores', 'bob-token')).json()) as { items: unknown[] }).items).toEqual(
      [],
    );
  });

  test('cancel: a running job stops and leaves no files; a queued one never starts', async () => {
    f.audit.length = 0;
    hold = gate();
    const running = await start({ requestId: 'c-1', manifestId: f.ids['wf-1'], scope: { kind: 'workflow' } });
    const queued = await start({ requestId: 'c-2', manifestId: f.ids['wf-3'], scope: { kind: 'workflow' } });
    expect((await finishedOrNow(queued.job.id)).phase).toBe('Pending');
    const cancelQueued = (await (await call('POST', `/api/v1/restores/${queued.job.id}/cancel`)).json()) as RestoreJob;
    expect(cancelQueued.phase).toBe('Cancelled');
    const cancelling = call('POST', `/api/v1/restores/${running.job.id}/cancel`);
    await waitForCancelRequest(running.job.id);
    hold.open();
    const cancelled = (await (await cancelling).json()) as RestoreJob;
    expect(cancelled).toMatchObject({ phase: 'Cancelled', cancelledBy: 'alice' });
    expect(existsSync(join(f.dir, 'restores', 'results', running.job.id))).toBe(false);
    expect(f.audit.filter((a) => a.outcome === 'failed').map((a) => a.reason)).toEqual([
      'cancelled by alice',
      'cancelled by alice',
    ]);
    // An ended job cannot be cancelled again into something else; cancelling a cancelled one is a no-op.
    expect((await call('POST', `/api/v1/restores/${running.job.id}/cancel`)).status).toBe(200);
    const succeeded = (await start({ requestId: 'r-1', manifestId: f.ids['wf-1'], scope: { kind: 'workflow' } })).job;
    expect((await call('POST', `/api/v1/restores/${succeeded.id}/cancel`)).status).toBe(409);
  });

  test('a job that was running when the server stopped runs again when it starts', async () => {
    hold = gate();
    const { job } = await start({ requestId: 'restart', manifestId: f.ids['wf-3'], scope: { kind: 'workflow' } });
    const file = join(f.dir, 'restores', 'jobs', `${job.id}.json`);
    await waitFor(() => (JSON.parse(readFileSync(file, 'utf8')) as RestoreJob).phase === 'Running');
    // A second server process on the same directory (the first one never gets past its gate).
    const reopened = await RestoreJobs.open({
      catalog: f.catalog,
      repository: () => openRepository(f.store),
      authorizer: f.access,
      audit: { record: async () => {} },
      dir: join(f.dir, 'restores'),
    });
    await reopened.whenSettled(job.id);
    const again = await reopened.get({ username: 'alice', groups: [], via: 'token-file' }, job.id);
    expect(again.phase).toBe('Succeeded');
    expect(again.result!.files.length).toBe((await f.catalog.entries(f.ids['wf-3']!)).length);
    hold.open();
    await f.restores!.whenSettled(job.id);
  });

  test('permissions: 401 without a token, 403 for list-only callers, 404 for what the caller cannot see', async () => {
    const body = { requestId: 'p-1', manifestId: f.ids['wf-4'], scope: { kind: 'workflow' } };
    expect((await start(body, '')).status).toBe(401);
    expect((await start(body, 'bob-token')).status).toBe(403);
    expect((await start(body, 'carol-token')).status).toBe(404);
    expect((await start(body)).status).toBe(404); // alice cannot see finance at all
    const mine = (await start({ requestId: 'r-1', manifestId: f.ids['wf-1'], scope: { kind: 'workflow' } })).job;
    expect((await call('GET', `/api/v1/restores/${mine.id}`, 'carol-token')).status).toBe(404);
    expect((await call('POST', `/api/v1/restores/${mine.id}/cancel`, 'carol-token')).status).toBe(404);
  });

  test.each([
    ['not json', 400, 'body'],
    [{ requestId: 'x', manifestId: 'nope', scope: { kind: 'workflow' } }, 400, 'manifestId'],
    [{ requestId: 'x y', manifestId: 'a'.repeat(64), scope: { kind: 'workflow' } }, 400, 'requestId'],
    [{ requestId: 'x', manifestId: 'a'.repeat(64), scope: { kind: 'everything' } }, 400, 'scope'],
    [
      { requestId: 'x', manifestId: 'a'.repeat(64), scope: { kind: 'artifact', path: '../../etc/passwd' } },
      400,
      'path',
    ],
    [{ requestId: 'x', manifestId: 'a'.repeat(64), scope: { kind: 'workflow' }, extra: 1 }, 400, 'extra'],
    [{ requestId: 'x', manifestId: 'a'.repeat(64), scope: { kind: 'workflow' } }, 404, undefined],
    [{ requestId: 'x', manifestId: 'WF1', scope: { kind: 'log', nodeId: 'no-such-node' } }, 404, undefined],
  ])('bad request %j → %i', async (body, status, field) => {
    const b = typeof body === 'object' && body.manifestId === 'WF1' ? { ...body, manifestId: f.ids['wf-1'] } : body;
    const { status: got, job } = await start(b);
    expect(got).toBe(status);
    expect(job.error?.message.length).toBeGreaterThan(5);
    if (field) expect(`${job.error?.field} ${job.error?.message}`).toContain(field);
  });

  test('other malformed requests', async () => {
    const text = await fetch(`${f.base}/api/v1/restores`, {
      method: 'POST',
      headers: { authorization: 'Bearer alice-token', 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(text.status).toBe(415);
    expect((await call('POST', '/api/v1/restores', 'alice-token', 'x'.repeat(20_000))).status).toBe(413);
    expect((await call('GET', '/api/v1/restores/not-an-id')).status).toBe(400);
    expect((await call('DELETE', '/api/v1/restores')).status).toBe(405);
    expect((await call('GET', `/api/v1/restores/${'0'.repeat(32)}/files/x`)).status).toBe(404);
  });
});

describe('artifacts', () => {
  test('listed and downloaded (verified, ranges), audited', async () => {
    f.audit.length = 0;
    const list = (await (await call('GET', `/api/v1/workflows/${f.ids['wf-1']}/artifacts`)).json()) as {
      items: Array<{ path: string; sha256: string }>;
    };
    expect(list.items).toMatchObject([{ path: 'artifacts/wf-1-node/model.txt', sha256: sha(ARTIFACT) }]);
    const url = `/api/v1/workflows/${f.ids['wf-1']}/artifacts/${encodeURIComponent(list.items[0]!.path)}`;
    const whole = await call('GET', url);
    expect(whole.headers.get('content-disposition')).toBe('attachment; filename="model.txt"');
    expect(await whole.text()).toBe(ARTIFACT);
    const part = await fetch(`${f.base}${url}`, {
      headers: { authorization: 'Bearer alice-token', range: 'bytes=6-12' },
    });
    expect(await part.text()).toBe(ARTIFACT.slice(6, 13));
    expect(f.audit.map((a) => [a.details?.what, a.details?.range ?? null])).toEqual([
      ['artifact', null],
      ['artifact', '6-12'],
    ]);
    expect((await call('GET', `/api/v1/workflows/${f.ids['wf-1']}/artifacts/..%2Fx`)).status).toBe(400);
    expect((await call('GET', `/api/v1/workflows/${f.ids['wf-1']}/artifacts/nope`)).status).toBe(404);
    expect((await call('GET', `/api/v1/workflows/${f.ids['wf-4']}/artifacts`)).status).toBe(404);
  });
});

describe('a restore whose archive does not verify', () => {
  test('fails, keeps nothing, and says why', async () => {
    f.audit.length = 0;
    const packs: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.includes(`${join('repo', 'packs')}`) || /\/packs?\//.test(p)) packs.push(p);
      }
    };
    walk(join(f.dir, 'repo'));
    expect(packs.length).toBeGreaterThan(0);
    for (const p of packs) {
      const b = readFileSync(p);
      for (let i = Math.floor(b.length / 2); i < b.length; i += 7) b[i] = b[i]! ^ 0xff;
      writeFileSync(p, b);
    }
    const { job } = await start({ requestId: 'corrupt', manifestId: f.ids['wf-3'], scope: { kind: 'workflow' } });
    const done = await finished(job.id);
    expect(done.phase).toBe('Failed');
    expect(done.error).toBeTruthy();
    expect(done.result).toBeUndefined();
    expect(existsSync(join(f.dir, 'restores', 'results', job.id))).toBe(false);
    expect(f.audit.map((a) => a.outcome)).toEqual(['started', 'failed']);
  });
});

async function finishedOrNow(id: string): Promise<RestoreJob> {
  return (await (await call('GET', `/api/v1/restores/${id}`)).json()) as RestoreJob;
}

/** Waits (without a timed assertion) until a condition on files the server writes holds. */
async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

async function waitForCancelRequest(id: string): Promise<void> {
  await waitFor(() => {
    const job = JSON.parse(readFileSync(join(f.dir, 'restores', 'jobs', `${id}.json`), 'utf8')) as RestoreJob;
    return job.phase === 'Running';
  });
  // The cancel request has reached the server once the job object carries who cancelled it.
  while ((await finishedOrNow(id)).cancelledBy === undefined) await new Promise((r) => setImmediate(r));
}
