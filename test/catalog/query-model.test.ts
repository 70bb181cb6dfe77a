// Property: catalog queries return exactly what a naive filter over the same workflows returns.
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import type { WorkflowQuery } from '../../lib/catalog/catalog.ts';
import { FakeSource, type FakeWorkflow } from './fake-source.ts';

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
const DAY = 86_400_000;
const BASE = Date.parse('2026-11-01T00:00:00Z');

const arbLog = fc
  .array(fc.array(fc.constantFrom(...WORDS), { maxLength: 6 }), { maxLength: 8 })
  .map((lines) => lines.map((l) => l.join(' ')).join('\n'));

const arbWorkflow = fc.record({
  namespace: fc.constantFrom('agents', 'docs'),
  phase: fc.constantFrom('Succeeded', 'Failed', 'Error'),
  day: fc.integer({ min: 0, max: 9 }),
  labels: fc.dictionary(fc.constantFrom('team', 'stage', 'repo'), fc.constantFrom('x', 'y'), { maxKeys: 3 }),
  logs: fc.array(arbLog, { maxLength: 3 }),
});

const arbQuery = fc.record(
  {
    labels: fc.dictionary(fc.constantFrom('team', 'stage', 'repo'), fc.constantFrom('x', 'y'), { maxKeys: 2 }),
    namespace: fc.constantFrom('agents', 'docs'),
    phase: fc.constantFrom('Succeeded', 'failed', 'Error'),
    since: fc.integer({ min: 0, max: 10 }),
    until: fc.integer({ min: 0, max: 10 }),
    text: fc.constantFrom(...WORDS),
  },
  { requiredKeys: [] },
);

type Arb = { namespace: string; phase: string; day: number; labels: Record<string, string>; logs: string[] };

test.prop([fc.array(arbWorkflow, { maxLength: 12 }), fc.array(arbQuery, { minLength: 1, maxLength: 8 })], {
  numRuns: 40,
})('search agrees with a naive filter', async (workflows: Arb[], queries) => {
  const source = new FakeSource();
  workflows.forEach((w, i) => {
    const fake: FakeWorkflow = {
      id: i.toString(16).padStart(64, '0'),
      uid: `uid-${i}`,
      name: `wf-${i}`,
      namespace: w.namespace,
      phase: w.phase,
      finishedAt: new Date(BASE + w.day * DAY).toISOString(),
      labels: w.labels,
      logs: Object.fromEntries(w.logs.map((text, n) => [`wf-${i}-${n}`, text])),
    };
    source.add(fake);
  });
  const { catalog } = openSqliteCatalog(':memory:');
  try {
    await indexCatalog(catalog, source);
    for (const q of queries) {
      const { since, until, ...rest } = q;
      const query: WorkflowQuery = {
        ...rest,
        ...(since !== undefined && { since: new Date(BASE + since * DAY) }),
        ...(until !== undefined && { until: new Date(BASE + until * DAY) }),
        limit: 1000,
      };
      const expected = workflows
        .map((w, i) => ({ w, name: `wf-${i}` }))
        .filter(({ w }) => Object.entries(q.labels ?? {}).every(([k, v]) => w.labels[k] === v))
        .filter(({ w }) => q.namespace === undefined || w.namespace === q.namespace)
        .filter(({ w }) => q.phase === undefined || w.phase.toLowerCase() === q.phase.toLowerCase())
        .filter(({ w }) => q.since === undefined || w.day >= q.since)
        .filter(({ w }) => q.until === undefined || w.day < q.until)
        .filter(({ w }) => q.text === undefined || w.logs.some((l) => l.split(/\s+/).includes(q.text!)))
        .map(({ name }) => name)
        .sort();
      expect((await catalog.search(query)).map((w) => w.name).sort(), JSON.stringify(q)).toEqual(expected);
      if (q.text !== undefined) {
        // Every hit is in a log that has the word on the line the hit names.
        for (const h of await catalog.searchText(q.text, { limit: 1000 })) {
          const i = Number(h.name.slice(3));
          const log = workflows[i]!.logs[Number(h.nodeId!.split('-').at(-1))]!;
          expect(log.split('\n')[h.line - 1]!.split(' ')).toContain(q.text);
        }
      }
    }
  } finally {
    await catalog.close();
  }
});
