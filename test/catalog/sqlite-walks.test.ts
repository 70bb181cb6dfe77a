// Properties of the SQLite catalog's derived structures: newest-first pages with label requirements (walked per label
// value, with a growing budget, see SqliteCatalog.walkPage) return exactly the rows a naive filter and sort return,
// page after page; and the per-day counter table equals a GROUP BY over the rows after any upserts and removals.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import {
  DAY_MS,
  NO_PHASE,
  workflowTime,
  type Catalog,
  type CatalogWorkflow,
  type DailyCount,
  type LabelRequirement,
  type PageKey,
  type WorkflowPageQuery,
} from '../../lib/catalog/catalog.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';

const BASE = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const noSegments = () => (async function* () {})();
const idOf = (n: number) => n.toString(16).padStart(64, '0');

/** A cheap deterministic mix, so that the corpus is the same on every run. */
const mix = (n: number, salt: number) => {
  let h = Math.imul(n ^ (salt * 0x9e3779b9), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
};

const ROWS = 3000;
const NOW = BASE + (ROWS / 3) * HOUR;

/**
 * Rows three to an hour (ties on the time, broken by manifest id), a tier that is a function of age (the
 * combination that made a newest-first scan read most of the table), a rare retention class, an optional team.
 */
function corpusRow(i: number): CatalogWorkflow {
  const at = BASE + Math.floor(i / 3) * HOUR;
  const age = (NOW - at) / HOUR;
  const r = mix(i, 1) % 100;
  const labels: Record<string, string> = {
    tier: age < 40 ? 'hot' : age < 150 ? 'warm' : age < 350 ? 'cold' : 'archive',
    retention: r < 3 ? 'legal' : r < 10 ? 'audit' : r < 30 ? 'short' : 'standard',
  };
  if (mix(i, 2) % 4) labels.team = `t${mix(i, 3) % 5}`;
  return {
    manifestId: idOf(mix(i, 4) * 4096 + i),
    uid: `uid-${i}`,
    namespace: `ns-${mix(i, 5) % 3}`,
    name: `wf-${i}`,
    phase: ['Succeeded', 'Failed', 'Error'][mix(i, 6) % 3]!,
    // A few rows without any time list last (their listing time is -1).
    ...(i % 250 !== 7 && { finishedAt: new Date(at).toISOString() }),
    labels,
    incomplete: false,
    entries: 0,
    bytes: 0,
  };
}

const arbRequirement: fc.Arbitrary<LabelRequirement> = fc.oneof(
  fc.record({
    key: fc.constant('tier'),
    op: fc.constantFrom('in' as const, 'notin' as const),
    values: fc.subarray(['hot', 'warm', 'cold', 'archive'], { minLength: 1 }),
  }),
  fc.record({
    key: fc.constant('retention'),
    op: fc.constantFrom('in' as const, 'notin' as const),
    values: fc.subarray(['legal', 'audit', 'short', 'standard', 'legal'], { minLength: 1 }),
  }),
  fc.record({
    key: fc.constant('team'),
    op: fc.constantFrom('in' as const, 'notin' as const),
    values: fc.subarray(['t0', 't1', 't2', 't3', 't4', 'nope'], { minLength: 1 }),
  }),
  fc.record({ key: fc.constantFrom('team', 'retention'), op: fc.constantFrom('exists' as const, 'absent' as const) }),
);

const arbPageQuery = fc.record(
  {
    labels: fc.array(arbRequirement, { minLength: 1, maxLength: 3 }),
    namespaces: fc.subarray(['ns-0', 'ns-1', 'ns-2']),
    phases: fc.subarray(['succeeded', 'Failed', 'Error']),
    finishedFrom: fc.integer({ min: 0, max: ROWS / 3 }),
    finishedTo: fc.integer({ min: 0, max: ROWS / 3 }),
  },
  { requiredKeys: ['labels'] },
);

function holds(w: CatalogWorkflow, r: LabelRequirement): boolean {
  const v = w.labels[r.key];
  switch (r.op) {
    case 'in':
      return v !== undefined && r.values.includes(v);
    case 'notin':
      return v === undefined || !r.values.includes(v);
    case 'exists':
      return v !== undefined;
    case 'absent':
      return v === undefined;
  }
}

const listingTime = (w: CatalogWorkflow) => {
  const at = workflowTime(w);
  return at === undefined ? -1 : Date.parse(at);
};

describe('SQLite: newest-first pages with label requirements', () => {
  let catalog: Catalog;
  const rows = Array.from({ length: ROWS }, (_, i) => corpusRow(i));
  beforeAll(async () => {
    catalog = openSqliteCatalog(':memory:').catalog;
    for (const w of rows) await catalog.upsertManifest(w, [], noSegments());
  }, 120_000);
  afterAll(async () => {
    await catalog.close();
  });

  /** Pages through `query` (three pages at most) and compares with a naive filter and sort of the rows. */
  async function agreesWithNaive(query: WorkflowPageQuery): Promise<void> {
    const f = query.finished;
    const expected = rows
      .filter((w) => (query.labels ?? []).every((r) => holds(w, r)))
      .filter((w) => !query.namespaces || query.namespaces.includes(w.namespace))
      .filter((w) => !query.phases || query.phases.some((p) => p.toLowerCase() === w.phase!.toLowerCase()))
      .filter((w) => {
        if (!f) return true;
        if (w.finishedAt === undefined) return false;
        const t = Date.parse(w.finishedAt);
        return (!f.from || t >= f.from.getTime()) && (!f.to || t < f.to.getTime());
      })
      .sort((a, b) => listingTime(b) - listingTime(a) || (a.manifestId < b.manifestId ? -1 : 1))
      .map((w) => w.manifestId);
    // The cursor must carry on exactly where the previous page ended.
    const seen: string[] = [];
    let after: PageKey | undefined;
    for (let pages = 0; pages < 3; pages++) {
      const page = await catalog.page({ ...query, ...(after && { after }) });
      seen.push(...page.items.map((w) => w.manifestId));
      expect(page.items.length).toBeLessThanOrEqual(query.limit);
      if (!page.last) {
        expect(seen, JSON.stringify(query)).toEqual(expected);
        return;
      }
      after = page.last;
    }
    expect(seen, JSON.stringify(query)).toEqual(expected.slice(0, seen.length));
    expect(expected.length).toBeGreaterThan(seen.length);
  }

  test.prop([arbPageQuery, fc.constantFrom(1, 7, 50)], { numRuns: 60 })(
    'every page holds exactly the next rows a naive filter and sort give',
    async (q, limit) => {
      const finished =
        q.finishedFrom !== undefined || q.finishedTo !== undefined
          ? {
              ...(q.finishedFrom !== undefined && { from: new Date(BASE + q.finishedFrom * HOUR) }),
              ...(q.finishedTo !== undefined && { to: new Date(BASE + q.finishedTo * HOUR) }),
            }
          : undefined;
      await agreesWithNaive({
        sort: 'newest',
        limit,
        labels: q.labels,
        ...(q.namespaces && { namespaces: q.namespaces }),
        ...(q.phases && { phases: q.phases }),
        ...(finished && { finished }),
      });
    },
  );

  test('combinations found only in old rows, past the first budgets of every walk', async () => {
    const req = (key: string, ...values: string[]): LabelRequirement => ({ key, op: 'in', values });
    for (const labels of [
      [req('team', 't0'), req('tier', 'archive')],
      [req('tier', 'archive'), req('team', 't1', 't2')],
      [req('retention', 'audit'), req('tier', 'archive', 'cold')],
      [req('retention', 'legal', 'audit'), req('tier', 'archive'), { key: 'team', op: 'notin', values: ['t3'] }],
      [req('team', 't4'), req('tier', 'archive'), { key: 'retention', op: 'exists' }],
    ] satisfies LabelRequirement[][])
      for (const limit of [50, 120])
        for (const namespaces of [undefined, ['ns-1']])
          await agreesWithNaive({ sort: 'newest', limit, labels, ...(namespaces && { namespaces }) });
  });
});

describe('SQLite: daily counts', () => {
  const arbOp = fc.oneof(
    fc.record({
      kind: fc.constant('upsert' as const),
      id: fc.integer({ min: 0, max: 11 }),
      day: fc.integer({ min: -3, max: 4 }),
      hour: fc.integer({ min: 0, max: 23 }),
      phase: fc.option(fc.constantFrom('Succeeded', 'Failed', 'Error'), { nil: undefined }),
      namespace: fc.constantFrom('a', 'b'),
      time: fc.constantFrom('finished', 'started', 'archived', 'none'),
    }),
    fc.record({ kind: fc.constant('remove' as const), id: fc.integer({ min: 0, max: 11 }) }),
  );

  test.prop([fc.array(arbOp, { maxLength: 40 }), fc.subarray(['a', 'b'])], { numRuns: 60 })(
    'counts equal a GROUP BY over the rows after any upserts and removals',
    async (ops, namespaces) => {
      const { catalog } = openSqliteCatalog(':memory:');
      try {
        for (const op of ops) {
          if (op.kind === 'remove') {
            await catalog.remove(idOf(op.id));
            continue;
          }
          // Days around the epoch too: a time before 1970 belongs to its own day, not the one after.
          const at = new Date(op.day * DAY_MS + op.hour * HOUR).toISOString();
          await catalog.upsertManifest(
            {
              manifestId: idOf(op.id),
              uid: `uid-${op.id}`,
              namespace: op.namespace,
              name: `wf-${op.id}`,
              ...(op.phase !== undefined && { phase: op.phase }),
              ...(op.time === 'finished' && { finishedAt: at }),
              ...(op.time === 'started' && { startedAt: at }),
              ...(op.time === 'archived' && { archivedAt: at }),
              labels: {},
              incomplete: false,
              entries: 0,
              bytes: 0,
            },
            [],
            noSegments(),
          );
        }
        const all = await catalog.search({ limit: 1000 });
        const grouped = (ws: CatalogWorkflow[]) => {
          const counts = new Map<string, DailyCount>();
          for (const w of ws) {
            const t = listingTime(w);
            if (workflowTime(w) === undefined) continue;
            const day = new Date(Math.floor(t / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
            const phase = w.phase ?? NO_PHASE;
            const c = counts.get(`${day}/${phase}`) ?? { day, phase, count: 0 };
            c.count++;
            counts.set(`${day}/${phase}`, c);
          }
          return [...counts.values()].sort((a, b) =>
            a.day < b.day ? -1 : a.day > b.day ? 1 : a.phase < b.phase ? -1 : a.phase > b.phase ? 1 : 0,
          );
        };
        expect(await catalog.countByDay({})).toEqual(grouped(all));
        expect(await catalog.countByDay({ namespaces })).toEqual(
          grouped(all.filter((w) => namespaces.includes(w.namespace))),
        );
        const from = new Date(-DAY_MS);
        const to = new Date(2 * DAY_MS);
        expect(await catalog.countByDay({ from, to })).toEqual(
          grouped(all).filter((c) => c.day >= '1969-12-31' && c.day < '1970-01-03'),
        );
      } finally {
        await catalog.close();
      }
    },
  );

  test('a row updated in place (no writer does so today) moves its count and its labels with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-walks-'));
    try {
      const file = join(dir, 'catalog.db');
      const { catalog } = openSqliteCatalog(file);
      const w = corpusRow(5);
      await catalog.upsertManifest(w, [], noSegments());
      const raw = new Database(file);
      raw
        .prepare("UPDATE manifests SET phase = 'Error', namespace = 'other', at_ms = ? WHERE id = ?")
        .run(Date.parse('2026-03-04T05:00:00Z'), w.manifestId);
      raw.close();
      expect(await catalog.countByDay({})).toEqual([{ day: '2026-03-04', phase: 'Error', count: 1 }]);
      const [label] = Object.entries(w.labels);
      expect(
        (await catalog.page({ sort: 'newest', limit: 5, labels: [{ key: label![0], op: 'in', values: [label![1]] }] }))
          .items[0]?.namespace,
      ).toBe('other');
      expect(
        (
          await catalog.page({
            sort: 'newest',
            limit: 5,
            finished: { from: new Date('2026-03-04T00:00:00Z') },
            labels: [{ key: label![0], op: 'in', values: [label![1]] }],
          })
        ).items,
      ).toHaveLength(0);
      await catalog.remove(w.manifestId);
      expect(await catalog.countByDay({})).toEqual([]);
      await catalog.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
