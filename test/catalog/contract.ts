// The Catalog contract: one behaviour suite that every backend (SQLite, PostgreSQL, a search engine) must pass.
// A backend test file calls describeCatalogContract(name, makeCatalog) with a factory for fresh, empty catalogs.
import { afterEach, describe, expect, test } from 'vitest';
import type {
  Catalog,
  CatalogWorkflow,
  LogSegment,
  ManifestUpsert,
  WorkflowPageQuery,
  WorkflowQuery,
} from '../../lib/catalog/catalog.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { ConfigError } from '../../lib/errors.ts';
import { FakeSource } from './fake-source.ts';

/** Opens a catalog over a fresh, empty namespace (a new file, schema or index prefix); closed by the suite. */
export type MakeCatalog = () => Promise<Catalog>;

export interface CatalogContractOptions {
  /** Skip the whole suite with this reason (the backend's server is not available here). */
  skip?: string;
}

const id = (c: string) => c.repeat(64);
const A = id('a');
const B = id('b');
const C = id('c');
const D = id('d');
const E = id('e');

/** A catalog row for the port's upsert, without a manifest in a source. */
function row(manifestId: string, name: string): CatalogWorkflow {
  return {
    manifestId,
    uid: `uid-${name}`,
    namespace: 'agents',
    name,
    phase: 'Succeeded',
    finishedAt: '2026-11-20T10:00:00Z',
    labels: {},
    incomplete: false,
    entries: 0,
    bytes: 0,
  };
}

/** Log segments of logs/x.log, one per text; with `failAfter`, the read fails after that many (a crash mid-manifest). */
async function* segments(texts: string[], failAfter?: number): AsyncGenerator<LogSegment> {
  let line = 1;
  for (const [i, text] of texts.entries()) {
    if (i === failAfter) throw new Error('archive read failed');
    yield { path: 'logs/x.log', nodeId: 'x', firstLine: line, text };
    line += text.split('\n').length - 1;
  }
}

const BATCH_LOGS: Record<string, string> = { [A]: 'kraken is back\n', [D]: 'a zebra crossed\n', [E]: 'quiet\n' };

async function* batchOf(...items: ManifestUpsert[]): AsyncGenerator<ManifestUpsert> {
  yield* items;
}

/** ~200 KiB: several segments; the needle sits on line 3001. */
const longLog = (() => {
  const lines: string[] = [];
  for (let i = 1; i <= 4000; i++)
    lines.push(
      i === 3001 ? 'FATAL kraken unleashed in shard 7' : `2026-11-01T10:00:00Z step ${i} ok padding-padding-padding`,
    );
  return lines.join('\n') + '\n';
})();

/** Three workflows over two namespaces, five days apart, with labels, phases, times and logs to find. */
export function contractCorpus(): FakeSource {
  const source = new FakeSource();
  // The logs the batch tests upsert through the port directly, where a compact catalog reads its hits back.
  for (const [manifestId, text] of Object.entries(BATCH_LOGS)) source.files.set(`${manifestId}/logs/x.log`, text);
  return source
    .add({
      id: A,
      uid: 'uid-1',
      name: 'play-1',
      phase: 'Succeeded',
      startedAt: '2026-11-01T09:00:00Z',
      finishedAt: '2026-11-01T10:00:00Z',
      createdAt: '2026-11-01T10:05:00Z',
      group: 'standard-2026-11',
      labels: { 'workflow-type': 'play', repository: 'acme/api', team: 'red' },
      logs: {
        'play-1-111': 'npm install\nadded 312 packages\nall tests passed\nConnection pool ready\n',
        'play-1-222': longLog,
      },
    })
    .add({
      id: B,
      uid: 'uid-2',
      name: 'play-2',
      phase: 'Failed',
      startedAt: '2026-11-05T09:00:00Z',
      finishedAt: '2026-11-05T10:00:00Z',
      createdAt: '2026-11-05T10:05:00Z',
      group: 'debug-2026-11',
      labels: { 'workflow-type': 'play', repository: 'acme/web' },
      logs: {
        'play-2-333': [
          '2026-11-05T09:59:58.123456789Z cargo build',
          '2026-11-05T09:59:59.223456789Z error: connection refused by registry',
          '2026-11-05T10:00:00.323456789Z thread main panicked',
        ].join('\n'),
      },
    })
    .add({
      id: C,
      uid: 'uid-3',
      name: 'docs-1',
      namespace: 'docs',
      phase: 'Succeeded',
      startedAt: '2026-11-10T09:00:00Z',
      finishedAt: '2026-11-10T10:00:00Z',
      createdAt: '2026-11-10T10:05:00Z',
      group: 'standard-2026-11',
      labels: { 'workflow-type': 'docs', team: 'blue' },
      logs: { 'docs-1-444': 'generating docs\nconnection refused, retrying\nrefused connection twice\n' },
    });
}

export function describeCatalogContract(name: string, makeCatalog: MakeCatalog, opts: CatalogContractOptions = {}) {
  describe.skipIf(opts.skip !== undefined)(
    `Catalog contract: ${name}${opts.skip ? ` (skipped: ${opts.skip})` : ''}`,
    () => {
      const open: Catalog[] = [];
      const fresh = async () => {
        const c = await makeCatalog();
        open.push(c);
        return c;
      };
      /** A fresh catalog holding the corpus. */
      const indexed = async (source = contractCorpus()) => {
        const c = await fresh();
        const report = await indexCatalog(c, source);
        expect(report.problems).toEqual([]);
        return c;
      };
      afterEach(async () => {
        for (const c of open.splice(0)) await c.close();
      });

      const names = async (c: Catalog, q: WorkflowQuery) =>
        (await c.search({ limit: 1000, ...q })).map((w) => w.name).sort();
      const pageNames = async (c: Catalog, q: Partial<WorkflowPageQuery>) =>
        (await c.page({ sort: 'name', limit: 1000, ...q })).items.map((w) => w.name).sort();
      const hitNames = async (c: Catalog, text: string, q: Omit<WorkflowQuery, 'text'> = {}) =>
        [...new Set((await c.searchText(text, { limit: 1000, ...q })).map((h) => h.name))].sort();

      describe('indexing', () => {
        test('indexes every manifest once; a re-run changes nothing; a full re-run gives the same content', async () => {
          const source = contractCorpus();
          const c = await fresh();
          const first = await indexCatalog(c, source);
          expect(first).toMatchObject({ listed: 3, indexed: 3, removed: 0, problems: [] });
          expect(first.logSegments).toBeGreaterThan(3);
          const snapshot = async () => ({
            all: await c.search({}),
            stats: await c.stats(),
            hits: await c.searchText('refused'),
            ids: [...(await c.manifestIds())].sort(),
          });
          const before = await snapshot();
          expect(before.ids).toEqual([A, B, C]);
          expect(await indexCatalog(c, source)).toMatchObject({ listed: 3, indexed: 0, unchanged: 3, removed: 0 });
          expect(await indexCatalog(c, source, { full: true })).toMatchObject({ indexed: 3, unchanged: 0 });
          expect(await snapshot()).toEqual(before);
        });

        test('rows keep what the manifest and the workflow say', async () => {
          const c = await indexed();
          const [w] = await c.get(A);
          expect(w).toEqual({
            manifestId: A,
            uid: 'uid-1',
            namespace: 'agents',
            name: 'play-1',
            phase: 'Succeeded',
            startedAt: '2026-11-01T09:00:00Z',
            finishedAt: '2026-11-01T10:00:00Z',
            archivedAt: '2026-11-01T10:05:00Z',
            labels: { 'workflow-type': 'play', repository: 'acme/api', team: 'red' },
            group: 'standard-2026-11',
            incomplete: false,
            entries: 3,
            bytes: expect.any(Number),
          } satisfies CatalogWorkflow);
          expect(w!.bytes).toBeGreaterThan(longLog.length);
          expect((await c.entries(A)).map((e) => e.path)).toEqual([
            'logs/play-1-111/main.log',
            'logs/play-1-222/main.log',
            'workflow.yaml',
          ]);
          expect((await c.entries(A)).find((e) => e.nodeId === 'play-1-222')).toMatchObject({
            path: 'logs/play-1-222/main.log',
            kind: 'log',
            container: 'main',
            size: Buffer.byteLength(longLog),
          });
          expect(await c.entries(id('f'))).toEqual([]);
        });

        test('manifests that vanished from the store are dropped with all their rows and text', async () => {
          const source = contractCorpus();
          const c = await indexed(source);
          source.manifests.delete(B);
          expect((await indexCatalog(c, source)).removed).toBe(1);
          expect(await names(c, {})).toEqual(['docs-1', 'play-1']);
          expect(await c.searchText('panicked')).toEqual([]);
          expect(await c.entries(B)).toEqual([]);
          expect(await c.get('uid-2')).toEqual([]);
          expect((await c.stats()).manifests).toBe(2);
        });

        test('remove (expiry, erasure) takes a manifest out of every query at once; again is harmless', async () => {
          const c = await indexed();
          await c.remove(A);
          await c.remove(A);
          await c.remove(id('f'));
          expect([...(await c.manifestIds())].sort()).toEqual([B, C]);
          expect(await names(c, { labels: { team: 'red' } })).toEqual([]);
          expect(await c.searchText('kraken')).toEqual([]);
          expect(await c.search({ text: 'kraken' })).toEqual([]);
          expect(await c.entries(A)).toEqual([]);
          expect((await c.page({ sort: 'newest', limit: 10 })).items.map((w) => w.name)).toEqual(['docs-1', 'play-2']);
          expect(await c.stats()).toMatchObject({ manifests: 2, byPhase: { Failed: 1, Succeeded: 1 } });
        });

        test('incomplete archives are marked and can be selected', async () => {
          const source = contractCorpus();
          source.manifests.get(B)!.incomplete = true;
          const c = await indexed(source);
          expect(await names(c, { incomplete: true })).toEqual(['play-2']);
          expect(await names(c, { incomplete: false })).toEqual(['docs-1', 'play-1']);
          expect(await pageNames(c, { incomplete: true })).toEqual(['play-2']);
          expect((await c.stats()).incomplete).toBe(1);
        });

        test('indexing only named manifests lists and removes nothing else', async () => {
          const source = contractCorpus();
          const c = await fresh();
          await indexCatalog(c, source, { only: [A] });
          expect(await names(c, {})).toEqual(['play-1']);
          source.manifests.delete(B);
          const report = await indexCatalog(c, source, { only: [C, id('d')] });
          expect(report).toMatchObject({ listed: 2, indexed: 1, removed: 0 });
          expect(report.problems).toEqual([{ manifestId: id('d'), message: `no manifest ${id('d')}` }]);
          expect(await names(c, {})).toEqual(['docs-1', 'play-1']);
        });

        test('a crash in the middle of a manifest leaves no trace of it, and a re-run converges', async () => {
          const source = contractCorpus();
          source.failAfter = { path: 'logs/play-1-222/main.log', bytes: 100_000 };
          const c = await fresh();
          const broken = await indexCatalog(c, source);
          expect(broken.problems).toEqual([{ manifestId: A, message: 'simulated crash while reading' }]);
          expect(await names(c, {})).toEqual(['docs-1', 'play-2']);
          expect(await c.searchText('padding')).toEqual([]);
          expect(await c.entries(A)).toEqual([]);
          expect(broken.logSegments).toBe((await c.stats()).logSegments);

          source.failAfter = undefined;
          expect(await indexCatalog(c, source)).toMatchObject({ indexed: 1, problems: [] });
          const clean = await indexed();
          expect(await c.stats()).toEqual(await clean.stats());
          expect(await c.searchText('kraken')).toEqual(await clean.searchText('kraken'));
        });

        test('a crash while replacing a manifest keeps the old rows whole', async () => {
          const source = contractCorpus();
          const c = await indexed(source);
          source.failAfter = { path: 'logs/play-1-222/main.log', bytes: 100_000 };
          expect((await indexCatalog(c, source, { full: true })).problems.map((p) => p.manifestId)).toEqual([A]);
          expect(await c.searchText('kraken')).toMatchObject([{ manifestId: A, line: 3001 }]);
          expect((await c.get(A))[0]).toMatchObject({ name: 'play-1' });
        });

        test('concurrent upserts of the same and of different manifests leave one row each (idempotent)', async () => {
          const source = contractCorpus();
          const c = await fresh();
          await Promise.all([
            indexCatalog(c, source),
            indexCatalog(c, source, { only: [A, B] }),
            indexCatalog(c, source, { only: [A], full: true }),
          ]);
          const clean = await indexed();
          expect(await c.stats()).toEqual(await clean.stats());
          expect(await c.search({})).toEqual(await clean.search({}));
          expect(await c.searchText('kraken OR refused', { limit: 100 })).toHaveLength(
            (await clean.searchText('kraken OR refused', { limit: 100 })).length,
          );
        });

        test('a batch commits many manifests together; one whose segments fail is left out alone, its rows whole', async () => {
          const c = await indexed();
          const [a] = await c.get(A);
          const outcomes = await c.upsertManifests(
            batchOf(
              {
                workflow: { ...a!, labels: { team: 'green' } },
                entries: await c.entries(A),
                segments: segments([BATCH_LOGS[A]!]),
              },
              { workflow: row(D, 'late-1'), entries: [], segments: segments([BATCH_LOGS[D]!]) },
              { workflow: row(B, 'play-2-again'), entries: [], segments: segments(['half written\n', 'never\n'], 1) },
              { workflow: row(E, 'late-2'), entries: [], segments: segments([BATCH_LOGS[E]!]) },
            ),
          );
          expect(outcomes.map((o) => [o.manifestId, o.error === undefined ? 'ok' : String(o.error)])).toEqual([
            [A, 'ok'],
            [D, 'ok'],
            [B, 'Error: archive read failed'],
            [E, 'ok'],
          ]);
          // A replaced whole: new labels, only the new text.
          expect((await c.get(A))[0]!.labels).toEqual({ team: 'green' });
          expect((await c.searchText('kraken')).map((h) => [h.manifestId, h.line])).toEqual([[A, 1]]);
          expect((await c.searchText('zebra')).map((h) => h.manifestId)).toEqual([D]);
          // B as it was before the batch.
          expect((await c.get(B))[0]).toMatchObject({ name: 'play-2', phase: 'Failed' });
          expect((await c.searchText('panicked')).map((h) => h.manifestId)).toEqual([B]);
          expect(await c.searchText('half')).toEqual([]);
          expect([...(await c.manifestIds())].sort()).toEqual([A, B, C, D, E]);
        });

        test('a batch that fails as a whole leaves none of it visible, and running it again converges', async () => {
          const c = await indexed();
          const before = { stats: await c.stats(), all: await c.search({}), hits: await c.searchText('kraken') };
          const [a] = await c.get(A);
          const items = async () => [
            { workflow: row(D, 'late-1'), entries: [], segments: segments([BATCH_LOGS[D]!]) },
            {
              workflow: { ...a!, labels: { team: 'green' } },
              entries: await c.entries(A),
              segments: segments([BATCH_LOGS[A]!]),
            },
          ];
          const broken = async function* () {
            yield* await items();
            throw new Error('the indexer died');
          };
          await expect(c.upsertManifests(broken())).rejects.toThrow('the indexer died');
          expect({ stats: await c.stats(), all: await c.search({}), hits: await c.searchText('kraken') }).toEqual(
            before,
          );
          expect(await c.get(D)).toEqual([]);
          expect(await c.searchText('zebra')).toEqual([]);

          const again = await c.upsertManifests(batchOf(...(await items())));
          expect(again.every((o) => o.error === undefined)).toBe(true);
          expect((await c.stats()).manifests).toBe(4);
          expect((await c.searchText('zebra')).map((h) => h.manifestId)).toEqual([D]);
          expect((await c.searchText('kraken')).map((h) => [h.manifestId, h.line])).toEqual([[A, 1]]);
          expect((await c.get(A))[0]!.labels).toEqual({ team: 'green' });
        });

        test('rebuild from the store: a fresh catalog indexed from the same manifests answers the same', async () => {
          const first = await indexed();
          const again = await indexed();
          for (const c of [first, again]) expect((await c.stats()).manifests).toBe(3);
          const answers = async (c: Catalog) => ({
            all: await c.search({}),
            page: await c.page({ sort: 'oldest', limit: 2 }),
            hits: await c.searchText('kraken OR refused', { limit: 100 }),
            stats: await c.stats(),
            namespaces: await c.namespaces(),
          });
          expect(await answers(again)).toEqual(await answers(first));
        });
      });

      describe('metadata queries', () => {
        test('by exact label, several labels, namespace, namespaces, phase (any case) and name', async () => {
          const c = await indexed();
          expect(await names(c, { labels: { 'workflow-type': 'play' } })).toEqual(['play-1', 'play-2']);
          expect(await names(c, { labels: { 'workflow-type': 'play', repository: 'acme/web' } })).toEqual(['play-2']);
          expect(await names(c, { labels: { 'workflow-type': 'pla' } })).toEqual([]);
          expect(await names(c, { namespace: 'docs' })).toEqual(['docs-1']);
          expect(await names(c, { namespaces: ['docs', 'nope'] })).toEqual(['docs-1']);
          expect(await names(c, { namespaces: [] })).toEqual([]);
          expect(await names(c, { phase: 'failed' })).toEqual(['play-2']);
          expect(await names(c, { name: 'play-1' })).toEqual(['play-1']);
          expect(await c.namespaces()).toEqual(['agents', 'docs']);
        });

        test('by time range on the workflow time: since inclusive, until exclusive', async () => {
          const c = await indexed();
          expect(await names(c, { since: new Date('2026-11-05T10:00:00Z') })).toEqual(['docs-1', 'play-2']);
          expect(await names(c, { until: new Date('2026-11-05T10:00:00Z') })).toEqual(['play-1']);
          expect(
            await names(c, { since: new Date('2026-11-02T00:00:00Z'), until: new Date('2026-11-06T00:00:00Z') }),
          ).toEqual(['play-2']);
        });

        test('newest first, limited', async () => {
          const c = await indexed();
          expect((await c.search({ limit: 2 })).map((w) => w.name)).toEqual(['docs-1', 'play-2']);
          await expect(c.search({ limit: 0 })).rejects.toThrow(ConfigError);
        });

        test('label selectors: in, notin (also matching rows without the label), exists, absent', async () => {
          const c = await indexed();
          const sel = (labels: WorkflowPageQuery['labels']) => pageNames(c, { labels });
          expect(await sel([{ key: 'team', op: 'in', values: ['red', 'blue'] }])).toEqual(['docs-1', 'play-1']);
          expect(await sel([{ key: 'team', op: 'notin', values: ['red'] }])).toEqual(['docs-1', 'play-2']);
          expect(await sel([{ key: 'team', op: 'exists' }])).toEqual(['docs-1', 'play-1']);
          expect(await sel([{ key: 'team', op: 'absent' }])).toEqual(['play-2']);
          expect(
            await sel([
              { key: 'workflow-type', op: 'in', values: ['play'] },
              { key: 'repository', op: 'notin', values: ['acme/api'] },
            ]),
          ).toEqual(['play-2']);
        });

        test('listing filters: namespaces, name prefix, phases, started/finished/archived ranges', async () => {
          const c = await indexed();
          expect(await pageNames(c, { namespaces: ['agents'] })).toEqual(['play-1', 'play-2']);
          expect(await pageNames(c, { namespaces: [] })).toEqual([]);
          expect(await pageNames(c, { namePrefix: 'play-' })).toEqual(['play-1', 'play-2']);
          expect(await pageNames(c, { namePrefix: 'PLAY' })).toEqual([]);
          expect(await pageNames(c, { phases: ['succeeded'] })).toEqual(['docs-1', 'play-1']);
          expect(await pageNames(c, { phases: [] })).toEqual([]);
          const day = (d: number, h = 0) => new Date(Date.UTC(2026, 10, d, h));
          expect(await pageNames(c, { started: { from: day(5, 9) } })).toEqual(['docs-1', 'play-2']);
          expect(await pageNames(c, { finished: { to: day(5, 10) } })).toEqual(['play-1']);
          expect(await pageNames(c, { archived: { from: day(2), to: day(10, 10) } })).toEqual(['play-2']);
          expect(await pageNames(c, { archived: { from: day(10, 10) } })).toEqual(['docs-1']);
        });

        test('sorted by newest, oldest and name', async () => {
          const c = await indexed();
          const order = async (sort: WorkflowPageQuery['sort']) =>
            (await c.page({ sort, limit: 10 })).items.map((w) => w.name);
          expect(await order('newest')).toEqual(['docs-1', 'play-2', 'play-1']);
          expect(await order('oldest')).toEqual(['play-1', 'play-2', 'docs-1']);
          // By namespace, then name.
          expect(await order('name')).toEqual(['play-1', 'play-2', 'docs-1']);
        });

        test('cursor pages: every row once, none skipped, ties broken by manifest id, no cursor after the last', async () => {
          const source = new FakeSource();
          // 23 workflows over 4 finish times (many ties) and two namespaces.
          for (let i = 0; i < 23; i++) {
            source.add({
              id: i.toString(16).padStart(64, '0'),
              uid: `uid-${i}`,
              name: `wf-${String(i % 5).padStart(2, '0')}`,
              namespace: i % 2 ? 'odd' : 'even',
              finishedAt: `2026-11-0${1 + (i % 4)}T00:00:00Z`,
              labels: { parity: i % 2 ? 'odd' : 'even' },
            });
          }
          const c = await indexed(source);
          for (const sort of ['newest', 'oldest', 'name'] as const) {
            for (const limit of [1, 4, 23, 50]) {
              const seen: string[] = [];
              let after: WorkflowPageQuery['after'];
              for (let pages = 0; pages < 30; pages++) {
                const page = await c.page({ sort, limit, ...(after && { after }) });
                seen.push(...page.items.map((w) => w.manifestId));
                if (!page.last) break;
                after = page.last;
              }
              const all = (await c.page({ sort, limit: 100 })).items.map((w) => w.manifestId);
              expect(all).toHaveLength(23);
              expect(seen, `${sort} by ${limit}`).toEqual(all);
            }
          }
          const filtered = await c.page({
            sort: 'newest',
            limit: 5,
            labels: [{ key: 'parity', op: 'in', values: ['odd'] }],
          });
          const next = await c.page({
            sort: 'newest',
            limit: 50,
            labels: [{ key: 'parity', op: 'in', values: ['odd'] }],
            after: filtered.last!,
          });
          expect(filtered.items.length + next.items.length).toBe(11);
          expect(next.last).toBeUndefined();
        });

        test('get by manifest id, short id, uid, name and namespace/name', async () => {
          const c = await indexed();
          for (const ref of [A, A.slice(0, 12), 'uid-1', 'play-1', 'agents/play-1'])
            expect(
              (await c.get(ref)).map((w) => w.manifestId),
              ref,
            ).toEqual([A]);
          expect(await c.get('nope')).toEqual([]);
          expect(await c.get('docs/play-1')).toEqual([]);
        });

        test('stats', async () => {
          const c = await indexed();
          expect(await c.stats()).toMatchObject({
            manifests: 3,
            workflows: 3,
            entries: 7,
            incomplete: 0,
            byPhase: { Succeeded: 2, Failed: 1 },
            labels: 3,
          });
          expect((await c.stats()).logSegments).toBeGreaterThan(3);
        });

        test('usage: manifests and bytes per namespace and group, only of the namespaces asked for', async () => {
          const c = await indexed();
          const all = await c.usage(['agents', 'docs']);
          expect(all.map(({ namespace, group, manifests }) => ({ namespace, group, manifests }))).toEqual([
            { namespace: 'agents', group: 'debug-2026-11', manifests: 1 },
            { namespace: 'agents', group: 'standard-2026-11', manifests: 1 },
            { namespace: 'docs', group: 'standard-2026-11', manifests: 1 },
          ]);
          expect(all.reduce((n, r) => n + r.bytes, 0)).toBe((await c.stats()).bytes);
          const docs = await c.usage(['docs', 'nope']);
          expect(docs).toEqual([all[2]]);
          expect(await c.usage([])).toEqual([]);
          expect(await c.usage(["agents' OR 1=1 --"])).toEqual([]);
        });

        test('user text is data, never a query of the engine', async () => {
          const c = await indexed();
          expect(await names(c, { labels: { "workflow-type' OR 1=1 --": 'x' } })).toEqual([]);
          expect(await names(c, { name: "x' OR '1'='1" })).toEqual([]);
          expect(await pageNames(c, { namePrefix: "%' OR 1=1 --" })).toEqual([]);
          expect(await pageNames(c, { namePrefix: '%' })).toEqual([]);
          expect(await c.searchText('"\'); DROP TABLE manifests; --"')).toEqual([]);
          expect((await c.stats()).manifests).toBe(3);
        });
      });

      describe('daily counts', () => {
        const day = (d: string) => new Date(`${d}T00:00:00Z`);
        /** A metadata-only row written through the port's own upsert. */
        const row = (n: number, over: Partial<CatalogWorkflow>): CatalogWorkflow => ({
          manifestId: n.toString(16).padStart(64, '0'),
          uid: `uid-${n}`,
          namespace: 'agents',
          name: `wf-${n}`,
          labels: {},
          incomplete: false,
          entries: 0,
          bytes: 0,
          ...over,
        });
        const upsert = (c: Catalog, w: CatalogWorkflow) => c.upsertManifest(w, [], (async function* () {})());

        test('workflows per UTC day and phase, ordered, on the workflow time', async () => {
          const c = await indexed();
          expect(await c.countByDay({})).toEqual([
            { day: '2026-11-01', phase: 'Succeeded', count: 1 },
            { day: '2026-11-05', phase: 'Failed', count: 1 },
            { day: '2026-11-10', phase: 'Succeeded', count: 1 },
          ]);
          await upsert(c, row(1, { phase: 'Failed', finishedAt: '2026-11-05T23:59:59.999Z' }));
          await upsert(c, row(2, { phase: 'Failed', namespace: 'docs', finishedAt: '2026-11-05T00:00:00Z' }));
          await upsert(c, row(3, { phase: 'Error', finishedAt: '2026-11-06T00:00:00Z' }));
          // Without a finish time the start counts, then the archive time; without any time, no day.
          await upsert(c, row(4, { startedAt: '2026-11-05T12:00:00+02:00' }));
          await upsert(c, row(5, { phase: 'Running', archivedAt: '2026-11-06T01:00:00Z' }));
          await upsert(c, row(6, { phase: 'Failed' }));
          expect(await c.countByDay({ from: day('2026-11-02'), to: day('2026-11-10') })).toEqual([
            { day: '2026-11-05', phase: '(none)', count: 1 },
            { day: '2026-11-05', phase: 'Failed', count: 3 },
            { day: '2026-11-06', phase: 'Error', count: 1 },
            { day: '2026-11-06', phase: 'Running', count: 1 },
          ]);
          expect(await c.countByDay({ from: day('2026-11-10') })).toEqual([
            { day: '2026-11-10', phase: 'Succeeded', count: 1 },
          ]);
          expect(await c.countByDay({ to: day('2026-11-05') })).toEqual([
            { day: '2026-11-01', phase: 'Succeeded', count: 1 },
          ]);
        });

        test('only the namespaces asked for (an empty list counts nothing)', async () => {
          const c = await indexed();
          await upsert(c, row(1, { phase: 'Succeeded', namespace: 'docs', finishedAt: '2026-11-01T03:00:00Z' }));
          expect(await c.countByDay({ namespaces: ['docs'] })).toEqual([
            { day: '2026-11-01', phase: 'Succeeded', count: 1 },
            { day: '2026-11-10', phase: 'Succeeded', count: 1 },
          ]);
          expect(await c.countByDay({ namespaces: ['docs', 'agents'] })).toEqual([
            { day: '2026-11-01', phase: 'Succeeded', count: 2 },
            { day: '2026-11-05', phase: 'Failed', count: 1 },
            { day: '2026-11-10', phase: 'Succeeded', count: 1 },
          ]);
          expect(await c.countByDay({ namespaces: [] })).toEqual([]);
          expect(await c.countByDay({ namespaces: ['nope'] })).toEqual([]);
        });

        test('remove, re-index and a failed replacement keep the counts equal to the rows', async () => {
          const source = contractCorpus();
          const c = await indexed(source);
          const before = await c.countByDay({});
          expect(await indexCatalog(c, source, { full: true })).toMatchObject({ indexed: 3, problems: [] });
          expect(await c.countByDay({})).toEqual(before);
          source.failAfter = { path: 'logs/play-1-222/main.log', bytes: 100_000 };
          expect((await indexCatalog(c, source, { full: true })).problems.map((p) => p.manifestId)).toEqual([A]);
          expect(await c.countByDay({})).toEqual(before);
          await c.remove(B);
          await c.remove(B);
          expect(await c.countByDay({})).toEqual([
            { day: '2026-11-01', phase: 'Succeeded', count: 1 },
            { day: '2026-11-10', phase: 'Succeeded', count: 1 },
          ]);
          await upsert(c, row(1, { phase: 'Failed', finishedAt: '2026-11-01T05:00:00Z' }));
          // Replaced by a row of another day and phase: the old one's count goes.
          await upsert(c, row(1, { phase: 'Error', finishedAt: '2026-11-02T05:00:00Z' }));
          expect(await c.countByDay({ to: day('2026-11-03') })).toEqual([
            { day: '2026-11-01', phase: 'Succeeded', count: 1 },
            { day: '2026-11-02', phase: 'Error', count: 1 },
          ]);
          await c.remove(A);
          await c.remove(row(1, {}).manifestId);
          expect(await c.countByDay({})).toEqual([{ day: '2026-11-10', phase: 'Succeeded', count: 1 }]);
        });

        test('a range that is not whole UTC days is a usage error naming the bound', async () => {
          const c = await fresh();
          await expect(c.countByDay({ from: new Date('2026-11-01T10:00:00Z') })).rejects.toThrow(
            /from must be a UTC midnight/,
          );
          await expect(c.countByDay({ to: new Date('nope') })).rejects.toThrow(ConfigError);
          expect(await c.countByDay({ from: day('2026-11-01'), to: day('2026-11-02') })).toEqual([]);
        });
      });

      describe('full text', () => {
        test('hits name the workflow, node, log and line, with a snippet and highlight offsets', async () => {
          const c = await indexed();
          const [hit, ...more] = await c.searchText('kraken');
          expect(more).toEqual([]);
          expect(hit).toMatchObject({
            manifestId: A,
            uid: 'uid-1',
            namespace: 'agents',
            name: 'play-1',
            nodeId: 'play-1-222',
            container: 'main',
            path: 'logs/play-1-222/main.log',
            line: 3001,
            snippet: 'FATAL «kraken» unleashed in shard 7',
            snippetText: 'FATAL kraken unleashed in shard 7',
            highlights: [[6, 12]],
          });
        });

        test('words (all must occur), phrases, prefixes, OR, AND, NOT and groups', async () => {
          const c = await indexed();
          expect(await hitNames(c, 'connection refused')).toEqual(['docs-1', 'play-2']);
          expect(await hitNames(c, '"connection refused"')).toEqual(['docs-1', 'play-2']);
          expect(await hitNames(c, '"refused connection"')).toEqual(['docs-1']);
          expect(await hitNames(c, '"connection pool"')).toEqual(['play-1']);
          expect(await hitNames(c, '"refused by registry"')).toEqual(['play-2']);
          expect(await hitNames(c, '"registry by refused"')).toEqual([]);
          expect(await hitNames(c, 'krak*')).toEqual(['play-1']);
          expect(await hitNames(c, '"connection ref"*')).toEqual(['docs-1', 'play-2']);
          expect(await hitNames(c, 'kraken OR panicked')).toEqual(['play-1', 'play-2']);
          expect(await hitNames(c, 'refused AND registry')).toEqual(['play-2']);
          expect(await hitNames(c, 'refused NOT registry')).toEqual(['docs-1']);
          expect(await hitNames(c, '(kraken OR panicked) NOT thread')).toEqual(['play-1']);
          expect(await hitNames(c, 'KRAKEN')).toEqual(['play-1']);
          expect(await hitNames(c, 'nosuchword')).toEqual([]);
          // A bare word with punctuation is the phrase of its tokens.
          expect(await hitNames(c, 'padding-padding')).toEqual(['play-1']);
        });

        test('every match of the query is highlighted in the snippet', async () => {
          const c = await indexed();
          const [hit] = await c.searchText('"connection refused"', { namespace: 'agents' });
          expect(hit).toMatchObject({ name: 'play-2', nodeId: 'play-2-333', line: 2 });
          expect(hit!.snippet).toBe('2026-11-05T09:59:59.223456789Z error: «connection refused» by registry');
          expect(hit!.highlights.map(([s, e]) => hit!.snippetText.slice(s, e))).toEqual(['connection refused']);
          const [both] = await c.searchText('refused OR connection', { namespace: 'docs' });
          expect(both).toMatchObject({ line: 2, snippet: '«connection» «refused», retrying' });
          const [prefix] = await c.searchText('regis*');
          expect(prefix!.highlights.map(([s, e]) => prefix!.snippetText.slice(s, e))).toEqual(['registry']);
        });

        test('full text combined with the other filters', async () => {
          const c = await indexed();
          expect(await hitNames(c, 'refused', { namespace: 'agents' })).toEqual(['play-2']);
          expect(await hitNames(c, 'refused', { namespaces: ['docs'] })).toEqual(['docs-1']);
          expect(await hitNames(c, 'refused', { namespaces: [] })).toEqual([]);
          expect(await hitNames(c, 'refused', { phase: 'succeeded' })).toEqual(['docs-1']);
          expect(await hitNames(c, 'refused', { labels: { 'workflow-type': 'play' } })).toEqual(['play-2']);
          expect(await hitNames(c, 'refused', { since: new Date('2026-11-06T00:00:00Z') })).toEqual(['docs-1']);
          expect(await hitNames(c, 'refused', { until: new Date('2026-11-06T00:00:00Z') })).toEqual(['play-2']);
          expect(await names(c, { text: 'connection refused' })).toEqual(['docs-1', 'play-2']);
          expect(await names(c, { text: '"connection refused"', namespace: 'agents' })).toEqual(['play-2']);
          expect(await names(c, { text: 'kraken', phase: 'Failed' })).toEqual([]);
        });

        test('limit bounds the hits', async () => {
          const c = await indexed();
          expect(await c.searchText('padding', { limit: 3 })).toHaveLength(3);
          expect(await c.searchText('refused OR kraken', { limit: 2 })).toHaveLength(2);
        });

        test('sub-second timestamp digits are not indexed; the snippet shows the real line', async () => {
          const c = await indexed();
          const [panic] = await c.searchText('panicked', { phase: 'Failed' });
          expect(panic).toMatchObject({ nodeId: 'play-2-333', line: 3 });
          expect(panic!.snippet).toBe('2026-11-05T10:00:00.323456789Z thread main «panicked»');
          expect(await c.searchText('323456789z')).toEqual([]);
          expect(await c.searchText('05t10')).toMatchObject([{ nodeId: 'play-2-333', line: 3 }]);
          expect(await c.searchText('"00:00.9Z thread"')).toMatchObject([{ nodeId: 'play-2-333', line: 3 }]);
        });

        test('a malformed query is a clear usage error naming the query, not a crash', async () => {
          const c = await indexed();
          for (const bad of ['refused AND', 'OR refused', '"unterminated', '(', 'a )', '"" ', '***']) {
            const err = await c.searchText(bad).then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(err, bad).toBeInstanceOf(ConfigError);
            expect((err as ConfigError).describe(), bad).toMatch(/key text: full-text query .* is not valid/);
          }
          await expect(c.search({ text: '  ' })).rejects.toThrow(ConfigError);
          await expect(c.searchText('')).rejects.toThrow(ConfigError);
        });
      });
    },
  );
}
