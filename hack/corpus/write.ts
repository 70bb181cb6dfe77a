// Streams generated lines and texts to files of the corpus, creating directories on the way.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import type { LogClock } from './agent-log.ts';

const FLUSH_BYTES = 1 << 16;

/** Writes lines (each prefixed with a timestamp when a clock is given) until `budget` bytes; returns bytes written. */
export async function writeLines(
  path: string,
  lines: Iterable<string>,
  opts: { budget?: number; clock?: LogClock } = {},
): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path);
  let pending: string[] = [];
  let pendingLength = 0;
  let written = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const chunk = Buffer.from(pending.join(''));
    pending = [];
    pendingLength = 0;
    written += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  };
  const budget = opts.budget ?? Infinity;
  for (const line of lines) {
    const text = opts.clock ? `${opts.clock.tick()} ${line}\n` : `${line}\n`;
    pending.push(text);
    pendingLength += text.length;
    if (pendingLength >= FLUSH_BYTES) await flush();
    if (written + pendingLength >= budget) break;
  }
  await flush();
  out.end();
  await finished(out);
  return written;
}

export async function writeText(path: string, text: string): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return Buffer.byteLength(text);
}
