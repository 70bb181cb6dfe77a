// Holds through the CLI on a local repository: the adapter locks the held workflow's objects; a hold record edited
// to name another workflow still holds (emergency-delete refused) and `strata verify` reports it.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readManifest } from '../../lib/archive/index.ts';
import { manifestKey, packKey } from '../../lib/archive/repository.ts';
import { tempRepository } from '../archive/fixtures.ts';
import { runCli } from '../support/run-cli.ts';
import { archiveAt, manifestsByUid } from './helpers.ts';

let t: Awaited<ReturnType<typeof tempRepository>>;
let id: string;
const strata = (args: string[]) => runCli(['--store', `file:${t.root}`, ...args]);

beforeAll(async () => {
  t = await tempRepository();
  id = await archiveAt(t.repo, 'wf-1', new Date(), [randomBytes(10_000)]);
});
afterAll(() => t.cleanup());

test('hold set locks the objects; an edited hold record still holds and verify reports it', async () => {
  const set = await strata([
    'hold',
    'set',
    'wf-1',
    '--id',
    'case-1',
    '--reason',
    'litigation',
    '--actor',
    'legal',
    '-o',
    'json',
  ]);
  expect(set.code).toBe(0);
  const packs = (await readManifest(t.repo, id)).packs.map((p) => packKey('g', p));
  expect(JSON.parse(set.out)).toMatchObject({
    id: 'case-1',
    storeLocks: `${1 + packs.length} object(s) locked, 0 released`,
  });
  for (const key of [manifestKey(id), ...packs]) expect((await t.repo.store.head(key))?.legalHold).toBe(true);

  const path = join(t.root, 'holds', 'wf-1', 'case-1.json');
  writeFileSync(path, readFileSync(path, 'utf8').replace('"wf-1"', '"wf-2"'));
  const del = await strata([
    'emergency-delete',
    'wf-1',
    '--reason',
    'x',
    '--approver',
    'ciso',
    '--actor',
    'oncall',
    '--no-cluster',
    '--settle',
    '0s',
  ]);
  expect(del.code).toBe(4); // refused under the hold
  expect(del.err).toMatch(
    /under legal hold case-1 \(holds\/wf-1\/case-1\.json: workflowUid "wf-2" does not match its key/,
  );
  expect((await manifestsByUid(t.repo)).get('wf-1')).toEqual([id]);

  const verify = await strata(['verify', '-o', 'json']);
  expect(verify.code).toBe(1);
  expect(verify.err).toMatch(
    /problem: record: holds\/wf-1\/case-1\.json: workflowUid "wf-2" does not match its key \("wf-1"\) \(kept as an active hold\)/,
  );
});
