// Worker thread body: full-text searches of an embedded SQLite catalog on a read-only connection of its own, so that
// a search never holds the thread that serves requests (search-threads.ts runs these threads).
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, describeError, StrataError } from '../errors.ts';
import type { TextHit, WorkflowQuery } from './catalog.ts';
import { openSqliteTextSearcher, type SegmentReader, type SqliteTextSearcher } from './sqlite.ts';

export interface SearchWorkerData {
  path: string;
  /** The compact layout: segment text is asked of the parent thread (which reads the archive). */
  compact: boolean;
  /** Holds the id of a search to stop (Int32Array over a SharedArrayBuffer: read while the search runs). */
  cancel: Int32Array;
}

export type ToSearchWorker =
  | { type: 'search'; id: number; text: string; query: Omit<WorkflowQuery, 'text'> }
  | { type: 'text'; req: number; text: string }
  | { type: 'text'; req: number; error: string };

export type FromSearchWorker =
  | { type: 'done'; id: number; hits: TextHit[] }
  | { type: 'failed'; id: number; message: string; usage: boolean }
  | { type: 'cancelled'; id: number }
  | { type: 'text'; req: number; segment: Parameters<SegmentReader>[0] };

class Cancelled extends Error {}

if (parentPort) {
  const port = parentPort;
  const { path, compact, cancel } = workerData as SearchWorkerData;
  const post = (m: FromSearchWorker) => port.postMessage(m);
  const asked = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  let nextReq = 0;
  const textFrom: SegmentReader = (segment) =>
    new Promise((resolve, reject) => {
      const req = nextReq++;
      asked.set(req, { resolve, reject });
      post({ type: 'text', req, segment });
    });
  let searcher: SqliteTextSearcher | undefined;

  const search = async (id: number, text: string, query: Omit<WorkflowQuery, 'text'>) => {
    try {
      searcher ??= openSqliteTextSearcher(path, compact ? { textFrom } : {});
      const hits = await searcher.searchText(text, query, () => {
        if (Atomics.load(cancel, 0) === id) throw new Cancelled();
      });
      post({ type: 'done', id, hits });
    } catch (err) {
      if (err instanceof Cancelled) post({ type: 'cancelled', id });
      else
        post({
          type: 'failed',
          id,
          message: describeError(err),
          usage: err instanceof ConfigError,
        });
    }
  };

  port.on('message', (m: ToSearchWorker) => {
    if (m.type === 'search') return void search(m.id, m.text, m.query);
    const waiting = asked.get(m.req);
    asked.delete(m.req);
    if ('error' in m) waiting?.reject(new StrataError(m.error));
    else waiting?.resolve(m.text);
  });
}
