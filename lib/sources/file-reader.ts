// Reads files of a directory export: whole text for parsing, streams sized to the file, whole small files.
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { InputError } from '../errors.ts';

/** Largest read of an entry stream: fewer, larger chunks than the 64 KiB default (the engine chunks them anyway). */
const READ_CHUNK_BYTES = 1 << 20;
const MIN_READ_CHUNK_BYTES = 16 << 10;

/** The file as UTF-8 text; a read error is an InputError naming the file. */
export async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file });
  }
}

/**
 * Streams a file in reads sized to it (up to 1 MiB): a read buffer much larger than the file costs an allocation
 * and a copy per file, one much smaller costs a read call per 64 KiB.
 */
export function openFile(file: string, size: number): Readable {
  const highWaterMark = Math.min(READ_CHUNK_BYTES, Math.max(MIN_READ_CHUNK_BYTES, size));
  return createReadStream(file, { highWaterMark });
}

/**
 * Reads a whole file with one handle and as few reads as possible (half the CPU of collecting a stream of a
 * small file). A file that grew since it was listed is read to its end, not cut at the listed size.
 */
export async function readWhole(file: string, size: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(size + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const grown = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(grown);
        buf = grown;
      }
      const want = buf.length - n;
      const { bytesRead } = await handle.read(buf, n, want, n);
      n += bytesRead;
      // A regular file reads short only at its end: no extra read (and thread-pool trip) to see 0 bytes.
      if (bytesRead < want) return buf.subarray(0, n);
    }
  } finally {
    await handle.close();
  }
}
