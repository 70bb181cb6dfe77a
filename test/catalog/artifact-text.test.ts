// Text inside artifacts, from real archives made by tar and Python's zipfile: members named, binary skipped, capped.
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  artifactText,
  looksLikeText,
  splitMemberPath,
  type ArtifactTextLimits,
} from '../../lib/catalog/artifact-text.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { FakeSource } from './fake-source.ts';

let dir: string;
const longDir = 'very-long-directory-name-'.repeat(5);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-artifact-text-'));
  const src = join(dir, 'src');
  mkdirSync(join(src, 'reports', longDir), { recursive: true });
  writeFileSync(
    join(src, 'reports/junit.xml'),
    '<?xml version="1.0"?>\n<testsuite name="api">\n  <testcase name="login">\n    <failure message="expected 200 got 503"/>\n  </testcase>\n</testsuite>\n',
  );
  writeFileSync(join(src, 'README.md'), '# Results\n\nThe *kraken* test is flaky.\n');
  writeFileSync(join(src, 'change.diff'), '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old line\n+new line\n');
  writeFileSync(join(src, 'model.bin'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, ...Buffer.from(' kraken ')]));
  writeFileSync(join(src, 'reports', longDir, 'deep.yaml'), 'status: failed\nreason: OOMKilled\n');
  writeFileSync(join(src, 'big.log'), Array.from({ length: 5000 }, (_, i) => `line ${i + 1} filler text`).join('\n'));
  execFileSync('tar', ['czf', join(dir, 'out.tgz'), '-C', src, '.']);
  execFileSync('python3', [
    '-c',
    `import zipfile, os, sys
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    for root, _, files in os.walk(src):
        for f in sorted(files):
            p = os.path.join(root, f)
            z.write(p, os.path.relpath(p, src))
    z.writestr('stored.txt', 'stored without compression\\n', compress_type=zipfile.ZIP_STORED)`,
    src,
    join(dir, 'out.zip'),
  ]);
  writeFileSync(join(dir, 'plain.json'), '{\n  "error": "connection refused",\n  "code": 111\n}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const limits: ArtifactTextLimits = { maxFileBytes: 4096, maxZipBytes: 1 << 20, maxMembers: 100 };

async function collect(name: string, path = name, l = limits) {
  const out: Record<string, { firstLine: number; text: string }[]> = {};
  for await (const s of artifactText(path, createReadStream(join(dir, name)), l)) {
    (out[s.path] ??= []).push({ firstLine: s.firstLine, text: s.text });
  }
  return out;
}

describe('artifact text', () => {
  for (const archive of ['out.tgz', 'out.zip']) {
    test(`text members of ${archive} are named, binary ones skipped, large ones capped`, async () => {
      const segs = await collect(archive, `artifacts/n1/${archive}`);
      const members = Object.keys(segs).map((p) => splitMemberPath(p).member);
      expect(members.sort()).toEqual(
        [
          'README.md',
          'big.log',
          'change.diff',
          'reports/junit.xml',
          `reports/${longDir}/deep.yaml`,
          ...(archive === 'out.zip' ? ['stored.txt'] : []),
        ].sort(),
      );
      expect(splitMemberPath(Object.keys(segs)[0]!).artifact).toBe(`artifacts/n1/${archive}`);
      expect(segs[`artifacts/n1/${archive}!/reports/junit.xml`]![0]!.text).toContain('expected 200 got 503');
      expect(segs[`artifacts/n1/${archive}!/reports/${longDir}/deep.yaml`]![0]!.text).toBe(
        'status: failed\nreason: OOMKilled\n',
      );
      const big = segs[`artifacts/n1/${archive}!/big.log`]!.map((s) => s.text).join('');
      expect(big.length).toBe(4096);
      expect(big.startsWith('line 1 filler text\nline 2 ')).toBe(true);
    });
  }

  test('a text artifact is indexed as it is; its lines are counted from 1', async () => {
    expect(await collect('plain.json')).toEqual({
      'plain.json': [{ firstLine: 1, text: '{\n  "error": "connection refused",\n  "code": 111\n}\n' }],
    });
  });

  test('a binary artifact gives nothing', async () => {
    writeFileSync(join(dir, 'blob'), Buffer.concat([Buffer.from('text first '), Buffer.from([0, 0, 1])]));
    expect(await collect('blob')).toEqual({});
  });

  test('a zip over the size cap is skipped whole, not read on', async () => {
    expect(await collect('out.zip', 'out.zip', { ...limits, maxZipBytes: 100 })).toEqual({});
  });

  test('text detection: UTF-8 text yes, NUL or mostly invalid UTF-8 no', () => {
    expect(looksLikeText(Buffer.from('héllo wörld ✓\n'.repeat(100)))).toBe(true);
    expect(looksLikeText(Buffer.from([0x68, 0x69, 0x00]))).toBe(false);
    expect(looksLikeText(Buffer.from(Array.from({ length: 400 }, (_, i) => 0x80 + (i % 64))))).toBe(false);
  });
});

describe('artifact text in the catalog', () => {
  test('hits inside an archived artifact name the artifact, the file in it and the line; a damaged one is skipped', async () => {
    const id = 'e'.repeat(64);
    const source = new FakeSource().add({ id, uid: 'u', name: 'wf', logs: { n1: 'nothing here\n' } });
    const m = source.manifests.get(id)!;
    const artifacts: Array<[string, Buffer]> = [
      ['artifacts/n1/reports.tgz', readFileSync(join(dir, 'out.tgz'))],
      ['artifacts/n1/reports.zip', readFileSync(join(dir, 'out.zip'))],
      ['artifacts/n1/result.json', readFileSync(join(dir, 'plain.json'))],
      // gzip magic, then garbage: the archive's own producer broke it.
      ['artifacts/n1/broken.tgz', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8])],
    ];
    for (const [path, bytes] of artifacts) {
      m.entries.push({ path, kind: 'artifact', nodeId: 'n1', size: bytes.length });
      source.files.set(`${id}/${path}`, bytes);
    }
    const { catalog } = openSqliteCatalog(':memory:');
    try {
      const report = await indexCatalog(catalog, source);
      expect(report.problems).toEqual([]);
      const hits = await catalog.searchText('"expected 200 got 503"');
      expect(hits.map((h) => [h.path, h.line, h.nodeId])).toEqual(
        expect.arrayContaining([
          ['artifacts/n1/reports.tgz!/reports/junit.xml', 4, 'n1'],
          ['artifacts/n1/reports.zip!/reports/junit.xml', 4, 'n1'],
        ]),
      );
      expect(hits).toHaveLength(2);
      expect((await catalog.searchText('OOMKilled')).map((h) => h.line)).toEqual([2, 2]);
      expect((await catalog.searchText('"connection refused"')).map((h) => [h.path, h.line])).toEqual([
        ['artifacts/n1/result.json', 2],
      ]);
      // The binary member is not in the index, though its bytes hold the word.
      expect((await catalog.searchText('kraken')).map((h) => h.path).sort()).toEqual([
        'artifacts/n1/reports.tgz!/README.md',
        'artifacts/n1/reports.zip!/README.md',
      ]);
    } finally {
      await catalog.close();
    }
  });

  test('an artifact the store cannot read fails the manifest (kept out, reported), not skipped', async () => {
    const id = 'd'.repeat(64);
    const source = new FakeSource().add({ id, uid: 'u', name: 'wf' });
    source.manifests.get(id)!.entries.push({ path: 'artifacts/a.tgz', kind: 'artifact' });
    source.files.set(`${id}/artifacts/a.tgz`, readFileSync(join(dir, 'out.tgz')));
    source.failAfter = { path: 'artifacts/a.tgz', bytes: 4096 };
    const { catalog } = openSqliteCatalog(':memory:');
    try {
      const report = await indexCatalog(catalog, source);
      expect(report.problems).toEqual([{ manifestId: id, message: 'simulated crash while reading' }]);
      expect((await catalog.manifestIds()).size).toBe(0);
    } finally {
      await catalog.close();
    }
  });
});
