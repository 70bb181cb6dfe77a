// verify finds every injected corruption: bit flips and truncation in packs, missing packs and indexes, edited manifests.
import { readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { archiveBundle, type Repository } from '../../lib/archive/index.ts';
import { verifyManifest, verifyRepository } from '../../lib/archive/checker.ts';
import { bundleOf, logText, tempRepository } from './fixtures.ts';
import { randomBytes } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import { readManifest } from '../../lib/archive/index.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function archived(): Promise<{ repo: Repository; root: string; manifestId: string }> {
  const r = await tempRepository();
  cleanups.push(r.cleanup);
  const res = await archiveBundle(
    r.repo,
    bundleOf('v1', [
      { path: 'a.log', data: logText(11, 150_000) },
      { path: 'b.bin', kind: 'artifact', data: randomBytes(150_000) },
    ]),
  );
  return { repo: r.repo, root: r.root, manifestId: res.manifestId };
}

/** Data files of the file: store under a prefix (sidecars and temp files start with a dot). */
function files(root: string, dir: string): string[] {
  const base = join(root, dir);
  return readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith('.'))
    .map((d) => join(d.parentPath, d.name))
    .sort();
}

describe('verify', () => {
  test('a fresh repository verifies clean, structure and data', async () => {
    const { repo } = await archived();
    const structure = await verifyRepository(repo);
    expect(structure.problems).toEqual([]);
    const data = await verifyRepository(repo, { readData: true });
    expect(data.problems).toEqual([]);
    expect(data.packsRead).toBe(data.packs);
    expect(data.packs).toBeGreaterThan(1);
  });

  test('a flipped bit in a pack is found by --read-data', async () => {
    const { repo, root } = await archived();
    const pack = files(root, 'archive/packs')[0]!;
    const bytes = readFileSync(pack);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
    writeFileSync(pack, bytes);
    const report = await verifyRepository(repo, { readData: true });
    expect(report.problems.some((p) => p.kind === 'pack' && pack.endsWith(p.key))).toBe(true);
  });

  test('a truncated pack is found by the structure check', async () => {
    const { repo, root } = await archived();
    const pack = files(root, 'archive/packs')[0]!;
    truncateSync(pack, 100);
    const report = await verifyRepository(repo);
    expect(report.problems.map((p) => p.message).join('\n')).toMatch(/truncated/);
    const data = await verifyRepository(repo, { readData: true });
    expect(data.problems.some((p) => p.kind === 'pack')).toBe(true);
  });

  test('a missing pack is found by the structure check', async () => {
    const { repo, root } = await archived();
    const pack = files(root, 'archive/packs')[0]!;
    unlinkSync(pack);
    const report = await verifyRepository(repo);
    expect(report.problems.some((p) => p.kind === 'reference' && /missing/.test(p.message))).toBe(true);
  });

  test('a missing index is found by the structure check', async () => {
    const { repo, root } = await archived();
    unlinkSync(files(root, 'archive/index')[0]!);
    const report = await verifyRepository(repo);
    expect(report.problems.some((p) => p.kind === 'reference' && /index .* is missing/.test(p.message))).toBe(true);
  });

  test('an edited manifest is found by the structure check', async () => {
    const { repo, root, manifestId } = await archived();
    const path = join(root, 'archive/manifests', manifestId);
    const json = decompress(readFileSync(path)).toString('utf8');
    expect(json).toContain('"a.log"');
    writeFileSync(path, compress(Buffer.from(json.replace('"a.log"', '"c.log"'))));
    const report = await verifyRepository(repo);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'manifest', message: expect.stringMatching(/hashes to/) }),
    ]);
  });

  test('manifests are stored compressed; plain JSON ones (written before) still read and verify', async () => {
    const { repo, root, manifestId } = await archived();
    const path = join(root, 'archive/manifests', manifestId);
    const stored = readFileSync(path);
    const json = decompress(stored);
    expect(stored.length).toBeLessThan(json.length);
    writeFileSync(path, json);
    expect((await readManifest(repo, manifestId)).entries.map((e) => e.path)).toContain('a.log');
    expect((await verifyRepository(repo)).problems).toEqual([]);
    writeFileSync(path, stored.subarray(0, stored.length - 5));
    expect((await verifyRepository(repo)).problems).toEqual([
      expect.objectContaining({ kind: 'manifest', message: expect.stringMatching(/does not decompress/) }),
    ]);
  });

  test('a --sample of 0 percent reads no pack', async () => {
    const { repo } = await archived();
    expect((await verifyRepository(repo, { readData: true, samplePercent: 0 })).packsRead).toBe(0);
  });
});

describe('verifyManifest (what finalize trusts before deleting the source)', () => {
  test('a sound archive verifies, with the workflow it names', async () => {
    const { repo, manifestId } = await archived();
    const check = await verifyManifest(repo, manifestId);
    expect(check).toMatchObject({ id: manifestId, exists: true, verified: true, problems: [], missing: 0 });
    expect(check.workflowUid).toBe('v1');
  });

  test('an unknown id does not exist and is not verified', async () => {
    const { repo } = await archived();
    expect(await verifyManifest(repo, 'f'.repeat(64))).toMatchObject({ exists: false, verified: false });
  });

  test('a damaged pack fails the entries it holds, each named', async () => {
    const { repo, root, manifestId } = await archived();
    for (const pack of files(root, 'archive/packs')) {
      const bytes = readFileSync(pack);
      bytes[Math.floor(bytes.length / 3)]! ^= 0x10;
      writeFileSync(pack, bytes);
    }
    const check = await verifyManifest(repo, manifestId);
    expect(check).toMatchObject({ exists: true, verified: false });
    const paths = (await readManifest(repo, manifestId)).entries.map((e) => e.path);
    expect(check.problems.length).toBeGreaterThan(0);
    for (const p of check.problems) expect(paths).toContain(p.split(':')[0]);
  });

  test('an edited manifest exists but does not verify', async () => {
    const { repo, root, manifestId } = await archived();
    const path = join(root, 'archive/manifests', manifestId);
    const json = decompress(readFileSync(path)).toString('utf8');
    writeFileSync(path, compress(Buffer.from(json.replace('"a.log"', '"c.log"'))));
    const check = await verifyManifest(repo, manifestId);
    expect(check).toMatchObject({ exists: true, verified: false });
    expect(check.problems).toEqual([expect.stringMatching(/hashes to/)]);
  });
});
