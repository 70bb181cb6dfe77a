// The archive commands through the real CLI: archive a directory export, restore whole and one node log, verify, gc.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { logText } from './fixtures.ts';
import { runCli } from '../support/run-cli.ts';

let root: string;
let store: string;
const log = logText(77, 200_000);
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-archive-cli-'));
  store = `file:${path.join(root, 'repo')}`;
  mkdirSync(path.join(root, 'export/ns/w/logs/w-1'), { recursive: true });
  writeFileSync(
    path.join(root, 'export/ns/w/workflow.yaml'),
    'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: ns, uid: u-w, resourceVersion: "9"}\n' +
      'spec: {entrypoint: a}\nstatus:\n  phase: Succeeded\n  nodes:\n    w-1: {id: w-1, name: w.a, type: Pod, phase: Succeeded, templateName: a}\n',
  );
  writeFileSync(path.join(root, 'export/ns/w/logs/w-1/main.log'), log);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const strata = (args: string[]) => runCli(['--store', store, ...args]);

test('archive, re-archive, restore, partial restore, verify and gc', async () => {
  const first = await strata(['archive', '--from', path.join(root, 'export'), '-o', 'json']);
  expect(first.code).toBe(0);
  const report = JSON.parse(first.out) as { archived: number; results: Array<{ manifestId: string }> };
  expect(report).toMatchObject({ workflows: 1, archived: 1, failed: 0, incomplete: 0 });
  const again = JSON.parse(
    (await strata(['compress', '--from', path.join(root, 'export'), '-o', 'json'])).out,
  ) as typeof report;
  expect(again).toMatchObject({ archived: 0, unchanged: 1 });
  expect(again.results[0]!.manifestId).toBe(report.results[0]!.manifestId);

  const whole = await strata(['restore', 'ns/w', '--to', path.join(root, 'out'), '-o', 'json']);
  expect(whole.code).toBe(0);
  expect(readFileSync(path.join(root, 'out/logs/w-1/main.log')).equals(log)).toBe(true);
  expect(readFileSync(path.join(root, 'out/workflow.resubmit.yaml'), 'utf8')).not.toMatch(/resourceVersion|status|uid/);

  const one = await strata(['restore', 'u-w', '--node', 'w-1', '--to', path.join(root, 'one.log')]);
  expect(one.code).toBe(0);
  expect(readFileSync(path.join(root, 'one.log')).equals(log)).toBe(true);
  const none = await strata(['restore', 'u-w', '--node', 'w-1', '--artifact', 'nope', '--to', path.join(root, 'x')]);
  expect(none.code).toBe(1);
  expect(none.err).toMatch(/has no artifact "nope" of node w-1/);

  const verify = await strata(['verify', '--read-data', '-o', 'json']);
  expect(verify.code).toBe(0);
  expect(JSON.parse(verify.out)).toMatchObject({ ok: true, manifests: 1, problems: 0 });

  const gc = await strata(['gc', '--grace', '0', '-o', 'json']);
  expect(gc.code).toBe(0);
  expect(JSON.parse(gc.out)).toMatchObject({ deleted: 0, condemned: 0, referencedPacks: 1 });
  expect((await strata(['gc', '--grace', 'soon'])).code).toBe(2);
});
