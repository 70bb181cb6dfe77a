// Restore jobs in GraphQL: the same RestoreJobs as REST (same job for the same caller and requestId), the same
// permissions and audit; mutations only over POST, a handful per request at most.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Catalog } from '../../lib/catalog/catalog.ts';
import { LOG, startFixture, type Fixture } from './fixture.ts';
import { gate } from '../support/gate.ts';

let f: Fixture;
/** Jobs whose requestId starts with "held-" wait here before reading the archive. */
let held = gate();
beforeAll(async () => {
  f = await startFixture({}, undefined, {
    restores: { beforeRead: (job) => (job.requestId.startsWith('held-') ? held.opened : Promise.resolve()) },
  });
});
afterAll(async () => {
  held.open();
  await f?.close();
});

interface GqlBody {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- shapes are the query's
  data?: any;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

async function gql(query: string, token = 'alice-token', variables?: Record<string, unknown>, base = f.base) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, ...(variables && { variables }) }),
  });
  return { status: res.status, body: (await res.json()) as GqlBody };
}

const START = `mutation($input: RestoreInput!) {
  startRestore(input: $input) { created restore { id requestId phase workflowName namespace scope { kind nodeId container } } }
}`;
const JOB = `query($id: ID!) {
  restore(id: $id) {
    id phase requestedBy workflow { name } argoWorkflow { name }
    progress { bytesDone bytesTotal entriesVerified entriesTotal thaw { state coldPacks readyPacks } }
    result { verified bytes files { path entry size sha256 downloadUrl } }
  }
}`;
const logScope = { kind: 'LOG', nodeId: 'wf-1-node' };

describe('restores in GraphQL', () => {
  test('startRestore runs the same job as REST: verified result, idempotent by requestId, audited', async () => {
    f.audit.length = 0;
    const input = { requestId: 'g-1', manifestId: f.ids['wf-1'], scope: logScope };
    const first = await gql(START, 'alice-token', { input });
    expect(first.body.errors).toBeUndefined();
    const { created, restore } = first.body.data.startRestore;
    expect(created).toBe(true);
    expect(restore).toMatchObject({
      requestId: 'g-1',
      workflowName: 'wf-1',
      namespace: 'agents',
      scope: { kind: 'LOG', nodeId: 'wf-1-node', container: 'main' },
    });
    expect(f.audit).toContainEqual(
      expect.objectContaining({ action: 'restore', outcome: 'started', actor: 'alice', subject: f.ids['wf-1'] }),
    );

    await f.restores!.whenSettled(restore.id);
    const job = (await gql(JOB, 'alice-token', { id: restore.id })).body.data.restore;
    expect(job).toMatchObject({ id: restore.id, phase: 'SUCCEEDED', requestedBy: 'alice', workflow: { name: 'wf-1' } });
    expect(job.progress).toMatchObject({ entriesVerified: 1, entriesTotal: 1, bytesTotal: Buffer.byteLength(LOG) });
    // Hot packs: nothing to thaw; an embedded job has no Workflow.
    expect(job.progress.thaw).toEqual({ state: 'NOT_NEEDED', coldPacks: 0, readyPacks: 0 });
    expect(job.argoWorkflow).toBeNull();
    const [file] = job.result.files;
    expect(job.result.verified).toBe(true);
    expect(file.sha256).toBe(createHash('sha256').update(LOG).digest('hex'));
    const download = await fetch(`${f.base}${file.downloadUrl}`, { headers: { authorization: 'Bearer alice-token' } });
    expect(await download.text()).toBe(LOG);

    // The same request again: the same job, not a new one; REST sees it too.
    const again = await gql(START, 'alice-token', { input });
    expect(again.body.data.startRestore).toMatchObject({ created: false, restore: { id: restore.id } });
    const rest = await fetch(`${f.base}/api/v1/restores/${restore.id}`, {
      headers: { authorization: 'Bearer alice-token' },
    });
    expect(((await rest.json()) as { requestId: string }).requestId).toBe('g-1');
    const listed = await gql('{ restores { id } }');
    expect(listed.body.data.restores.map((r: { id: string }) => r.id)).toContain(restore.id);

    const conflict = await gql(START, 'alice-token', { input: { ...input, scope: { kind: 'WORKFLOW' } } });
    expect(conflict.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', status: 409, field: 'requestId' });
  });

  test('cancelRestore stops a running job', async () => {
    held = gate();
    const input = { requestId: 'held-1', manifestId: f.ids['wf-3'], scope: { kind: 'WORKFLOW' } };
    const { restore } = (await gql(START, 'alice-token', { input })).body.data.startRestore;
    const state = async () =>
      (await gql('query($id: ID!) { restore(id: $id) { phase cancelledBy } }', 'alice-token', { id: restore.id })).body
        .data.restore as { phase: string; cancelledBy: string | null };
    while ((await state()).phase !== 'RUNNING') await new Promise((r) => setImmediate(r));
    const cancelling = gql(
      'mutation($id: ID!) { cancelRestore(id: $id) { phase cancelledBy result { bytes } } }',
      'alice-token',
      {
        id: restore.id,
      },
    );
    // The job waits in its gate until the cancel request has reached it; then it stops inside its write.
    while ((await state()).cancelledBy === null) await new Promise((r) => setImmediate(r));
    held.open();
    const cancelled = await cancelling;
    expect(cancelled.body.data.cancelRestore).toEqual({ phase: 'CANCELLED', cancelledBy: 'alice', result: null });
  });

  test('the same permissions as REST: 403 where the caller may only list, 404 where they see nothing', async () => {
    const start = (token: string, wf: string) =>
      gql(START, token, { input: { requestId: `p-${token}`, manifestId: f.ids[wf], scope: { kind: 'WORKFLOW' } } });
    expect((await start('bob-token', 'wf-4')).body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    expect((await start('bob-token', 'wf-1')).body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    expect((await start('carol-token', 'wf-1')).body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    expect((await gql('{ restores { id } }', 'bob-token')).body.data.restores).toEqual([]);
    const alices = (await gql('{ restores { id } }')).body.data.restores[0].id as string;
    const peek = await gql(JOB, 'bob-token', { id: alices });
    expect(peek.body.data.restore).toBeNull();
    expect(peek.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  test.each([
    [{ kind: 'ARTIFACT', path: '../etc/passwd' }, 'scope.path'],
    [{ kind: 'ARTIFACT' }, 'scope.path'],
    [{ kind: 'LOG' }, 'scope.nodeId'],
    [{ kind: 'LOG', nodeId: 'n', container: 'Main!' }, 'scope.container'],
    [{ kind: 'WORKFLOW', path: 'x' }, 'path'],
  ])('bad input %j is BAD_USER_INPUT naming %s', async (scope, field) => {
    const r = await gql(START, 'alice-token', { input: { requestId: 'bad', manifestId: f.ids['wf-1'], scope } });
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
    expect(String(r.body.errors?.[0]?.extensions?.field ?? r.body.errors?.[0]?.message)).toContain(field);
  });

  test('bad ids are BAD_USER_INPUT', async () => {
    const id = await gql(JOB, 'alice-token', { id: '../../jobs/x' });
    expect(id.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    const manifest = await gql(START, 'alice-token', {
      input: { requestId: 'x', manifestId: 'nope', scope: { kind: 'WORKFLOW' } },
    });
    expect(manifest.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'manifestId' });
  });

  test('a mutation over GET is a 405 (GET must be safe); queries still work there', async () => {
    const url = `${f.base}/graphql?query=${encodeURIComponent('mutation { cancelRestore(id: "0") { id } }')}`;
    const res = await fetch(url, { headers: { authorization: 'Bearer alice-token' } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    const q = await fetch(`${f.base}/graphql?query=${encodeURIComponent('{ restores { id } }')}`, {
      headers: { authorization: 'Bearer alice-token' },
    });
    expect(q.status).toBe(200);
  });

  test('many mutations in one request are refused by the cost limit before any runs', async () => {
    const many = Array.from({ length: 20 }, (_, i) => `m${i}: cancelRestore(id: "${'0'.repeat(32)}") { id }`);
    const r = await gql(`mutation { ${many.join(' ')} }`);
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY' });
  });

  test('without --restore-dir the restore fields are UNAVAILABLE (503)', async () => {
    const plain = await startFixture();
    try {
      const r = await gql('{ restores { id } }', 'alice-token', undefined, plain.base);
      expect(r.status).toBe(503);
      expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    } finally {
      await plain.close();
    }
  });
});

describe('byte counts past 32 bits', () => {
  test('a workflow over 2 GiB lists its size (GraphQL Int is 32-bit: sizes are Float)', async () => {
    // A catalog that reports 3 GB for every row (archiving 3 GB in a test is not needed to check the type).
    const huge = await startFixture({}, undefined);
    try {
      const catalog = huge.catalog;
      const big: Catalog = new Proxy(catalog, {
        get(target, prop, receiver) {
          if (prop === 'page')
            return async (...args: Parameters<Catalog['page']>) => {
              const page = await target.page(...args);
              return { ...page, items: page.items.map((w) => ({ ...w, bytes: 3_000_000_000 })) };
            };
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const server = await startFixture({ catalog: big });
      try {
        const r = await gql('{ workflows(first: 1) { nodes { bytes } } }', 'alice-token', undefined, server.base);
        expect(r.body.errors).toBeUndefined();
        expect(r.body.data.workflows.nodes).toEqual([{ bytes: 3_000_000_000 }]);
      } finally {
        await server.close();
      }
    } finally {
      await huge.close();
    }
  });
});
