// strata verify checks the store against the audit log: every manifest, hold, release, extension and deletion it
// sees is in the log, and every manifest the log says was archived is still there unless its deletion is logged.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { crossCheckLog, type StoreFacts } from '../../lib/audit/cross-check.ts';
import type { WrittenRecord } from '../../lib/audit/log-format.ts';
import { runCli } from '../support/run-cli.ts';

let root: string;
let repo: string;
const strata = (args: string[]) => runCli(['--store', `file:${repo}`, ...args]);

function exportOf(dir: string, count: number): string {
  for (let i = 0; i < count; i++) {
    const wf = path.join(dir, `ns/w${i}`);
    mkdirSync(path.join(wf, 'logs/n1'), { recursive: true });
    writeFileSync(
      path.join(wf, 'workflow.yaml'),
      `apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w${i}, namespace: ns, uid: u-${i}}\n` +
        `status:\n  phase: Succeeded\n  nodes:\n    n1: {id: n1, name: w${i}.a, type: Pod, phase: Succeeded}\n`,
    );
    writeFileSync(path.join(wf, 'logs/n1/main.log'), `workflow ${i} ran\n`.repeat(40));
  }
  return dir;
}

interface VerifyOut {
  ok: boolean;
  auditLog: { records: number; manifests: number; holds: number; problems: number };
}

async function verify(): Promise<{ out: VerifyOut; err: string; code: number }> {
  const r = await strata(['verify', '-o', 'json']);
  return { out: JSON.parse(r.out) as VerifyOut, err: r.err, code: r.code };
}

let manifests: string[];
beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-cross-check-'));
  repo = path.join(root, 'repo');
  const archived = await strata(['archive', '--from', exportOf(path.join(root, 'export'), 3), '-o', 'json']);
  expect(archived.code, archived.err).toBe(0);
  manifests = (JSON.parse(archived.out) as { results: Array<{ manifestId: string }> }).results.map((r) => r.manifestId);
  for (const uid of ['u-0', 'u-1']) {
    const held = await strata(['hold', 'set', uid, '--reason', 'case 4', '--id', `h-${uid}`, '--actor', 'legal']);
    expect(held.code, held.err).toBe(0);
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('strata verify against the audit log', () => {
  test('a repository whose every act went through Strata verifies clean', async () => {
    const v = await verify();
    expect(v.out).toMatchObject({ ok: true, auditLog: { manifests: 3, holds: 2, problems: 0 } });
    expect(v.code).toBe(0);
  });

  test('a manifest deleted without a logged deletion is reported, by key', async () => {
    const victim = manifests[2]!;
    const file = path.join(repo, 'archive/manifests', victim);
    const saved = readFileSync(file);
    rmSync(file);
    try {
      const v = await verify();
      expect(v.out.ok).toBe(false);
      expect(v.err).toContain(`problem: audit: archive/manifests/${victim}: manifest archived (`);
      expect(v.err).toMatch(/workflow u-2\) is gone, and no deletion of it is in the audit log/);
      expect(v.code).toBe(1);
    } finally {
      writeFileSync(file, saved);
    }
  });

  test('a hold deleted from the store is reported; a hold slipped in without a record is reported', async () => {
    const hold = path.join(repo, 'holds/u-0/h-u-0.json');
    const saved = readFileSync(hold);
    rmSync(hold);
    const forged = path.join(repo, 'holds/u-2/forged.json');
    mkdirSync(path.dirname(forged), { recursive: true });
    writeFileSync(
      forged,
      JSON.stringify({ id: 'forged', workflowUid: 'u-2', actor: 'x', reason: 'y', created: new Date().toISOString() }),
    );
    try {
      const v = await verify();
      expect(v.out.ok).toBe(false);
      expect(v.err).toMatch(/problem: audit: holds\/u-0\/h-u-0\.json: hold set \(.*by legal\) is gone from the store/);
      expect(v.err).toContain('problem: audit: holds/u-2/forged.json: hold in the store, but not in the audit log');
    } finally {
      writeFileSync(hold, saved);
      rmSync(forged);
    }
    expect((await verify()).out.ok).toBe(true);
  });

  test('--no-audit-log skips the comparison (a repository older than its log)', async () => {
    const r = await strata(['verify', '--no-audit-log', '-o', 'json']);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, auditLog: 'not checked' });
  });
});

describe('crossCheckLog', () => {
  const at = '2026-11-01T00:00:00.000Z';
  const rec = (r: Partial<WrittenRecord> & Pick<WrittenRecord, 'action' | 'subject' | 'outcome'>): WrittenRecord => ({
    at,
    actor: 'strata/test',
    verified: false,
    ...r,
  });
  const none: StoreFacts = { manifests: [], holds: [], extensions: [], deletions: [] };
  const M = (c: string) => c.repeat(64);

  test('a logged deletion (started, or finished) accounts for a manifest gone; a repack rewrite for old and new ids', () => {
    const records = [
      rec({ action: 'archive', subject: 'a', outcome: 'ok', details: { manifestId: M('a') } }),
      rec({ action: 'archive', subject: 'b', outcome: 'ok', details: { manifestId: M('b') } }),
      rec({ action: 'archive', subject: 'c', outcome: 'ok', details: { manifestId: M('c') } }),
      rec({ action: 'expire', subject: 'a', outcome: 'started', details: { manifests: [M('a')] } }),
      rec({
        action: 'emergency-delete',
        subject: 'b',
        outcome: 'ok',
        details: { manifests: [M('b')], superseded: [{ uid: 'c', from: M('c'), to: M('d') }] },
      }),
    ];
    expect(crossCheckLog(records, { ...none, manifests: [M('d')] }).problems).toEqual([]);
    // A deletion refused (a hold came first: manifests put back) accounts for nothing.
    const refused = [
      records[0]!,
      rec({ action: 'expire', subject: 'a', outcome: 'refused', details: { manifests: [M('a')] } }),
    ];
    expect(crossCheckLog(refused, none).problems.map((p) => p.key)).toEqual([`archive/manifests/${M('a')}`]);
  });

  test('a manifest archived after the store was read is not taken for a deletion', () => {
    const records = [rec({ action: 'archive', subject: 'a', outcome: 'ok', details: { manifestId: M('a') } })];
    expect(crossCheckLog(records, none, new Set()).problems).toEqual([]);
    expect(crossCheckLog(records, none, new Set([M('a')])).problems).toHaveLength(1);
  });

  test('releases, extensions and unfinished deletions must be in the log too', () => {
    const facts: StoreFacts = {
      manifests: [],
      holds: [{ uid: 'u', id: 'h', released: true }],
      extensions: [{ uid: 'u', id: 'e' }],
      deletions: [{ uid: 'u', journal: 'j1', kind: 'expiry' }],
    };
    const logged = [rec({ action: 'hold-set', subject: 'u', outcome: 'ok', details: { hold: 'h' } })];
    expect(crossCheckLog(logged, facts).problems.map((p) => p.key)).toEqual([
      'holds/u/h.release.json',
      'extensions/u/e.json',
      'archive/deletions/u/j1',
    ]);
    const all = [
      ...logged,
      rec({ action: 'hold-release', subject: 'u', outcome: 'ok', details: { hold: 'h' } }),
      rec({ action: 'extend', subject: 'u', outcome: 'started', details: { extension: 'e' } }),
      rec({ action: 'expire', subject: 'u', outcome: 'started', details: { manifests: [] } }),
    ];
    expect(crossCheckLog(all, facts).problems).toEqual([]);
  });
});
