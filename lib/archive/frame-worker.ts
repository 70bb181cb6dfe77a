// Worker thread body: encodes frames (timestamp columns, then zstd) for the pack writer on the main thread.
import { parentPort } from 'node:worker_threads';
import { encodeFrameFor } from './frame-codec.ts';
import type { FormatVersion } from './pack-format.ts';

export interface FrameJob {
  id: number;
  raw: Uint8Array;
  level: number;
  version: FormatVersion;
}

/** The encoded frame, and the raw frame's buffer handed back for reuse (freeing it is up to this thread's GC). */
export type FrameReply = { id: number; payload: Uint8Array; raw: Uint8Array } | { id: number; error: string };

parentPort?.on('message', ({ id, raw, level, version }: FrameJob) => {
  let reply: FrameReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const z = encodeFrameFor(version)(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), level);
    // A small result may sit in Buffer's shared pool, which postMessage clones whole instead of moving: copy it
    // into an array of its own (Buffer.from would take the pool again).
    const payload = z.byteLength === z.buffer.byteLength ? z : new Uint8Array(z);
    reply = { id, payload, raw };
    transfer.push(payload.buffer as ArrayBuffer, raw.buffer as ArrayBuffer);
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply, transfer);
});
