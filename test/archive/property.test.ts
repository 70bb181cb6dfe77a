// Property: any bundle (random names, sizes, contents, repeats) restores byte for byte, and re-archiving it is a no-op;
// logs of many timestamp styles packed across the workflows of a batch restore alike in format 2 and format 1.
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, expect } from 'vitest';
import { join } from 'node:path';
import { ArchiveSession } from '../../lib/archive/archiver.ts';
import { FrameEncoding } from '../../lib/archive/frame-codec.ts';
import { archiveBundle, openEntry, readManifest, type Repository } from '../../lib/archive/index.ts';
import { decodePack } from '../../lib/archive/pack-format.ts';
import { defaultConfig, openRepository, readObject } from '../../lib/archive/repository.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { bundleOf, readStream, SMALL, tempDir, tempRepository, type FileSpec } from './fixtures.ts';

let repo: Repository;
let cleanup: () => void;
beforeAll(async () => {
  ({ repo, cleanup } = await tempRepository());
});
afterAll(() => cleanup());

/** Contents mixing random bytes, repeated blocks (dedup within and across files) and empty files. */
const arbContent = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 40_000 }),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 5_000 }), fc.integer({ min: 1, max: 12 })).map(([block, n]) => {
    const out = new Uint8Array(block.length * n);
    for (let i = 0; i < n; i++) out.set(block, i * block.length);
    return out;
  }),
  fc.constant(new Uint8Array(0)),
);
const arbSegment = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,11}$/);
const arbFiles = fc
  .uniqueArray(
    fc.record({
      path: fc.array(arbSegment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')),
      data: arbContent,
      kind: fc.constantFrom('log' as const, 'artifact' as const, 'resource' as const),
    }),
    { maxLength: 6, selector: (f) => f.path },
  )
  .filter((files) => files.every((a) => files.every((b) => a === b || !b.path.startsWith(a.path + '/'))));

let n = 0;
test.prop([arbFiles], { numRuns: 25 })('round trip is byte-identical and idempotent', async (files: FileSpec[]) => {
  const uid = `p${n++}`;
  const named = files.map((f) => ({ ...f, path: `x/${f.path}` }));
  const first = await archiveBundle(repo, bundleOf(uid, named));
  const m = await readManifest(repo, first.manifestId);
  expect(m.entries.map((e) => e.path)).toEqual(['workflow.json', ...named.map((f) => f.path)]);
  for (const f of named) {
    const got = await readStream(await openEntry(repo, first.manifestId, f.path));
    expect(Buffer.compare(got, Buffer.from(f.data))).toBe(0);
  }
  const again = await archiveBundle(repo, bundleOf(uid, named));
  expect(again).toMatchObject({ manifestId: first.manifestId, created: false, stats: { newChunks: 0 } });
});

/** Log lines in the timestamp styles of frame encoding 3, in random order and with random text. */
const arbStyledLog = fc
  .array(
    fc.tuple(
      fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
      fc.constantFrom('iso', 'offset', 'python', 'klog', 'go', 'pino', 'none'),
      fc.string({ maxLength: 40 }),
    ),
    { minLength: 1, maxLength: 120 },
  )
  .map((lines) =>
    Buffer.from(
      lines
        .map(([ms, style, text]) => {
          const iso = new Date(ms).toISOString();
          const line =
            style === 'iso'
              ? `${iso} ${text}`
              : style === 'offset'
                ? `time=${iso.slice(0, 23)}+02:00 ${text}`
                : style === 'python'
                  ? `${iso.slice(0, 10)} ${iso.slice(11, 19)},${iso.slice(20, 23)} ${text}`
                  : style === 'klog'
                    ? `I${iso.slice(5, 7)}${iso.slice(8, 10)} ${iso.slice(11, 23)}123 1 x.go:1] ${text}`
                    : style === 'go'
                      ? `${iso.slice(0, 10).replaceAll('-', '/')} ${iso.slice(11, 19)} ${text}`
                      : style === 'pino'
                        ? `{"time":${ms},"msg":${JSON.stringify(text)}}`
                        : text;
          return `${line}\n`;
        })
        .join(''),
    ),
  );

/** A format-1 repository, as Strata before format 2 created it. */
async function formatOneRepository(): Promise<{ repo: Repository; cleanup(): void }> {
  const dir = tempDir();
  const store = new FileSystemStore(join(dir.path, 'repo'));
  const config = { ...defaultConfig(SMALL), version: 1 };
  await store.put('archive/config', Buffer.from(JSON.stringify(config)));
  return { repo: await openRepository(store), cleanup: dir.cleanup };
}

async function packsOf(r: Repository): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const o of r.store.list('archive/packs/')) out.push(await readObject(r.store, o.key));
  return out;
}

let m = 0;
test.prop([fc.array(fc.array(arbStyledLog, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 })], {
  numRuns: 15,
})(
  'workflows of one batch, logs packed across workflows, restore byte for byte in format 2 and format 1 repositories',
  async (workflows) => {
    const old = await formatOneRepository();
    try {
      for (const target of [repo, old.repo]) {
        const session = await ArchiveSession.open(target);
        // Same node names in every workflow: their logs are packed next to each other.
        const bundles = workflows.map((logs) =>
          bundleOf(
            `s${m++}`,
            logs.map((data, i) => ({ path: `logs/n${i}/main.log`, nodeId: `n${i}`, container: 'main', data })),
          ),
        );
        for (const b of bundles) session.add(b);
        const results = await session.commit();
        for (const [i, b] of bundles.entries()) {
          for (const [j, data] of workflows[i]!.entries()) {
            const got = await readStream(await openEntry(target, results[i]!.manifestId, `logs/n${j}/main.log`));
            expect(Buffer.compare(got, data)).toBe(0);
          }
          expect((await readManifest(target, results[i]!.manifestId)).entries.map((e) => e.path)).toEqual([
            'workflow.json',
            ...b.entries.map((e) => e.path),
          ]);
        }
      }
      // A format-1 repository keeps packs older Strata reads: version 1, no frame of encoding 3.
      for (const pack of await packsOf(old.repo)) {
        expect(pack.readUInt32BE(8)).toBe(1);
        const table = decodePack(pack, 'pack');
        for (const f of table.frames) expect(pack[f.offset]).not.toBe(FrameEncoding.TimestampStyles);
      }
      for (const pack of await packsOf(repo)) expect(pack.readUInt32BE(8)).toBe(2);
    } finally {
      old.cleanup();
    }
  },
);
