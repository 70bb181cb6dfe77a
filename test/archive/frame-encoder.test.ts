// Frames encoded on worker threads are the bytes the main thread would write, and a stopped thread fails loudly.
import { afterAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { ChunkIndex } from '../../lib/archive/chunk-index.ts';
import { configureEncoderThreads, encoderThreads } from '../../lib/archive/encoder-threads.ts';
import { inlineEncoder, sharedEncoder, WorkerEncoder, type FrameEncoder } from '../../lib/archive/frame-encoder.ts';
import { loadConfig } from '../../lib/config/config.ts';
import { decodeFrame, encodeFrame, encodeFrameStyles, FrameEncoding } from '../../lib/archive/frame-codec.ts';
import { ConfigError } from '../../lib/errors.ts';
import { PackWriter } from '../../lib/archive/pack-writer.ts';
import { logText, tempRepository } from './fixtures.ts';

/** A buffer of its own (not a view into Buffer's pool), as the pack writer hands over. */
function owned(data: Buffer): Buffer {
  const b = Buffer.allocUnsafeSlow(data.length);
  data.copy(b);
  return b;
}

const frames = [
  logText(1, 300_000),
  logText(2, 50_000),
  Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 251)),
  Buffer.from('short, no timestamps'),
  logText(3, 1_000_000),
];

const pool = new WorkerEncoder(2);
afterAll(() => pool.close());

describe('frame encoder threads', () => {
  test('encode frames in parallel to exactly the bytes of the main thread', async () => {
    const expected = frames.map((f) => encodeFrameStyles(f, 8));
    const got = (await Promise.all(frames.map((f) => pool.encode(owned(f), 8, 2)))).map((e) => e.payload);
    got.forEach((payload, i) => {
      expect(payload.equals(expected[i]!)).toBe(true);
      expect(decodeFrame(payload, frames[i]!.length).equals(frames[i]!)).toBe(true);
    });
    expect((await inlineEncoder.encode(owned(frames[0]!), 8, 2)).payload.equals(expected[0]!)).toBe(true);
    // A repository of format 1 gets the encoding older Strata reads.
    const v1 = (await pool.encode(owned(frames[0]!), 8, 1)).payload;
    expect(v1.equals(encodeFrame(frames[0]!, 8))).toBe(true);
    expect(v1[0]).toBe(FrameEncoding.TimestampPlanes);
  });

  test('hand the frame over without copying it (the caller cannot touch it after)', async () => {
    const raw = owned(frames[1]!);
    const done = pool.encode(raw, 3, 2);
    expect(raw.buffer.byteLength).toBe(0);
    const { payload, spare } = await done;
    expect(decodeFrame(payload, frames[1]!.length).equals(frames[1]!)).toBe(true);
    expect(spare.subarray(0, frames[1]!.length).equals(frames[1]!)).toBe(true); // the same buffer, back for reuse
  });

  test('a stopped thread rejects its frames and every later one with a clear error', async () => {
    const doomed = new WorkerEncoder(1);
    const pending = doomed.encode(owned(frames[4]!), 19, 2);
    await doomed.close();
    await expect(pending).rejects.toThrow(/frame encoder thread stopped/);
    await expect(doomed.encode(owned(frames[1]!), 3, 2)).rejects.toThrow(/frame encoder thread stopped/);
  });
});

describe('the shared encoder', () => {
  test('is started again after its thread stopped', async () => {
    configureEncoderThreads(1); // a thread whatever the core count (this file's process only)
    const before = sharedEncoder();
    expect(sharedEncoder()).toBe(before);
    expect(before).toBeInstanceOf(WorkerEncoder);
    await (before as WorkerEncoder).close();
    const after = sharedEncoder();
    expect(after).not.toBe(before);
    const { payload } = await after.encode(owned(frames[1]!), 3, 2);
    expect(decodeFrame(payload, frames[1]!.length).equals(frames[1]!)).toBe(true);
  });
});

describe('pack contents do not depend on threads or timing', () => {
  test('the same chunks make the same packs inline and on encoder threads', async () => {
    // Half log text, half incompressible bytes: frames of very different compressed sizes.
    const noise = (i: number, n: number) =>
      Buffer.concat(
        Array.from({ length: Math.ceil(n / 32) }, (_, k) => createHash('sha256').update(`${i}:${k}`).digest()),
      );
    const chunks = Array.from({ length: 150 }, (_, i) =>
      i % 2 ? noise(i, 3000 + ((i * 7919) % 9000)) : logText(100 + i, 3000 + ((i * 7919) % 9000)),
    );
    const packIds = async (encoder: FrameEncoder) => {
      const t = await tempRepository();
      try {
        const writer = new PackWriter(t.repo, 'default', new ChunkIndex(), 3, encoder);
        for (const c of chunks) await writer.add(createHash('sha256').update(c).digest('hex'), c);
        await writer.flush();
        return writer.written;
      } finally {
        t.cleanup();
      }
    };
    const inline = await packIds(inlineEncoder);
    expect(inline.length).toBeGreaterThan(3); // SMALL packs: the seal decision happens many times
    expect(await packIds(pool)).toEqual(inline);
    const three = new WorkerEncoder(3);
    try {
      expect(await packIds(three)).toEqual(inline);
    } finally {
      await three.close();
    }
  });
});

describe('STRATA_ENCODER_THREADS', () => {
  test('a whole number 0-16 in the configuration sets the thread count; anything else is a configuration error naming it', () => {
    const threads = (value: string) => loadConfig({ env: { STRATA_ENCODER_THREADS: value } }).encoderThreads;
    expect(threads('0')).toBe(0);
    expect(threads('3')).toBe(3);
    expect(loadConfig({ env: {} }).encoderThreads).toBeUndefined();
    for (const bad of ['two', '-1', '1.5', '17']) {
      expect(() => threads(bad)).toThrow(ConfigError);
      expect(() => threads(bad)).toThrow(/STRATA_ENCODER_THREADS/);
    }
  });

  test('the configured count is what the shared encoder starts; none configured is the CPU default', () => {
    try {
      configureEncoderThreads(0);
      expect(encoderThreads()).toBe(0);
      configureEncoderThreads(undefined);
      expect(encoderThreads()).toBeGreaterThanOrEqual(0);
      expect(encoderThreads()).toBeLessThanOrEqual(4);
    } finally {
      configureEncoderThreads(1);
    }
  });
});
