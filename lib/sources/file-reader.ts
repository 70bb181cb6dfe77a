// Reads files of a directory export: whole text for parsing, streams sized to the file, whole small files.
// Only regular files are read: a named pipe would block the read (and the whole collect or archive) forever.
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { InputError } from '../errors.ts';

/**
 * O_NONBLOCK: callers check that a path is a regular file before they open it; should a named pipe take its
 * place in between, open and read return at once instead of waiting for a writer that never comes.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** Largest read of an entry stream: fewer, larger chunks than the 64 KiB default (the engine chunks them anyway). */
const READ_CHUNK_BYTES = 1 << 20;
const MIN_READ_CHUNK_BYTES = 16 << 10;

/** What a file that is not a regular file is, for messages ("named pipe"). */
export function specialFileType(info: Stats): string {
  if (info.isFIFO()) return 'named pipe';
  if (info.isSocket()) return 'socket';
  if (info.isCharacterDevice()) return 'character device';
  if (info.isBlockDevice()) return 'block device';
  if (info.isDirectory()) return 'directory';
  if (info.isSymbolicLink()) return 'symbolic link';
  return 'special file';
}

/** Why a file of this type is not read (the reason of its missing entry or problem). */
export function notReadReason(info: Stats): string {
  return `${specialFileType(info)}, not a regular file: not read`;
}

/** The file as UTF-8 text; a read error, or a file that is not a regular file, is an InputError naming it. */
export async function readText(file: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, READ_FLAGS);
  } catch (err) {
    throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new InputError(notReadReason(info), { file });
    return await handle.readFile('utf8');
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file });
  } finally {
    await handle.close();
  }
}

/**
 * Streams a file in reads sized to it (up to 1 MiB): a read buffer much larger than the file costs an allocation
 * and a copy per file, one much smaller costs a read call per 64 KiB.
 */
export async function openFile(file: string, size: number): Promise<Readable> {
  const highWaterMark = Math.min(READ_CHUNK_BYTES, Math.max(MIN_READ_CHUNK_BYTES, size));
  const handle = await open(file, READ_FLAGS);
  return handle.createReadStream({ highWaterMark });
}

/**
 * Reads a whole file with one handle and as few reads as possible (half the CPU of collecting a stream of a
 * small file). A file that grew since it was listed is read to its end, not cut at the listed size.
 */
export async function readWhole(file: string, size: number): Promise<Buffer> {
  const handle = await open(file, READ_FLAGS);
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
