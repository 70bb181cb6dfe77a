// Reading a workflow whose packs are in a cold storage class: a 409 that says to start a restore job (which thaws
// them), in REST and GraphQL alike — not a 500, and without the store's keys in the message.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openRepository, PACKS_PREFIX } from '../../lib/archive/repository.ts';
import { ArchivedObjectError } from '../../lib/errors.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
beforeAll(async () => {
  f = await startFixture();
  const frozen: ObjectStore = {
    url: f.store.url,
    put: (k, b, o) => f.store.put(k, b, o),
    head: (k) => f.store.head(k),
    list: (p) => f.store.list(p),
    delete: (k) => f.store.delete(k),
    get: async (k, r) => {
      if (k.startsWith(PACKS_PREFIX))
        throw new ArchivedObjectError('object is archived and must be restored', { key: k });
      return f.store.get(k, r);
    },
  };
  await f.close();
  f = await startFixture({ repository: () => openRepository(frozen) });
});
afterAll(() => f?.close());

const auth = { authorization: 'Bearer alice-token' };

test('REST: the workflow, its log: 409, start a restore job', async () => {
  for (const path of [`/api/v1/workflows/${f.ids['wf-1']}`, `/api/v1/workflows/${f.ids['wf-1']}/nodes/wf-1-node/log`]) {
    const res = await fetch(`${f.base}${path}`, { headers: auth });
    expect(res.status, path).toBe(409);
    const { error } = (await res.json()) as { error: { message: string } };
    expect(error.message).toMatch(/cold storage class .*start a restore job/);
    expect(error.message).not.toMatch(/packs\//);
  }
});

test('GraphQL: CONFLICT with the same message', async () => {
  const res = await fetch(`${f.base}/graphql`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ query: `{ workflow(manifestId: "${f.ids['wf-1']}") { name nodes { id } } }` }),
  });
  const body = (await res.json()) as { errors?: Array<{ message: string; extensions?: { code?: string } }> };
  expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT' } });
  expect(body.errors?.[0]?.message).toMatch(/cold storage class/);
});
