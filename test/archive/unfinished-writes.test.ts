// A killed writer's temp file: verify reports it, gc reclaims it after the grace period, a live writer's is never cut.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, expect, test } from 'vitest';
import { collectGarbage, initRepository } from '../../lib/archive/index.ts';
import { packKey } from '../../lib/archive/repository.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { UnfinishedWrite } from '../../lib/store/store.ts';
import { runCli } from '../support/run-cli.ts';
import { tempDir } from './fixtures.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const CHILD = join(import.meta.dirname, 'writer-child.ts');
const PACK_ID = 'a'.repeat(64);

/** Runs a child that starts writing `key` and SIGKILLs it mid-write, as a crash would. */
function killWriterMidWrite(root: string, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, root, key], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: join(import.meta.dirname, '../..'),
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', () => {
      // Killed only once the temp file holds the first MiB.
      const dir = join(root, 'archive/packs/default');
      const temp = existsSync(dir) ? readdirSync(dir).find((f) => f.includes('.strata-tmp-')) : undefined;
      if (temp && statSync(join(dir, temp)).size > 0 && !child.killed) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`writer was not killed: ${err}`)),
    );
  });
}

function tempFiles(root: string): string[] {
  const dir = join(root, 'archive/packs/default');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.includes('.strata-tmp-')) : [];
}

test('a pack whose writer was killed: verify lists it, gc keeps it within the grace period, then reclaims it', async () => {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const root = join(dir.path, 'repo');
  await initRepository(new FileSystemStore(root));
  await killWriterMidWrite(root, packKey('default', PACK_ID));
  const [temp] = tempFiles(root);
  expect(temp).toMatch(new RegExp(`^\\.${PACK_ID}\\.strata-tmp-`));
  const strata = (args: string[]) => runCli(['--store', `file:${root}`, ...args]);

  const verify = await strata(['verify', '-o', 'json']);
  expect(verify.code).toBe(0);
  expect(JSON.parse(verify.out)).toMatchObject({ ok: true, unfinished: 1, unfinishedBytes: 1 << 20, problems: 0 });
  expect(verify.err).toContain(`unfinished write (gc reclaims it): archive/packs/default/${PACK_ID} (`);

  // Within the grace period it may be a writer still at work: left alone.
  const young = await strata(['gc', '--grace', '1h', '-o', 'json']);
  expect(JSON.parse(young.out)).toMatchObject({ unfinished: 0, youngUnfinished: 1 });
  expect(tempFiles(root)).toEqual([temp]);

  const dry = await strata(['gc', '--grace', '0s', '--dry-run', '-o', 'json']);
  expect(JSON.parse(dry.out)).toMatchObject({ dryRun: true, unfinished: 1, unfinishedBytes: 1 << 20 });
  expect(dry.err).toContain(
    `would remove unfinished write: archive/packs/default/${PACK_ID} (archive/packs/default/${temp})`,
  );
  expect(tempFiles(root)).toEqual([temp]);

  // Last written two hours ago: older than a 1h grace.
  const then = new Date(Date.now() - 2 * 3_600_000);
  utimesSync(join(root, 'archive/packs/default', temp!), then, then);
  const gc = await strata(['gc', '--grace', '1h', '-o', 'json']);
  expect(gc.code).toBe(0);
  expect(JSON.parse(gc.out)).toMatchObject({
    dryRun: false,
    unfinished: 1,
    unfinishedBytes: 1 << 20,
    youngUnfinished: 0,
  });
  expect(gc.err).toContain(`removed unfinished write: archive/packs/default/${PACK_ID}`);
  expect(tempFiles(root)).toEqual([]);
  expect(JSON.parse((await strata(['verify', '-o', 'json'])).out)).toMatchObject({ ok: true, unfinished: 0 });
});

test('a writer still at work keeps its temp file through gc, and finishes its write', async () => {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const root = join(dir.path, 'repo');
  const store = new FileSystemStore(root);
  const repo = await initRepository(store);
  const body = new Readable({ read() {} });
  body.push('first half, ');
  const key = packKey('default', PACK_ID);
  const writing = store.put(key, body);
  await expect.poll(() => tempFiles(root).length).toBe(1);

  const report = await collectGarbage(repo, { graceMs: 3_600_000 });
  expect(report).toMatchObject({ unfinished: [], youngUnfinished: 1 });
  expect(tempFiles(root)).toHaveLength(1);

  // Listed as stale long ago, but written to since: the store leaves it to its writer.
  const listed = (await store.listUnfinished('')[Symbol.asyncIterator]().next()).value as UnfinishedWrite;
  expect(listed).toMatchObject({ key, size: 12 });
  expect(await store.removeUnfinished([{ ...listed, lastModified: new Date(0) }])).toEqual([]);
  expect(tempFiles(root)).toHaveLength(1);

  body.push('second half');
  body.push(null);
  await writing;
  expect(await text(await store.get(key))).toBe('first half, second half');
  expect(tempFiles(root)).toEqual([]);
});

test('removing unfinished writes never removes an object, whatever id it is given', async () => {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const store = new FileSystemStore(join(dir.path, 'repo'));
  await store.put('a/b', Buffer.from('keep me'));
  for (const id of ['a/b', '../repo/a/b', 'a/../a/b', '/a/b', 'a/.b.strata-meta'])
    await expect(store.removeUnfinished([{ key: 'a/b', id, size: 7, lastModified: new Date() }])).rejects.toThrow(
      /not a temp file of this store/,
    );
  expect(await text(await store.get('a/b'))).toBe('keep me');
});
