// Property: any bundle (random names, sizes, contents, repeats) restores byte for byte, and re-archiving it is a no-op.
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, expect } from 'vitest';
import { archiveBundle, openEntry, readManifest, type Repository } from '../../lib/archive/index.ts';
import { bundleOf, readStream, tempRepository, type FileSpec } from './fixtures.ts';

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
