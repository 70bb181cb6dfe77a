// The dashboard's restore dialog, its words for a job's thaw state and bucket outcome, and the request it sends (the
// browser run in dashboard.test.ts sees them on a page; a thaw still waiting is seen here, since the S3 peer thaws
// at once).
import { expect, test } from 'vitest';
import { restoreRequest as requestSchema } from '../../server/api/schemas.ts';

interface Panel {
  thawText(thaw?: { state: string; coldPacks: number; readyPacks: number }): { state: string; text: string };
  bucketText(b: { url: string; written: number; unchanged: number; skipped: number }): string;
  restoreRequest(manifestId: string, requestId: string, target: string, overwrite: boolean): unknown;
}
const modulePath: string = '../../server/ui/restore-panel.js';
const panel = (await import(modulePath)) as Panel;

test('thaw: not looked at, nothing cold, cold packs waiting, all readable', () => {
  expect(panel.thawText(undefined)).toEqual({ state: 'unknown', text: 'Cold packs: not looked at yet' });
  expect(panel.thawText({ state: 'not-needed', coldPacks: 0, readyPacks: 0 }).text).toBe(
    'No cold packs: nothing to thaw',
  );
  expect(panel.thawText({ state: 'thawing', coldPacks: 3, readyPacks: 1 })).toEqual({
    state: 'thawing',
    text: 'Thawing: 1 of 3 cold packs readable, 2 waiting (archive tiers take hours)',
  });
  expect(panel.thawText({ state: 'ready', coldPacks: 1, readyPacks: 1 }).text).toBe(
    'Thawed: 1 cold pack readable again',
  );
});

test('the dialog asks for what the API accepts: download by default, the bucket with or without overwrite', () => {
  const id = 'a'.repeat(64);
  for (const [target, overwrite] of [
    ['download', false],
    ['bucket', false],
    ['bucket', true],
  ] as const) {
    const body = panel.restoreRequest(id, 'ui-1', target, overwrite);
    expect(requestSchema.parse(body)).toEqual(body);
  }
  expect(panel.restoreRequest(id, 'ui-1', 'download', true)).not.toHaveProperty('target');
  expect(panel.restoreRequest(id, 'ui-1', 'bucket', true)).toMatchObject({
    target: { kind: 'bucket', overwrite: true },
  });
  expect(panel.bucketText({ url: 's3://art/', written: 2, unchanged: 1, skipped: 3 })).toBe(
    'Restored into s3://art/: 2 written, 1 already there, 3 without a recorded key (not restored there)',
  );
});
