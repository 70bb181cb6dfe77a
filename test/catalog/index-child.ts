// Child process for the crash test: indexes a deterministic fake archive into a catalog file, printing a line per chunk read.
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { FakeSource } from './fake-source.ts';

export function crashCorpus(): FakeSource {
  const source = new FakeSource();
  for (let w = 0; w < 6; w++) {
    const logs: Record<string, string> = {};
    for (let n = 0; n < 2; n++) {
      const lines: string[] = [];
      for (let i = 0; i < 3000; i++)
        lines.push(`wf ${w} node ${n} line ${i} token${(i * 31 + w) % 50} ${i % 500 === 7 ? 'needle' : 'hay'}`);
      logs[`wf${w}-n${n}`] = lines.join('\n') + '\n';
    }
    source.add({
      id: w.toString(16).padStart(64, '0'),
      uid: `u${w}`,
      name: `wf${w}`,
      finishedAt: '2026-11-01T00:00:00Z',
      labels: { w: String(w) },
      logs,
    });
  }
  return source;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (!process.argv[2]) throw new Error('usage: index-child.ts <catalog.db> [manifests per commit]');
  const source = crashCorpus();
  // Lock-step with the parent: announce each chunk, then wait for one byte on stdin before going on,
  // so the parent decides exactly how far indexing gets before the SIGKILL.
  const permits: (() => void)[] = [];
  let granted = 0;
  process.stdin.on('data', (b: Buffer) => {
    granted += b.length;
    while (granted > 0 && permits.length) {
      granted--;
      permits.shift()!();
    }
  });
  const permit = () =>
    new Promise<void>((resolve) => {
      if (granted > 0) {
        granted--;
        resolve();
      } else permits.push(resolve);
    });
  const open = source.openEntry.bind(source);
  source.openEntry = async (id, path) => {
    const stream = await open(id, path);
    return Readable.from(
      (async function* () {
        for await (const chunk of stream) {
          process.stdout.write('chunk\n');
          await permit();
          yield chunk as Buffer;
        }
      })(),
    );
  };
  const { catalog } = openSqliteCatalog(process.argv[2]);
  await indexCatalog(catalog, source, { batch: Number(process.argv[3] ?? 1) });
  await catalog.close();
  process.stdout.write('done\n');
  process.exit(0);
}
