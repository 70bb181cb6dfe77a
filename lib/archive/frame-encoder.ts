// Frame encoding (timestamp columns + zstd) on worker threads, so reading, chunking and hashing go on meanwhile.
import { Worker } from 'node:worker_threads';
import { workerUrl } from '../threads/worker-url.ts';
import { encoderThreads } from './encoder-threads.ts';
import { encodeFrameFor } from './frame-codec.ts';
import type { FormatVersion } from './pack-format.ts';
import type { FrameJob, FrameReply } from './frame-worker.ts';

export interface EncodedFrame {
  payload: Buffer;
  /** All of the raw frame's buffer, free for the next frame (buffers sent to a worker are freed only by its GC). */
  spare: Buffer;
}

export interface FrameEncoder {
  /** Encodes a frame; the whole ArrayBuffer under `raw` is handed over (not from Buffer's pool; detached after). */
  encode(raw: Buffer, level: number, version: FormatVersion): Promise<EncodedFrame>;
  /** Frames that may be in flight before the caller should wait (bounds memory). */
  readonly capacity: number;
}

/** Encodes on the calling thread (one core, or worker threads turned off). */
export const inlineEncoder: FrameEncoder = {
  encode: async (raw, level, version) => ({
    payload: encodeFrameFor(version)(raw, level),
    spare: Buffer.from(raw.buffer),
  }),
  capacity: 1,
};

interface Job {
  resolve: (frame: EncodedFrame) => void;
  reject: (err: Error) => void;
}

/**
 * The worker is frame-worker.ts beside this module built for development, and frame-worker.mjs beside the bundle in
 * images (images/bundle.ts builds it as a second entry point).
 */
function spawnFrameWorker(): Worker {
  return new Worker(workerUrl(import.meta.url, 'frame-worker'), { execArgv: [] });
}

const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** A fixed set of worker threads, each with its own zstd contexts; each frame goes to the least busy one. */
export class WorkerEncoder implements FrameEncoder {
  private readonly workers: Array<{ worker: Worker; jobs: Map<number, Job> }> = [];
  private nextId = 0;
  private failure: Error | undefined;
  /** Whether a thread stopped (crashed, or closed): every later frame is refused. */
  get failed(): boolean {
    return this.failure !== undefined;
  }
  /**
   * Frames in flight before the writer waits: one per worker (pack-writer.ts hands a frame over only when a worker
   * is free). Two per worker kept ~20 MiB more of 8 MiB frames alive for no gain in speed.
   */
  readonly capacity: number;

  constructor(readonly threads: number) {
    this.capacity = threads;
    for (let i = 0; i < threads; i++) {
      const worker = spawnFrameWorker();
      const jobs = new Map<number, Job>();
      worker.on('message', (reply: FrameReply) => {
        const job = jobs.get(reply.id);
        if (!job) return;
        jobs.delete(reply.id);
        // An idle worker must not keep the process alive; one with work does (see encode).
        if (jobs.size === 0) worker.unref();
        if ('error' in reply) job.reject(new Error(`frame encoding failed: ${reply.error}`));
        else job.resolve({ payload: asBuffer(reply.payload), spare: Buffer.from(reply.raw.buffer) });
      });
      const fail = (err: Error) => {
        this.failure ??= new Error(`frame encoder thread stopped: ${err.message}`);
        for (const job of jobs.values()) job.reject(this.failure);
        jobs.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
      worker.unref();
      this.workers.push({ worker, jobs });
    }
  }

  encode(raw: Buffer, level: number, version: FormatVersion): Promise<EncodedFrame> {
    if (this.failure) return Promise.reject(this.failure);
    const target = this.workers.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = this.nextId++;
    return new Promise<EncodedFrame>((resolve, reject) => {
      target.jobs.set(id, { resolve, reject });
      target.worker.ref();
      const job: FrameJob = { id, raw, level, version };
      target.worker.postMessage(job, [raw.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

let shared: FrameEncoder | undefined;

/**
 * The process's frame encoder, started on first use, and started again after a thread stopped (the archive that
 * was using it fails and is reported; later ones, e.g. the next batch of a long run, get working threads).
 */
export function sharedEncoder(): FrameEncoder {
  if (!shared || (shared instanceof WorkerEncoder && shared.failed)) {
    const threads = encoderThreads();
    shared = threads > 0 ? new WorkerEncoder(threads) : inlineEncoder;
  }
  return shared;
}
