// Log segmenting: bounded segments that lose nothing, end on line breaks, and count lines right.
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { segmentLines } from '../../lib/catalog/log-segments.ts';

async function collect(text: string, chunkSize: number, max: number) {
  const bytes = Buffer.from(text);
  const chunks = (async function* () {
    for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
  })();
  const out = [];
  for await (const s of segmentLines(chunks, max)) out.push(s);
  return out;
}

const logText = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constant(''), fc.string({ maxLength: 300 })), {
    maxLength: 60,
  })
  .map((lines) => lines.join('\n'));

test.prop([logText, fc.integer({ min: 1, max: 64 }), fc.integer({ min: 16, max: 200 })])(
  'segments concatenate to the log, stay bounded, and start at the right line',
  async (text, chunkSize, max) => {
    const segments = await collect(text, chunkSize, max);
    expect(segments.map((s) => s.text).join('')).toBe(text);
    let consumed = '';
    for (const [i, s] of segments.entries()) {
      // Cut at a line break whenever one falls in the window; only an over-long line is cut mid-line.
      if (i < segments.length - 1 && !s.text.endsWith('\n')) {
        expect(s.text.includes('\n')).toBe(false);
        expect(s.text.length).toBe(max);
      }
      expect(s.text.length).toBeLessThanOrEqual(max);
      expect(s.text.length).toBeGreaterThan(0);
      expect(s.firstLine).toBe(consumed.split('\n').length);
      consumed += s.text;
    }
  },
);

test.prop([fc.integer({ min: 1, max: 7 })])('multi-byte characters split across chunks survive', async (chunkSize) => {
  const text = 'héllo wörld ✓ 日本語 🚀\n'.repeat(20);
  const segments = await collect(text, chunkSize, 50);
  expect(segments.map((s) => s.text).join('')).toBe(text);
  // Each segment that is not the last ends on a line break when one fits.
  for (const s of segments.slice(0, -1)) expect(s.text.endsWith('\n')).toBe(true);
});
