// The scrub runner on a real repository: reads recorded in the store as they happen, the rotation going round,
// corruption found and read again (data kept), a killed run converging, and state that does not read ignored safely.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { archiveBundle, type Repository } from '../../lib/archive/index.ts';
import { scrubRepository } from '../../lib/archive/scrub.ts';
import { loadScrubState, recordScrubReads, SCRUB_STATE_PREFIX } from '../../lib/archive/scrub-state.ts';
import { PACKS_PREFIX } from '../../lib/archive/repository.ts';
import { StoreError } from '../../lib/errors.ts';
import type { Progress } from '../../lib/progress.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { bundleOf, SMALL, tempRepository, type RepositoryMode } from './fixtures.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
/** Every pack within 3 days, runs daily: a rotation of 2 runs. */
const SCHEDULE = { periodMs: 3 * DAY, cadenceMs: DAY };

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/**
 * A repository of several packs (random bytes do not dedup or compress), and a clock: `at(days)` is that many days
 * after the packs were written.
 */
async function archived(
  workflows = 3,
  mode: RepositoryMode = 'plain',
): Promise<{ repo: Repository; root: string; at: (days: number) => () => Date }> {
  const r = await tempRepository(SMALL, mode);
  cleanups.push(r.cleanup);
  for (let i = 0; i < workflows; i++)
    await archiveBundle(r.repo, bundleOf(`w${i}`, [{ path: 'a.bin', kind: 'artifact', data: randomBytes(150_000) }]));
  const base = Date.now() + 1000;
  return { repo: r.repo, root: r.root, at: (days) => () => new Date(base + days * DAY) };
}

async function packKeys(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(PACKS_PREFIX)) keys.push(o.key);
  return keys;
}

describe('scrubRepository', () => {
  test('each run reads its share and records it; the rotation covers every pack within the period', async () => {
    const { repo, at } = await archived();
    const packs = await packKeys(repo.store);
    expect(packs.length).toBeGreaterThan(3);
    const first = await scrubRepository(repo, { select: 'rotation', ...SCHEDULE, now: at(0) });
    expect(first.report.problems).toEqual([]);
    expect(first.scrub.read).toBe(Math.ceil(packs.length / 2));
    expect(first.scrub.plan!.read.every((r) => r.reason.startsWith('rotation: never read'))).toBe(true);
    expect(first.scrub.coverage).toMatchObject({ packs: packs.length, readWithinPeriod: first.scrub.read });
    // Recorded in the store, one object per timeline group.
    expect((await loadScrubState(repo.store)).reads.size).toBe(first.scrub.read);
    const second = await scrubRepository(repo, { select: 'rotation', ...SCHEDULE, now: at(1) });
    const readTwice = second.scrub.plan!.read.filter((r) => first.scrub.plan!.read.some((f) => f.key === r.key));
    expect(readTwice).toEqual([]);
    expect(second.scrub.coverage).toMatchObject({ coverage: 1, overdue: 0, oldestUnreadSeconds: 86_400 });
    // Two days later the first run's packs are due (they would pass the 3-day period before the next run).
    const third = await scrubRepository(repo, { select: 'rotation', ...SCHEDULE, now: at(2) });
    expect(new Set(third.scrub.plan!.read.map((r) => r.key))).toEqual(
      new Set(first.scrub.plan!.read.map((r) => r.key)),
    );
    expect(third.scrub.plan!.read.every((r) => r.reason.startsWith('due: last read 2.0d ago'))).toBe(true);
  });

  test('a corrupt pack is reported, recorded as failed, read again next run, and kept', async () => {
    const { repo, root, at } = await archived(1);
    const dir = join(root, PACKS_PREFIX);
    const file = readdirSync(dir, { recursive: true, withFileTypes: true }).find(
      (d) => d.isFile() && !d.name.startsWith('.'),
    )!;
    const path = join(file.parentPath, file.name);
    const bytes = readFileSync(path);
    bytes[100]! ^= 0xff;
    writeFileSync(path, bytes);
    const run = await scrubRepository(repo, { select: 100, ...SCHEDULE, now: at(0) });
    const bad = run.report.problems.filter((p) => p.kind === 'pack');
    expect(bad).toHaveLength(1);
    expect(run.scrub).toMatchObject({ failed: 1 });
    expect(run.scrub.coverage.failedLastRead).toBe(1);
    const next = await scrubRepository(repo, { select: 'rotation', ...SCHEDULE, now: at(0.1) });
    expect(next.scrub.plan!.read).toEqual([
      expect.objectContaining({ key: bad[0]!.key, reason: expect.stringMatching(/^failed its last read/) }),
    ]);
    expect(existsSync(path)).toBe(true);
  });

  test('a killed scrub keeps what it recorded, and the next run converges without losing coverage', async () => {
    const { repo, at } = await archived();
    const all = await packKeys(repo.store);
    let advanced = 0;
    const dies: Progress = {
      start() {},
      advance() {
        if (++advanced === 2) throw new Error('killed');
      },
      done() {},
    };
    await expect(
      scrubRepository(repo, { select: 100, ...SCHEDULE, now: at(0), recordEvery: 1, progress: dies }),
    ).rejects.toThrow('killed');
    const kept = (await loadScrubState(repo.store)).reads;
    expect(kept.size).toBe(2);
    const again = await scrubRepository(repo, { select: 'rotation', ...SCHEDULE, now: at(0.5) });
    // The killed run's reads are not read again; the rest are (their turn or due).
    expect(again.scrub.plan!.read.filter((r) => kept.has(r.key))).toEqual([]);
    const done = await scrubRepository(repo, { select: 'rotation', ...SCHEDULE, now: at(1) });
    expect(done.scrub.coverage).toMatchObject({ packs: all.length, readWithinPeriod: all.length, overdue: 0 });
  });

  test('an encrypted repository: its packs are read, checked and recorded (the state sealed like everything else)', async () => {
    const { repo, at } = await archived(1, 'encrypted');
    const packs = await packKeys(repo.store);
    const run = await scrubRepository(repo, { select: 100, ...SCHEDULE, now: at(0) });
    expect(run.report.problems).toEqual([]);
    expect(run.scrub).toMatchObject({ read: packs.length, failed: 0 });
    expect([...(await loadScrubState(repo.store)).reads.keys()].sort()).toEqual(packs.sort());
  });

  test('a pack that cannot be read at all (the store failing) is not recorded as read', async () => {
    const { repo, at } = await archived(1);
    const store = repo.store;
    const failing: ObjectStore = {
      url: store.url,
      put: (key, body, opts) => store.put(key, body, opts),
      head: (key) => store.head(key),
      list: (prefix) => store.list(prefix),
      delete: (keys) => store.delete(keys),
      get: async (key, range) => {
        if (key.startsWith(PACKS_PREFIX)) throw new StoreError('connection reset', { key });
        return store.get(key, range);
      },
    };
    const run = await scrubRepository({ ...repo, store: failing }, { select: 100, ...SCHEDULE, now: at(0) });
    expect(run.report.problems.some((p) => p.kind === 'pack' && /connection reset/.test(p.message))).toBe(true);
    expect(run.scrub.read).toBe(0);
    expect((await loadScrubState(repo.store)).reads.size).toBe(0);
  });
});

describe('scrub state', () => {
  test('a slower writer never rolls back a newer read, and a failure at the same instant wins', async () => {
    const { repo } = await archived(1);
    const [key] = await packKeys(repo.store);
    const newer = new Date(T0 + DAY);
    await recordScrubReads(repo.store, new Map([[key!, { at: newer, ok: true }]]));
    await recordScrubReads(repo.store, new Map([[key!, { at: new Date(T0), ok: true }]]));
    expect((await loadScrubState(repo.store)).reads.get(key!)).toEqual({ at: newer, ok: true });
    await recordScrubReads(repo.store, new Map([[key!, { at: newer, ok: false }]]));
    expect((await loadScrubState(repo.store)).reads.get(key!)).toEqual({ at: newer, ok: false });
  });

  test('state that does not parse is ignored with a warning (its packs are read, not skipped), then rewritten', async () => {
    const { repo, at } = await archived(1);
    const packs = await packKeys(repo.store);
    await scrubRepository(repo, { select: 100, ...SCHEDULE, now: at(0) });
    let shard = '';
    for await (const o of repo.store.list(SCRUB_STATE_PREFIX)) shard = o.key;
    await repo.store.put(shard, Buffer.from('{"format":"strata-scrub-state","version":1,"group":"x","packs":{"a":1}}'));
    const run = await scrubRepository(repo, { select: 'rotation', ...SCHEDULE, now: at(0.1) });
    expect(run.scrub.stateWarnings).toEqual([expect.stringContaining(`${shard}: scrub state: packs.a`)]);
    // Every pack counts as never read again: the rotation starts over rather than trusting what it cannot read.
    expect(run.scrub.plan!.read).toHaveLength(Math.ceil(packs.length / 2));
    expect(run.scrub.plan!.read.every((r) => r.reason.startsWith('rotation: never read'))).toBe(true);
    expect((await loadScrubState(repo.store)).warnings).toEqual([]);
  });

  test('entries of packs that are gone are dropped when their group is rewritten', async () => {
    const { repo } = await archived(1);
    const [key] = await packKeys(repo.store);
    const gone = key!.replace(/[0-9a-f]{64}$/, 'f'.repeat(64));
    await recordScrubReads(repo.store, new Map([[gone, { at: new Date(T0), ok: true }]]));
    await recordScrubReads(repo.store, new Map([[key!, { at: new Date(T0), ok: true }]]), new Set([key!]));
    expect([...(await loadScrubState(repo.store)).reads.keys()]).toEqual([key]);
  });
});
